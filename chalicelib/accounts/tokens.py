"""Access tokens: short-lived HS256 JWTs (PyJWT, algorithm pinned); refresh tokens are opaque random strings."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.clock import utcnow
from chalicelib.config import get_settings
from chalicelib.ids import new_id
from chalicelib.keys import jwt_secret
from chalicelib.pyjwt import jwt

ALGORITHM = "HS256"
ISSUER = "shop"
AUDIENCE = "shop-api"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    username: str
    roles: frozenset[str]


def issue_access_token(user_id: str, username: str, roles: set[str] | frozenset[str]) -> tuple[str, int]:
    """The signed token and its lifetime in seconds."""
    ttl = get_settings().access_token_ttl_seconds
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": user_id,
        "username": username,
        "roles": sorted(roles),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": new_id("at"),
        "typ": "access",
    }
    return jwt.encode(claims, jwt_secret(), algorithm=ALGORITHM), ttl


def verify_access_token(token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token of ours; None for anything else (alg none, wrong key, tampered)."""
    try:
        claims = jwt.decode(
            token,
            jwt_secret(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    roles = claims.get("roles")
    if claims.get("typ") != "access" or not isinstance(roles, list) or not isinstance(claims.get("sub"), str):
        return None
    return AccessClaims(
        user_id=claims["sub"], username=str(claims.get("username", "")), roles=frozenset(map(str, roles))
    )


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the SHA-256 digest under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, refresh_token_digest(token)


def refresh_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
