"""The API Gateway custom authorizer: a valid access token of a live account allows the API, with the caller's roles in
the context."""

from __future__ import annotations

from chalice.app import AuthRequest, AuthResponse, Blueprint

from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.accounts.tokens import verify_access_token
from chalicelib.http import Principal, use_authorizer

auth_bp = Blueprint(__name__)


accounts = DynamoAccountsRepository()


def principal_for_token(token: str) -> Principal | None:
    """The caller of a valid access token whose account still exists: a deleted account's tokens die with it (one
    small read; API Gateway caches the authorizer's answer per token for its ttl)."""
    claims = verify_access_token(token)
    if claims is None or accounts.account_status(claims.user_id) != "ACTIVE":
        return None
    return Principal(user_id=claims.user_id, username=claims.username, roles=claims.roles)


@auth_bp.authorizer(name="jwt_auth", ttl_seconds=300)
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    scheme, _, token = (auth_request.token or "").partition(" ")
    principal = principal_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        # API Gateway turns an authorizer failing with exactly "Unauthorized" into a 401 (UNAUTHORIZED response).
        raise Exception("Unauthorized")
    return AuthResponse(
        routes=["*"],
        principal_id=principal.user_id,
        context={"roles": ",".join(sorted(principal.roles)), "username": principal.username},
    )


use_authorizer(jwt_auth, principal_for_token)
