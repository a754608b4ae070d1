"""Guest cart tokens: HS256 JWTs (PyJWT, the shop's signing secret) naming a guest cart. Their `typ` and audience
are a guest cart's, so an access token is never taken for one, nor one for an access token."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import utcnow
from chalicelib.ids import new_id
from chalicelib.keys import jwt_secret
from chalicelib.pyjwt import jwt

ALGORITHM = "HS256"
ISSUER = "shop"
AUDIENCE = "shop-guest-cart"
TYPE = "guest_cart"


def new_guest_cart() -> tuple[str, str]:
    """A new guest cart's id and its signed token. The token does not expire by itself: the cart does, 30 days
    after its last change (a token whose cart is gone is refused)."""
    guest_id = new_id("g")
    claims: dict[str, Any] = {"sub": guest_id, "typ": TYPE, "iss": ISSUER, "aud": AUDIENCE, "iat": utcnow()}
    return guest_id, jwt.encode(claims, jwt_secret(), algorithm=ALGORITHM)


def guest_id_of(token: str | None) -> str | None:
    """The guest cart id of a valid guest cart token of ours; None for anything else (an access token, alg none,
    another key, tampered, expired when it carries an `exp`)."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            jwt_secret(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "typ", "iat", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    guest_id = claims.get("sub")
    if claims.get("typ") != TYPE or not isinstance(guest_id, str) or not guest_id:
        return None
    return guest_id
