"""Who is calling: the API Gateway authorizer (a valid access token of a live account), and the caller it lets in.

The check of a token is the accounts context's (chalicelib.accounts.tokens and its repository): the composition root
hands it over as `principal_for_token`, so the kernel names no context.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from chalice.app import AuthRequest, AuthResponse, Blueprint, Request

from chalicelib import deps
from chalicelib.errors import Unauthorized
from chalicelib.principal import Principal

auth_bp = Blueprint(__name__)

PRINCIPAL_CACHE_SECONDS = 5.0  # how long a warm container trusts a checked token on a route where sign-in is optional
PRINCIPAL_CACHE_ENTRIES = 1024


class PrincipalCache:
    """The callers of recently checked tokens, per warm container: at most `max_entries` (least recently used out
    first), each trusted `ttl_seconds` after its check. Only valid tokens of active accounts are kept, so a refused
    token is checked again every time, and a disabled or deleted account is refused at most `ttl_seconds` after the
    change (API Gateway's authorizer cache, on the other routes, trusts an answer 300 s)."""

    def __init__(self, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds, self.max_entries, self.clock = ttl_seconds, max_entries, clock
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, check: Callable[[str], Principal | None]) -> Principal | None:
        """The caller of this token: from the cache while its entry is fresh, else from `check` (and kept)."""
        now = self.clock()
        with self._lock:
            hit = self._entries.get(token)
            if hit is not None and now < hit[1]:
                self._entries.move_to_end(token)
                return hit[0]
            self._entries.pop(token, None)
        principal = check(token)
        if principal is not None:
            with self._lock:
                self._entries[token] = (principal, now + self.ttl_seconds)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return principal

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


principal_cache = PrincipalCache(PRINCIPAL_CACHE_SECONDS, PRINCIPAL_CACHE_ENTRIES)


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
    """On a route where signing in is optional: the caller of a valid bearer token, else None. Checked in the
    function (no authorizer runs), so the answer is cached a few seconds (principal_cache)."""
    token = bearer_token(request.headers.get("authorization"))
    return principal_cache.get(token, principal_for_token) if token else None
