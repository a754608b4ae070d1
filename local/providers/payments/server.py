"""The payment gateways on one loopback port: every provider's routes, the failure switch, and the app's settings."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.loopback import CONTROL_PATH, DROP, FAILURE_MODES, Answer, LoopbackService, Request, json_answer, send
from local.providers.payments import alipay, ledger, sandbox, wechat
from local.providers.payments.keys import GatewayKeys
from local.providers.payments.ledger import EmulatedPayment, GatewayState

PROVIDERS = (sandbox, alipay, wechat)
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {key: route for p in PROVIDERS for key, route in p.ROUTES.items()}
PAYERS = {provider.CHANNEL: provider.pay for provider in PROVIDERS}
PREFIX_ROUTES: dict[tuple[str, str], tuple[str, Any]] = dict(wechat.PREFIX_ROUTES)
PAY_PATH = "/__emulator__/pay"  # the app's POST /dev/payments/{payment_id}/pay: play the payer of any channel
TRADE_NO_PREFIXES = {provider.CHANNEL: provider.TRADE_NO_PREFIX for provider in PROVIDERS}


class PaymentGateways(LoopbackService):
    """A threaded HTTP server on a loopback port; `env()` points the app's payment settings at it."""

    thread_name = "payment-gateways"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: GatewayKeys | None = None,
        deliver: Callable[[str, bytes, dict[str, str]], tuple[int, str]] | None = None,
    ) -> None:
        self.state = GatewayState(keys or GatewayKeys(), deliver=deliver)
        super().__init__(_handler_for(self.state), host, port)

    def fail(self, mode: str, slow_seconds: float | None = None, times: int | None = None) -> None:
        """Make the gateways' APIs answer an error, garbage, slowly, or drop the connection (for the next `times`
        API calls only, if given)."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"failure mode must be one of {FAILURE_MODES}")
        with self.state.lock:
            self.state.failure = mode
            self.state.failures_left = times
            if slow_seconds is not None:
                self.state.slow_seconds = slow_seconds

    def env(self, notify_base: str = "http://127.0.0.1:8000") -> dict[str, str]:
        """The app's payment settings for these gateways: merchant private keys, provider public keys, URLs."""
        settings = {"PAYMENT_NOTIFY_BASE": notify_base, "PAYMENT_EMULATOR_URL": self.url}
        for provider in PROVIDERS:
            settings |= provider.settings(self.state.keys, self.url)
        return settings

    def pay(
        self,
        channel: str,
        payment_id: str,
        amount_fen: int | None = None,
        success: bool = True,
        notify: bool = True,
        even_if_closed: bool = False,
    ) -> tuple[int, str]:
        """Play the payer: the provider's signed notify for a started payment goes to its notify URL.
        Returns the app's (status, body); amount_fen other than the payment's plays a tampered notify; notify False
        pays without a notify (0, ""); even_if_closed: the payer paid just before the shop's close reached us."""
        payer = PAYERS.get(provider_of(channel))
        if payer is None:
            return 404, f"no {channel} payment {payment_id} was started"
        return payer(self.state, payment_id, amount_fen, success, notify, even_if_closed)

    def payment(self, channel: str, payment_id: str) -> EmulatedPayment | None:
        with self.state.lock:
            return self.state.payments.get((provider_of(channel), payment_id))


def provider_of(channel: str) -> str:
    """The provider of a shop channel: wechat_jsapi and wechat_h5 are WeChat Pay's, alipay_wap is Alipay's."""
    return channel.split("_", 1)[0]


def _play_payer(shared: GatewayState, body: bytes) -> Answer:
    """POST /__emulator__/pay {channel, payment_id, amount_fen, notify_url, notify}: the payer opens the trade (if
    the cashier was never opened) and pays it; notify false keeps the notify back."""
    try:
        fields = json.loads(body)
        channel, payment_id = provider_of(str(fields["channel"])), str(fields["payment_id"])
        amount_fen, notify_url, notify = int(fields["amount_fen"]), str(fields["notify_url"]), fields["notify"]
    except (ValueError, KeyError, TypeError):
        return json_answer({"error": "need channel, payment_id, amount_fen, notify_url, notify"}, 400)
    payer = PAYERS.get(channel)
    if payer is None or not isinstance(notify, bool):
        return json_answer({"error": f"no payer for {channel}"}, 400)
    ledger.record(shared, channel, payment_id, amount_fen, notify_url, TRADE_NO_PREFIXES[channel])
    status, text = payer(shared, payment_id, None, True, notify, False)
    if status in (404, 409):
        return json_answer({"error": text}, status)
    return json_answer({"notify_status": status or None, "notify_answer": text if notify else None})


def start_payment_gateways(host: str = "127.0.0.1", port: int = 0) -> PaymentGateways:
    return PaymentGateways(host, port).start()


def _handler_for(state: GatewayState) -> type[BaseHTTPRequestHandler]:
    class Handler(_GatewayHandler):
        shared = state

    return Handler


class _GatewayHandler(BaseHTTPRequestHandler):
    shared: GatewayState
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection (httpx pools them) is closed instead of holding a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app logs its own provider calls."""

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length) if length else b"")

    def _serve(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        prefixed = (
            found for (verb, prefix), found in PREFIX_ROUTES.items() if verb == method and parts.path.startswith(prefix)
        )
        route = ROUTES.get((method, parts.path)) or next(prefixed, None)
        if parts.path == CONTROL_PATH and method == "POST":
            answer = _control(self.shared, body)
        elif parts.path == PAY_PATH and method == "POST":
            answer = _play_payer(self.shared, body)
        elif route is None:
            answer = json_answer({"error": "not found", "path": parts.path}, 404)
        else:
            kind, function = route
            answer = self._failure() if kind == "api" else None
            if answer is None:
                headers = {k: v for k, v in self.headers.items()}
                answer = function(self.shared, Request(method, self.path, query, headers, body))
        send(self, answer)

    def _failure(self) -> Answer | None:
        with self.shared.lock:
            mode, slow = self.shared.failure, self.shared.slow_seconds
            if self.shared.failures_left is not None and mode != "none":
                self.shared.failures_left -= 1
                if self.shared.failures_left <= 0:
                    self.shared.failure, self.shared.failures_left = "none", None
        if mode == "slow":
            time.sleep(slow)
            return None
        if mode == "reset":
            return DROP
        if mode == "garbage":
            return ledger.page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><hr>nginx", 502)
        if mode == "error":
            return json_answer({"code": "SYSTEM_ERROR", "message": "系统繁忙，请稍后重试"}, 500)
        return None


def _control(shared: GatewayState, body: bytes) -> Answer:
    mode = dict(parse_qsl(body.decode("utf-8", "replace"))).get("mode", "none")
    if mode not in FAILURE_MODES:
        return json_answer({"error": f"mode must be one of {FAILURE_MODES}"}, 400)
    with shared.lock:
        shared.failure, shared.failures_left = mode, None
    return json_answer({"mode": mode})
