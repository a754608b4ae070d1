"""An order's trades at the providers: its payments listed for the buyer, the query before an unpaid order is
cancelled (a payment its provider reports paid wins, as its notify would), the closing of a cancelled order's open
trades (from the orders' outbox, retried), and the dev stages' payer (the emulator pays, with or without a notify)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import DependencyUnavailable, NotFound
from chalicelib.observability import logger, metrics
from chalicelib.payments.channels import PaymentChannel, PaymentNotice
from chalicelib.payments.service import Payments, close_unpaid, record_paid, refund_late_payment

# What the buyer sees of a payment's status (its own: CREATED, PAID, PAID_LATE, CLOSED, REFUNDING, ...).
SHOWN_STATUS = {"CREATED": "PENDING", "PAID": "PAID", "PAID_LATE": "PAID", "CLOSED": "CLOSED"}


def _refunded_fen(payment: dict[str, Any]) -> int:
    """What went back to the payer: the refunds the provider confirmed (pending ones are not money back yet)."""
    return sum(int(r["amount_fen"]) for r in payment["refunds"].values() if r.get("status") == "SUCCESS")


def _shown_status(payment: dict[str, Any]) -> str:
    refunded = _refunded_fen(payment)
    if payment["status"] in SHOWN_STATUS and not refunded:
        return SHOWN_STATUS[payment["status"]]
    if refunded >= payment["amount_fen"]:
        return "REFUNDED"
    return "PARTIALLY_REFUNDED" if refunded else "PAID"


def listed(payment: dict[str, Any]) -> dict[str, Any]:
    """One payment as GET /orders/{order_id}/payments shows it; late: paid after the order was cancelled, past its
    deadline or paid by another payment (refunded in full automatically)."""
    return {
        "payment_id": payment["payment_id"],
        "channel": payment["channel"],
        "amount_fen": payment["amount_fen"],
        "status": _shown_status(payment),
        "refunded_fen": _refunded_fen(payment),
        "trade_no": payment.get("transaction_id"),
        "late": bool(payment.get("late_reason")),
        "late_reason": payment.get("late_reason"),
        "created_at": payment["created_at"],
        "paid_at": payment.get("paid_at"),
    }


def order_payments(payments: Payments, user_id: str, order_id: str) -> dict[str, Any]:
    """GET /orders/{order_id}/payments: every payment of my order, oldest first (another user's order: 404)."""
    payments.buyers_order(user_id, order_id)
    return {"items": [listed(payment) for payment in payments.repo.order_payments(order_id)]}


def _channel_of(payments: Payments, payment: dict[str, Any]) -> PaymentChannel | None:
    try:
        return payments.channels(payment["channel"])
    except NotFound:  # the channel is no longer configured: its provider cannot be asked
        logger.warning("an open payment's channel is not configured", extra={"payment_id": payment["payment_id"]})
        return None


def _take(payments: Payments, payment: dict[str, Any], notice: PaymentNotice | None) -> dict[str, Any] | None:
    """Apply what the provider answered a query, as its notify would be applied; the payment as recorded."""
    if notice is None or notice.payment_id != payment["payment_id"] or not notice.success:
        return None
    if notice.amount_fen != payment["amount_fen"]:
        metrics.add_metric(name="PaymentQueryWrongAmount", unit="Count", value=1)
        logger.error("a provider reports another amount", extra={"payment_id": payment["payment_id"]})
        return None
    recorded = record_paid(payments, payment, notice, queried=True)
    metrics.add_metric(name="PaymentsFoundByQuery", unit="Count", value=1)
    if recorded.get("late_reason"):
        refund_late_payment(payments, recorded["payment_id"], queue_on_failure=True)
    return recorded


def settle_before_cancel(payments: Payments, order_id: str) -> bool:
    """Before an unpaid order is cancelled: ask the provider of each of its open payments; one reported paid pays
    the order exactly as its notify would (a lost notify). True when the order is paid by one of them. A provider
    that cannot be reached is skipped (logged): the cancelled order's trades are closed later, and a payment found
    paid then is refunded as any late payment."""
    paid = False
    for payment in payments.repo.order_payments(order_id):
        if payment["status"] != "CREATED" or (channel := _channel_of(payments, payment)) is None:
            continue
        try:
            recorded = _take(payments, payment, channel.query(payment["payment_id"]))
        except DependencyUnavailable as error:
            metrics.add_metric(name="PaymentQueriesFailed", unit="Count", value=1)
            logger.warning("an open payment could not be queried", extra={"payment_id": payment["payment_id"],
                                                                           "why": error.message})  # fmt: skip
            continue
        paid = paid or (recorded is not None and recorded["status"] == "PAID")
    return paid


def close_order_trades(payments: Payments, order_id: str) -> str:
    """A cancelled order's open trades closed at their providers, so none can be paid any more; a trade its provider
    says is paid already is recorded as its notify would be (a late payment: refunded). Idempotent; raises
    DependencyUnavailable while a provider cannot be reached (the outbox delivers the message again)."""
    closed = 0
    for payment in payments.repo.order_payments(order_id):
        if payment["status"] != "CREATED" or (channel := _channel_of(payments, payment)) is None:
            continue
        payment_id = payment["payment_id"]
        if channel.close(payment_id) or _take(payments, payment, channel.query(payment_id)) is None:
            close_unpaid(payments, payment)  # closed at the provider (or found unpaid there): closed here too
        closed += 1
    metrics.add_metric(name="PaymentTradesClosed", unit="Count", value=closed)
    return f"closed {closed}"


def play_payer(payments: Payments, payment_id: str, notify: bool) -> dict[str, Any]:
    """POST /dev/payments/{payment_id}/pay (local/dev): the channel's emulator pays the trade; notify False keeps its
    notify back (a lost notify, which the query before cancelling finds). 404 without an emulator or payment."""
    payment = payments.repo.payment(payment_id)
    if payments.payer_emulator is None or payment is None:
        raise NotFound("No such payment, or no payment emulator on this stage")
    answer = payments.payer_emulator.pay(payment, payments.notify_url(payment["channel"]), notify)
    current = payments.repo.payment(payment_id) or payment
    return {"payment_id": payment_id, "channel": payment["channel"], "notified": notify, **answer,
            "payment": listed(current)}  # fmt: skip
