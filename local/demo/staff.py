"""A demo staff account per role (operator, service, analyst) beside the admin, through the app's staff service."""

from __future__ import annotations

import contextlib

from chalicelib.accounts import staff
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.errors import Conflict

# (username, role, local password): printed at start by `make run`; local stage only.
STAFF_ACCOUNTS = (
    ("operator", "operator", "operator-demo-2026"),
    ("service", "service", "service-demo-2026"),
    ("analyst", "analyst", "analyst-demo-2026"),
)


def seed_staff() -> int:
    """Create the demo staff accounts that are missing (an existing one is left as it is)."""
    repo = DynamoAccountsRepository()
    for username, role, password in STAFF_ACCOUNTS:
        with contextlib.suppress(Conflict):
            staff.create_staff(repo, username, password, role, None)
    return len(STAFF_ACCOUNTS)


def credentials() -> list[str]:
    """The banner's lines: one sign-in per role."""
    return [f"  {role} login  username={name} password={password}" for name, role, password in STAFF_ACCOUNTS]
