"""Starting a payment of an order (POST /orders/{order_id}/pay): one open payment per order and channel, reused by a
repeated call; the amount is the order's, never the client's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.errors import Conflict, InvalidState, NotFound, ValidationError
from chalicelib.observability import metrics
from chalicelib.payments.channels import PaymentChannel, PaymentRequest
from chalicelib.payments.service import MAX_WRITE_ATTEMPTS, Payments


def _channel(payments: Payments, name: str) -> PaymentChannel:
    try:
        return payments.channels(name)
    except NotFound:
        raise ValidationError(f"Payment channel {name!r} is not available") from None


def _subject(order: dict[str, Any]) -> str:
    items = order.get("items") or []
    title = str(items[0].get("title") or "") if items else ""
    count = sum(int(line.get("quantity") or 1) for line in items)
    return (f"{title} 等{count}件" if count > 1 else title) or f"订单 {order.get('order_no') or order['order_id']}"


def _deadline(order: dict[str, Any]) -> datetime | None:
    try:
        return parse_iso(order["pay_deadline"])
    except (KeyError, ValueError):
        return None


def _open_payment(payments: Payments, order: dict[str, Any], user_id: str, name: str) -> dict[str, Any]:
    """The order's open payment on this channel, made now if there is none (two racing requests make one)."""
    from chalicelib.ids import new_id

    amount = int(order["amounts"]["payable_fen"])
    for _ in range(MAX_WRITE_ATTEMPTS):
        open_id = payments.repo.open_payment_id(order["order_id"], name)
        current = payments.repo.payment(open_id) if open_id else None
        if current is not None and current["status"] == "CREATED" and current["amount_fen"] == amount:
            return current
        if current is not None:  # closed, or paid meanwhile: it is no longer the open one
            payments.repo.update(current, {"updated_at": iso(utcnow())}, close=True)
            continue
        now = iso(utcnow())
        payment = {
            "payment_id": new_id("pay"),  # 30 characters: fits WeChat Pay's out_trade_no (<= 32)
            "order_id": order["order_id"],
            "user_id": user_id,
            "channel": name,
            "amount_fen": amount,
            "status": "CREATED",
            "late_reason": None,
            "transaction_id": None,
            "created_at": now,
            "updated_at": now,
            "paid_at": None,
            "refunded_fen": 0,
        }
        if payments.repo.create(payment):
            return {**payment, "refunds": {}, "version": 0}
    raise Conflict("The order's payment is being started by another request; try again")


@dataclass(frozen=True)
class PayerDetails:
    """What a client adds to /pay: WeChat JSAPI's openid, the page to come back to, the payer's IP (WeChat H5)."""

    openid: str | None = None
    return_url: str | None = None
    client_ip: str | None = None


def pay_order(
    payments: Payments, user_id: str, order_id: str, name: str, payer: PayerDetails | None = None
) -> dict[str, Any]:
    """POST /orders/{id}/pay: start paying the user's own unpaid order (404 for another's)."""
    return start_payment(payments, payments.buyers_order(user_id, order_id), user_id, name, payer)


def start_payment(
    payments: Payments, order: dict[str, Any], user_id: str, name: str, payer: PayerDetails | None = None
) -> dict[str, Any]:
    """POST /orders/{id}/pay: the amount is the order's payable amount, never the client's. A repeated call for the
    same order and channel reuses the open payment (same payment_id; the channel signs a fresh pay_url)."""
    payer = payer or PayerDetails()
    if payer.return_url is not None and not payments.return_url_allowed(payer.return_url):
        raise ValidationError(
            "return_url is not on this stage's allow-list",
            errors=[{"field": "return_url", "message": "not an allowed return URL"}],
        )
    channel = _channel(payments, name)
    if channel.needs_openid and not payer.openid:
        raise ValidationError(
            f"{name} needs the payer's openid", errors=[{"field": "openid", "message": f"required for {name}"}]
        )
    if order["status"] != "PENDING_PAYMENT":
        raise InvalidState(f"An order that is {order['status']} cannot be paid")
    deadline = _deadline(order)
    if deadline is not None and deadline <= utcnow():
        raise InvalidState("This order's payment deadline has passed")
    payment = _open_payment(payments, order, user_id, name)
    request = PaymentRequest(
        payment_id=payment["payment_id"],
        order_id=order["order_id"],
        amount_fen=payment["amount_fen"],
        subject=_subject(order),
        expires_at=_deadline(order),
        return_url=payer.return_url,
        openid=payer.openid,
        client_ip=payer.client_ip,
    )
    started = channel.start(request)
    metrics.add_metric(name="PaymentsStarted", unit="Count", value=1)
    return {"payment_id": payment["payment_id"], "channel": name, "amount_fen": payment["amount_fen"], **started}
