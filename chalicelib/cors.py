"""CORS: which browser origins may call the API (an allow-list per stage), and the headers that say so.

The allow-list is CORS_ALLOWED_ORIGINS (comma-separated, set per stage in .chalice/config.json): exact origins
(`https://shop.example.com`), `scheme://host:*` for any port of a host, or `*` for any origin. Without it the local
stage allows the loopback addresses on any port and a deployed stage allows none. The same answers come from the
app (chalicelib.http.http_guard: preflights and every response), from API Gateway's own error responses
(infra/package.py puts `gateway_response_headers` on them) and from the local gateway (local/gateway.py).
"""

from __future__ import annotations

from collections.abc import Iterable

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# What the H5 storefront and the admin console send besides the CORS-safelisted headers.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Guest-Cart", "X-OAuth-State-Key")
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")
PREFLIGHT_MAX_AGE_SECONDS = 600
LOCAL_DEFAULT_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")


def parse_origins(value: str | None, stage: str) -> tuple[str, ...]:
    """The allow-list from CORS_ALLOWED_ORIGINS; the stage's default when the variable is unset."""
    if value is None:
        return LOCAL_DEFAULT_ORIGINS if stage == "local" else ()
    return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    if not origin:
        return False
    for entry in allowed:
        if entry == "*" or entry == origin:
            return True
        if entry.endswith(":*"):
            prefix = entry[:-1]  # "http://127.0.0.1:"
            port = origin[len(prefix) :]
            if origin.startswith(prefix) and port.isascii() and port.isdigit():
                return True
    return False


def response_headers(origin: str | None, allowed: Iterable[str]) -> dict[str, str]:
    """The CORS headers of an actual (non-preflight) response to a request from `origin`."""
    headers = {"Vary": "Origin"}
    if origin_allowed(origin, allowed):
        headers["Access-Control-Allow-Origin"] = str(origin)
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    return headers


def preflight_headers(origin: str | None, allowed: Iterable[str]) -> dict[str, str]:
    """The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin."""
    return {
        **response_headers(origin, allowed),
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
    }


def gateway_response_headers(allowed: Iterable[str]) -> dict[str, str]:
    """CORS headers of API Gateway's own responses (401 from the authorizer, 404 for no route, 429, ...), as
    `responseParameters` values: a quoted static value, or `method.request.header.Origin` to echo the request's.

    API Gateway cannot pick per request, so a list of exactly one exact origin (or `*`) is sent as is, and any other
    list echoes the caller's Origin on these error answers only: their bodies hold an error code and a request id,
    and this API takes bearer tokens, never cookies, so nothing is shared that an allow-list would protect. The
    app's own responses, preflights included, follow the list exactly."""
    origins = tuple(allowed)
    if not origins:
        return {}
    single = origins[0] if len(origins) == 1 and not origins[0].endswith(":*") else None
    return {
        "Access-Control-Allow-Origin": f"'{single}'" if single else "method.request.header.Origin",
        "Access-Control-Expose-Headers": f"'{', '.join(EXPOSED_HEADERS)}'",
        "Vary": "'Origin'",
    }
