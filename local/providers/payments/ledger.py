"""What the emulated gateways share, whichever the provider: what they remember (started payments, their refunds, the
notifies sent, the failure mode), the payer's act (mark paid, notify the app, note its answer) and their pages."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from local.loopback import Answer, html_page, post
from local.providers.payments.keys import GatewayKeys

CHINA = timezone(timedelta(hours=8))  # both providers stamp their messages in Beijing time
NOTIFY_TIMEOUT_SECONDS = 10.0


@dataclass
class EmulatedPayment:
    channel: str
    payment_id: str
    amount_fen: int
    notify_url: str
    trade_no: str
    paid: bool = False
    closed: bool = False  # closed unpaid by the shop: it can no longer be paid
    paid_at: str = ""  # when the payer paid (Beijing time, ISO 8601), as queries answer it
    refunded_fen: int = 0
    refunds: dict[str, int] = field(default_factory=dict)  # refund id -> amount


@dataclass
class GatewayState:
    keys: GatewayKeys
    payments: dict[tuple[str, str], EmulatedPayment] = field(default_factory=dict)
    notifies: list[tuple[str, str, int]] = field(default_factory=list)  # (channel, payment id, app's status)
    failure: str = "none"
    failures_left: int | None = None  # the failure answers this many API calls, then "none" (None: until changed)
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # How notifies reach the app: an HTTP POST to the notify URL, or (tests without a server) a function.
    deliver: Callable[[str, bytes, dict[str, str]], tuple[int, str]] | None = None


# A provider's signed notify for a payment: (keys, payment, amount in fen, paid or closed) -> (headers, body).
SignedNotify = Callable[[GatewayKeys, EmulatedPayment, int, bool], tuple[dict[str, str], bytes]]


def record(
    state: GatewayState, channel: str, payment_id: str, amount_fen: int, notify_url: str, trade_no_prefix: str
) -> EmulatedPayment:
    """The payment the shop started (again: an unpaid one starts over, a paid one stays as it is)."""
    with state.lock:
        found = state.payments.get((channel, payment_id))
        if found is None or not (found.paid or found.closed):
            trade_no = trade_no_prefix + secrets.token_hex(10)
            found = EmulatedPayment(channel, payment_id, amount_fen, notify_url, trade_no)
            state.payments[(channel, payment_id)] = found
        return found


def refund(state: GatewayState, channel: str, payment_id: str, refund_id: str, amount: int) -> str:
    """made, again (this refund id was made before: nothing moves twice), or why not: unknown, unpaid, over."""
    with state.lock:
        payment = state.payments.get((channel, payment_id))
        if payment is None:
            return "unknown"
        if not payment.paid:
            return "unpaid"
        if refund_id in payment.refunds:
            return "again"
        if amount <= 0 or payment.refunded_fen + amount > payment.amount_fen:
            return "over"
        payment.refunded_fen += amount
        payment.refunds[refund_id] = amount
        return "made"


def close(state: GatewayState, channel: str, payment_id: str) -> str:
    """The shop closes an unpaid trade: closed (also again), unknown (never placed), or paid (too late)."""
    with state.lock:
        payment = state.payments.get((channel, payment_id))
        if payment is None:
            return "unknown"
        if payment.paid:
            return "paid"
        payment.closed = True
        return "closed"


def found(state: GatewayState, channel: str, payment_id: str) -> EmulatedPayment | None:
    with state.lock:
        return state.payments.get((channel, payment_id))


def pay(
    state: GatewayState,
    channel: str,
    payment_id: str,
    amount_fen: int | None,
    success: bool,
    signed_notify: SignedNotify,
    notify: bool = True,
    even_if_closed: bool = False,
) -> tuple[int, str]:
    """Play the payer: the provider's signed notify for a started payment goes to its notify URL.
    Returns the app's (status, body); amount_fen other than the payment's plays a tampered notify. notify False:
    the trade is paid but its notify is lost (0, ""). A closed trade cannot be paid (409), unless even_if_closed
    (a test playing a payer who paid just before the close reached the provider)."""
    with state.lock:
        payment = state.payments.get((channel, payment_id))
    if payment is None:
        return 404, f"no {channel} payment {payment_id} was started"
    if payment.closed and not payment.paid and not even_if_closed:
        return 409, f"the {channel} trade {payment_id} is closed"
    amount = payment.amount_fen if amount_fen is None else amount_fen
    headers, body = signed_notify(state.keys, payment, amount, success)
    with state.lock:
        if success and not payment.paid:  # the payer paid: the trade is paid whatever the app answers
            payment.paid, payment.paid_at = True, datetime.now(CHINA).isoformat(timespec="seconds")
    if not notify:
        return 0, ""
    status, text = (state.deliver or _post)(payment.notify_url, body, headers)
    with state.lock:
        state.notifies.append((channel, payment_id, status))
    return status, text


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    return post(url, body, headers, NOTIFY_TIMEOUT_SECONDS)


def page(title: str, body: str, status: int = 200) -> Answer:
    """A gateway's HTML page (the payer's cashier, an error), in UTF-8 and saying so (`¥` and Chinese titles)."""
    return html_page(title, body, status)
