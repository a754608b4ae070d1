"""Points: the ledger and balance, the rules, the exchange store."""
