"""Weibo's in-app JS-SDK (JS SDK 2020): the js_ticket, kept until it expires, and the wb.init config signed for a page.

wb.init({appkey, timestamp, noncestr, signature}) is checked by the Weibo app against a SHA-1 over the sorted
`jsapi_ticket=<ticket>&noncestr=<noncestr>&timestamp=<timestamp>&url=<url>` of the page's URL without its fragment;
the ticket comes from POST oauth2/js_ticket/generate with the app's key and secret, and is reused until it expires
(Weibo limits how often it may be generated).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.accounts.oauth.config import OAuthSettings
from chalicelib.accounts.oauth.providers import ProviderDirectory, ProviderTransport, WeiboProvider, _json_object
from chalicelib.clock import epoch_seconds
from chalicelib.errors import DependencyUnavailable, ValidationError

TICKET_PATH = "/oauth2/js_ticket/generate"
TICKET_MARGIN_SECONDS = 300  # a ticket is renewed this long before it expires: a page signed with it still loads
DEFAULT_TICKET_SECONDS = 7200


def jsapi_signature(ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """SHA-1 (hex) of the fields sorted by name as `key=value` joined by `&`; the URL is the page's, less `#...`."""
    fields = {"jsapi_ticket": ticket, "noncestr": noncestr, "timestamp": str(timestamp), "url": url.split("#")[0]}
    text = "&".join(f"{name}={fields[name]}" for name in sorted(fields))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324 - the algorithm Weibo's JS-SDK checks


@dataclass(frozen=True)
class JsTicket:
    ticket: str
    expires_at: int


class JsTicketCache:
    """One ticket per app key for this process (a warm Lambda container reuses it until shortly before it expires)."""

    def __init__(self) -> None:
        self._tickets: dict[str, JsTicket] = {}
        self._lock = threading.Lock()

    def get(self, app_key: str, fetch: Any) -> str:
        now = epoch_seconds()
        with self._lock:
            kept = self._tickets.get(app_key)
        if kept is not None and kept.expires_at - TICKET_MARGIN_SECONDS > now:
            return kept.ticket
        fresh: JsTicket = fetch()
        with self._lock:
            self._tickets[app_key] = fresh
        return fresh.ticket

    def clear(self) -> None:
        with self._lock:
            self._tickets.clear()


tickets = JsTicketCache()


def fetch_ticket(provider: WeiboProvider, transport: ProviderTransport) -> JsTicket:
    """POST oauth2/js_ticket/generate -> {"result", "js_ticket", "expire_time"}; anything else is Weibo's failure."""
    app_key, secret = provider.config.credentials("app")
    answer = transport.post_form(
        f"{provider.config.api_base}{TICKET_PATH}", {"client_id": app_key, "client_secret": secret}
    )
    body = _json_object(answer, "Weibo")
    ticket = body.get("js_ticket")
    if answer.status >= 400 or "error" in body or "error_code" in body or not isinstance(ticket, str) or not ticket:
        raise DependencyUnavailable(f"Weibo refused the js_ticket: {body.get('error_code')} {body.get('error', '')}")
    lifetime = body.get("expire_time")
    seconds = int(lifetime) if isinstance(lifetime, int | str) and str(lifetime).isdigit() else DEFAULT_TICKET_SECONDS
    return JsTicket(ticket, epoch_seconds() + seconds)


def jsapi_config(settings: OAuthSettings, directory: ProviderDirectory, url: str) -> dict[str, Any]:
    """wb.init's config for the page at `url` (400 unless the page is on the redirect allow-list; 502 when Weibo
    sign-in is not configured or Weibo does not hand out a ticket)."""
    if not settings.redirect_allowed(url.split("#")[0]):
        raise ValidationError(
            "url is not on this stage's allow-list",
            errors=[{"field": "url", "message": "the page's URL must be an allowed redirect URI"}],
        )
    provider = directory.get("weibo")
    if not isinstance(provider, WeiboProvider):
        raise DependencyUnavailable("Weibo sign-in is not configured on this stage")
    app_key, _secret = provider.config.credentials("app")
    cache_key = f"{provider.config.api_base}|{app_key}"
    ticket = tickets.get(cache_key, lambda: fetch_ticket(provider, directory.transport))
    timestamp, noncestr = epoch_seconds(), secrets.token_hex(8)
    return {
        "appkey": app_key,
        "timestamp": timestamp,
        "noncestr": noncestr,
        "signature": jsapi_signature(ticket, noncestr, timestamp, url),
    }
