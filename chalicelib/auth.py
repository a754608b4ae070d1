"""Who is calling: the API Gateway authorizer (a valid access token of a live account), and the caller it lets in.

The check of a token is the accounts context's (chalicelib.accounts.tokens and its repository): the composition root
hands it over as `principal_for_token`, so the kernel names no context.
"""

from __future__ import annotations

from chalice.app import AuthRequest, AuthResponse, Blueprint, Request

from chalicelib import deps
from chalicelib.errors import Unauthorized
from chalicelib.principal import Principal

auth_bp = Blueprint(__name__)


def principal_for_token(token: str) -> Principal | None:
    """The caller of a valid access token whose account is still active, else None."""
    check = deps.resolve("principal_for_token")
    found: Principal | None = check(token)
    return found


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


@auth_bp.authorizer(name="jwt_auth", ttl_seconds=300)
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    token = bearer_token(auth_request.token)
    principal = principal_for_token(token) if token else None
    if principal is None:
        # API Gateway turns an authorizer failing with exactly "Unauthorized" into a 401 (UNAUTHORIZED response).
        raise Exception("Unauthorized")
    return AuthResponse(
        routes=["*"],
        principal_id=principal.user_id,
        context={"roles": ",".join(sorted(principal.roles)), "username": principal.username},
    )


def principal_from_authorizer(request: Request) -> Principal:
    """The caller the authorizer let in (401 when there is none: a route reached without it)."""
    context = (request.context or {}).get("authorizer") or {}
    if not context.get("principalId"):
        raise Unauthorized()
    roles = frozenset(filter(None, str(context.get("roles", "")).split(",")))
    return Principal(user_id=str(context["principalId"]), username=str(context.get("username", "")), roles=roles)


def optional_principal(request: Request) -> Principal | None:
    """On a route where signing in is optional: the caller of a valid bearer token, else None."""
    token = bearer_token(request.headers.get("authorization"))
    return principal_for_token(token) if token else None
