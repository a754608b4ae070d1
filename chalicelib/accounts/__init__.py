"""Accounts: users, credentials, tokens and the authorizer (the personal center grows here)."""
