"""The sandbox payer (local and dev stages): GET pay_url shows the payer's page, POST pay_url pays and the gateway
notifies the app; requests, notifies and refunds are signed with the HMAC secret both sides share (the app's own
signing code, chalicelib/payments/channels/sandbox.py, since the sandbox is the shop's own protocol)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from chalicelib.inputs import is_ascii_digits
from chalicelib.payments.channels import sandbox as sandbox_signing
from local.loopback import Answer, Request, json_answer
from local.providers.payments import ledger
from local.providers.payments.keys import GatewayKeys
from local.providers.payments.ledger import EmulatedPayment, GatewayState

CHANNEL = "sandbox"
TRADE_NO_PREFIX = "SBX"


def settings(keys: GatewayKeys, url: str) -> dict[str, str]:
    """The app's PAYMENT_SANDBOX_* settings for this gateway."""
    return {"PAYMENT_SANDBOX_GATEWAY": url, "PAYMENT_SANDBOX_SECRET": keys.sandbox_secret.decode()}


def signed_notify(
    keys: GatewayKeys, payment: EmulatedPayment, amount_fen: int, success: bool
) -> tuple[dict[str, str], bytes]:
    notice = {
        "payment_id": payment.payment_id,
        "amount_fen": amount_fen,
        "trade_no": payment.trade_no,
        "status": "SUCCESS" if success else "CLOSED",
        "paid_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return sandbox_signing.signed_headers(keys.sandbox_secret, notice), sandbox_signing.canonical(notice)


def pay(
    state: GatewayState,
    payment_id: str,
    amount_fen: int | None = None,
    success: bool = True,
    notify: bool = True,
    even_if_closed: bool = False,
) -> tuple[int, str]:
    return ledger.pay(state, CHANNEL, payment_id, amount_fen, success, signed_notify, notify, even_if_closed)


# ---- the routes ----


def _started(shared: GatewayState, query: dict[str, str]) -> EmulatedPayment | None:
    fields = {k: v for k, v in query.items() if k != "sign"}
    if not sandbox_signing.same(sandbox_signing.sign(shared.keys.sandbox_secret, 0, fields), query.get("sign", "")):
        return None
    if not is_ascii_digits(fields.get("amount_fen", "")) or not fields.get("payment_id"):
        return None
    amount_fen, notify_url = int(fields["amount_fen"]), fields.get("notify_url", "")
    return ledger.record(shared, CHANNEL, fields["payment_id"], amount_fen, notify_url, TRADE_NO_PREFIX)


def payer_page(shared: GatewayState, call: Request) -> Answer:
    payment = _started(shared, call.query)
    if payment is None:
        return ledger.page("Sandbox", "<p>This pay_url is not signed by the shop.</p>", 400)
    action = html.escape(call.target)
    fen = payment.amount_fen
    return ledger.page(
        "Sandbox payer",
        f"<h1>Pay ¥{fen // 100}.{fen % 100:02d}</h1><form method='post' action='{action}'><button>Pay</button></form>",
    )


def payer(shared: GatewayState, call: Request) -> Answer:
    payment = _started(shared, call.query)
    if payment is None:
        return json_answer({"error": "this pay_url is not signed by the shop"}, 400)
    status, text = pay(shared, payment.payment_id, None, call.query.get("fail") != "1")
    return json_answer({"payment_id": payment.payment_id, "notify_status": status, "notify_answer": text})


def refund(shared: GatewayState, call: Request) -> Answer:
    fields = sandbox_signing.check_signed(shared.keys.sandbox_secret, call.headers, call.body)
    if fields is None:
        return json_answer({"code": "BAD_SIGNATURE", "message": "not signed by the shop"}, 401)
    payment_id, refund_id, amount = (
        str(fields.get("payment_id")),
        str(fields.get("refund_id")),
        fields.get("amount_fen"),
    )
    outcome = ledger.refund(shared, CHANNEL, payment_id, refund_id, amount if type(amount) is int else 0)
    if outcome not in ("made", "again"):
        return json_answer({"code": outcome.upper(), "message": f"refund refused: {outcome}"}, 409)
    answer = {"refund_id": refund_id, "payment_id": payment_id, "amount_fen": amount, "status": "SUCCESS"}
    answer["gateway_refund_id"] = "SBXR" + refund_id
    headers = sandbox_signing.signed_headers(shared.keys.sandbox_secret, answer)
    return Answer(200, sandbox_signing.canonical(answer), "application/json", headers)


def _signed_answer(shared: GatewayState, answer: dict[str, Any], status: int = 200) -> Answer:
    headers = sandbox_signing.signed_headers(shared.keys.sandbox_secret, answer)
    return Answer(status, sandbox_signing.canonical(answer), "application/json", headers)


def query(shared: GatewayState, call: Request) -> Answer:
    fields = sandbox_signing.check_signed(shared.keys.sandbox_secret, call.headers, call.body)
    if fields is None:
        return json_answer({"code": "BAD_SIGNATURE", "message": "not signed by the shop"}, 401)
    payment = ledger.found(shared, CHANNEL, str(fields.get("payment_id")))
    if payment is None:
        return _signed_answer(shared, {"payment_id": str(fields.get("payment_id")), "status": "UNKNOWN"}, 404)
    state = "SUCCESS" if payment.paid else "CLOSED" if payment.closed else "NOTPAY"
    answer = {"payment_id": payment.payment_id, "status": state, "amount_fen": payment.amount_fen,
              "trade_no": payment.trade_no, "paid_at": _utc(payment.paid_at)}  # fmt: skip
    return _signed_answer(shared, answer)


def close(shared: GatewayState, call: Request) -> Answer:
    fields = sandbox_signing.check_signed(shared.keys.sandbox_secret, call.headers, call.body)
    if fields is None:
        return json_answer({"code": "BAD_SIGNATURE", "message": "not signed by the shop"}, 401)
    payment_id = str(fields.get("payment_id"))
    outcome = ledger.close(shared, CHANNEL, payment_id)
    status = {"closed": 200, "unknown": 404, "paid": 409}[outcome]
    return _signed_answer(shared, {"payment_id": payment_id, "status": outcome.upper()}, status)


def _utc(china_iso: str) -> str:
    if not china_iso:
        return ""
    return datetime.fromisoformat(china_iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the payer's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/sandbox/pay"): ("page", payer_page),
    ("POST", "/sandbox/pay"): ("page", payer),
    ("POST", "/sandbox/refund"): ("api", refund),
    ("POST", "/sandbox/query"): ("api", query),
    ("POST", "/sandbox/close"): ("api", close),
}
