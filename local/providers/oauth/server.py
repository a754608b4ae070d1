"""The sign-in providers on one loopback port: every provider's routes, the failure switch, and the app's settings."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from local.loopback import CONTROL_PATH, DROP, FAILURE_MODES, Answer, LoopbackService, html_page, json_answer, send
from local.providers.oauth import qq, wechat, weibo
from local.providers.oauth.codes import EmulatorState

PROVIDERS = (wechat, weibo, qq)
# The apps the emulator knows: provider -> {client id: secret}.
APPS: dict[str, dict[str, str]] = {provider.PROVIDER: provider.APPS for provider in PROVIDERS}
# (method, path) -> (provider, kind, route)
ROUTES: dict[tuple[str, str], tuple[str, str, Any]] = {
    key: (provider.PROVIDER, kind, route) for provider in PROVIDERS for key, (kind, route) in provider.ROUTES.items()
}
SYSTEM_ERRORS = {provider.PROVIDER: provider.system_error for provider in PROVIDERS}


class OAuthEmulator(LoopbackService):
    """A threaded HTTP server on a loopback port; `env()` is what points the app at it."""

    thread_name = "oauth-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = EmulatorState()
        super().__init__(_handler_for(self.state), host, port)

    def fail(self, mode: str, provider: str | None = None, slow_seconds: float | None = None) -> None:
        """Make the providers' APIs (all, or one) answer an error, garbage, slowly, or drop the connection."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"failure mode must be one of {FAILURE_MODES}")
        with self.state.lock:
            self.state.failure, self.state.failure_provider = mode, provider
            if slow_seconds is not None:
                self.state.slow_seconds = slow_seconds

    def reset(self) -> None:
        with self.state.lock:
            self.state.codes.clear()
            self.state.tokens.clear()
            self.state.js_tickets.clear()
            self.state.failure, self.state.failure_provider, self.state.slow_seconds = "none", None, 3.0

    def env(self) -> dict[str, str]:
        """The app's OAUTH_* settings for this emulator."""
        settings: dict[str, str] = {}
        for provider in PROVIDERS:
            settings |= provider.settings(self.url)
        return settings


def start_oauth_emulator(host: str = "127.0.0.1", port: int = 0) -> OAuthEmulator:
    return OAuthEmulator(host, port).start()


def _handler_for(state: EmulatorState) -> type[BaseHTTPRequestHandler]:
    class Handler(_EmulatorHandler):
        shared = state

    return Handler


class _EmulatorHandler(BaseHTTPRequestHandler):
    shared: EmulatorState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app logs its own provider calls."""

    def do_GET(self) -> None:
        self._serve("GET", {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                form = {k: str(v) for k, v in (json.loads(raw or "{}") or {}).items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = dict(parse_qsl(raw, keep_blank_values=True))
        self._serve("POST", form)

    def _serve(self, method: str, form: dict[str, str]) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        params.update(form)
        route = ROUTES.get((method, parts.path))
        if parts.path == CONTROL_PATH and method == "POST":
            answer = _control(self.shared, params)
        elif route is None:
            answer = json_answer({"error": "not found", "path": parts.path}, 404)
        else:
            provider, kind, function = route
            answer = self._failure(provider) if kind == "api" else None
            if answer is None:
                answer = function(self.shared, params)
        send(self, answer)

    def _failure(self, provider: str) -> Answer | None:
        with self.shared.lock:
            mode, only, slow = self.shared.failure, self.shared.failure_provider, self.shared.slow_seconds
        if mode == "none" or (only is not None and only != provider):
            return None
        if mode == "slow":
            time.sleep(slow)
            return None
        if mode == "reset":
            return DROP
        if mode == "garbage":
            return html_page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><hr>nginx", 502)
        return SYSTEM_ERRORS[provider]()


def _control(shared: EmulatorState, params: dict[str, str]) -> Answer:
    mode = params.get("mode", "none")
    if mode not in FAILURE_MODES:
        return json_answer({"error": f"mode must be one of {FAILURE_MODES}"}, 400)
    try:
        slow_seconds = float(params["slow_seconds"]) if params.get("slow_seconds") else None
    except ValueError:
        return json_answer({"error": "slow_seconds must be a number"}, 400)
    with shared.lock:
        shared.failure, shared.failure_provider = mode, params.get("provider") or None
        if slow_seconds is not None:
            shared.slow_seconds = slow_seconds
    return json_answer({"mode": mode, "provider": shared.failure_provider})
