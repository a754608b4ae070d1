"""The signed-in caller, as routes and services see it (chalicelib.auth establishes it from the access token)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, as the authorizer (or the token on an optional-auth route) established it."""

    user_id: str
    username: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
