"""What every emulated sign-in provider shares: the authorize page that issues a code, the one-time code exchange, the
tokens it gives, and the answers (text, redirect) the providers speak."""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from local.loopback import Answer, html_page

CODE_TTL_SECONDS = 300
ERROR_LOGIN = "__error__"  # login_as=__error__: the code exchange answers the provider's "system error"


@dataclass
class IssuedCode:
    provider: str
    client_id: str
    redirect_uri: str
    login: str
    issued_at: float
    used: bool = False


@dataclass
class EmulatorState:
    """Codes, tokens and the failure mode, shared by the server's threads."""

    codes: dict[str, IssuedCode] = field(default_factory=dict)
    tokens: dict[str, IssuedCode] = field(default_factory=dict)
    js_tickets: dict[str, tuple[str, float]] = field(default_factory=dict)  # Weibo JS-SDK: app -> (ticket, expiry)
    failure: str = "none"
    failure_provider: str | None = None
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def text(body: str, status: int = 200) -> Answer:
    return Answer(status, body, "text/plain; charset=utf-8")


def redirect(location: str) -> Answer:
    return Answer(302, b"", "text/html; charset=utf-8", {"Location": location})


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def authorize(
    provider: str, apps: dict[str, str], shared: EmulatorState, params: dict[str, str], client_key: str
) -> Answer:
    """The browser's side: the "scan the QR code" page, or with login_as a redirect back with a fresh code."""
    client_id, redirect_uri = params.get(client_key, ""), params.get("redirect_uri", "")
    if client_id not in apps:
        return html_page("Error", f"<p>{provider}: unknown {client_key} {html.escape(client_id)}</p>", 400)
    if not redirect_uri.startswith(("http://", "https://")) or params.get("response_type") != "code":
        return html_page("Error", "<p>redirect_uri and response_type=code are required</p>", 400)
    login = params.get("login_as")
    if not login:
        retry = html.escape(with_query(f"?{urlencode(params)}", {"login_as": "demo_user"}))
        body = (
            f"<h1>{provider}: scan the QR code</h1><p>Scan the QR code with the {provider} app to sign in.</p>"
            f"<p>This is the local emulator: add <code>&amp;login_as=&lt;openid&gt;</code> to this page's URL, "
            f"or <a href='{retry}'>sign in as demo_user</a>.</p>"
        )
        return html_page(f"{provider} sign-in", body)
    code = secrets.token_hex(16)
    with shared.lock:
        shared.codes[code] = IssuedCode(provider, client_id, redirect_uri, login, time.time())
    back = {"code": code}
    if "state" in params:
        back["state"] = params["state"]
    return redirect(with_query(redirect_uri, back))


def take_code(
    shared: EmulatorState, provider: str, code: str, client_id: str, redirect_uri: str | None
) -> tuple[IssuedCode | None, str]:
    """The code if it may be exchanged, else why not: unknown, used, expired, other client, other redirect_uri."""
    with shared.lock:
        issued = shared.codes.get(code)
        if issued is None or issued.provider != provider:
            return None, "invalid"
        if issued.used:
            return None, "used"
        if time.time() - issued.issued_at > CODE_TTL_SECONDS:
            return None, "invalid"
        if issued.client_id != client_id:
            return None, "invalid"
        if redirect_uri is not None and issued.redirect_uri != redirect_uri:
            return None, "redirect"
        issued.used = True
        token = secrets.token_hex(20)
        shared.tokens[token] = issued
    return issued, token


def token_owner(shared: EmulatorState, token: str, provider: str) -> IssuedCode | None:
    with shared.lock:
        issued = shared.tokens.get(token)
    return issued if issued is not None and issued.provider == provider else None
