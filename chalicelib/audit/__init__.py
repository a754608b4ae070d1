"""The staff audit log: every staff write under /admin, allowed or refused, append-only."""
