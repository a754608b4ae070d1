"""The signed-in caller, as routes and services see it (chalicelib.auth establishes it from the access token)."""

from __future__ import annotations

from dataclasses import dataclass

# The staff roles, each limited to its part of /admin (admin: all of it); a customer has none of them.
STAFF_ROLES = ("admin", "operator", "service", "analyst")


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, as the authorizer (or the token on an optional-auth route) established it."""

    user_id: str
    username: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def staff_role(self) -> str | None:
        """The caller's staff role (the first of STAFF_ROLES they hold), None for a customer."""
        return next((role for role in STAFF_ROLES if role in self.roles), None)
