"""Payment rules: start a payment of an order, take a provider's notify, refund (the order saga's and late payments').

A payment is one attempt to collect an order's payable amount through one channel. Its status: CREATED -> PAID (the
order took it) | PAID_LATE (the order was cancelled, its pay_deadline had passed, or it was paid by another payment,
first: refunded automatically) | CLOSED (the provider closed it unpaid); then, once refunds are asked for, REFUNDING
(a refund is pending at the provider) -> REFUNDED (all of it) or PARTIALLY_REFUNDED. Every write is conditional on
the version read, so concurrent notifies and refunds never lose an update and refunds never add up to more than was
paid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.errors import Conflict, DependencyUnavailable, DomainError, InvalidState, NotFound, ValidationError
from chalicelib.observability import logger, metrics
from chalicelib.payments.channels import (
    InvalidNotification,
    PaymentChannel,
    PaymentNotice,
    RefundRefused,
)
from chalicelib.payments.repository import PaymentsRepository

PAID_STATUSES = frozenset({"PAID", "PAID_LATE", "REFUNDING", "PARTIALLY_REFUNDED", "REFUNDED"})
UNPAID_STATUSES = frozenset({"CREATED", "CLOSED"})
OPEN_REFUND_STATUSES = frozenset({"PENDING", "PROCESSING"})
MAX_WRITE_ATTEMPTS = 8
LATE_REFUND_PREFIX = "late-"


class LateRefunds(Protocol):
    """Where the refund of a late payment goes when it cannot finish during the notify (retried, then a DLQ)."""

    def enqueue(self, payment_id: str) -> None: ...


class ConfirmPayment(Protocol):
    def __call__(self, order_id: str, payment_id: str, amount_fen: int, paid_at: str | None = None) -> dict[str, Any]:
        """The orders' answer to a payment (chalicelib.orders.service.confirm_payment); paid_at: when the provider
        says it was paid (a query's answer), else now (a notify)."""
        ...


class PayerEmulator(Protocol):
    """Local/dev: the providers' emulator playing the payer of a payment (POST /dev/payments/{id}/pay)."""

    def pay(self, payment: dict[str, Any], notify_url: str, notify: bool) -> dict[str, Any]: ...


BuyersOrder = Callable[[str, str], dict[str, Any]]  # (user_id, order_id) -> the order; NotFound if not theirs


def _nothing_allowed(url: str) -> bool:
    return False


@dataclass(frozen=True)
class Payments:
    """What payments work with: their repository, the channels by name, and the orders they pay."""

    repo: PaymentsRepository
    channels: Callable[[str], PaymentChannel]  # NotFound for an unknown or unconfigured channel
    confirm: ConfirmPayment  # chalicelib.orders.service.confirm_payment on the container's shop
    late_refunds: LateRefunds
    buyers_order: BuyersOrder  # chalicelib.orders.service.get_order on the container's shop
    return_url_allowed: Callable[[str], bool] = _nothing_allowed  # the sign-in redirect allow-list
    payer_emulator: PayerEmulator | None = None  # local/dev stages with the providers' emulator only
    notify_url: Callable[[str], str] = str  # channel -> where its provider notifies


def late_refund_id(payment_id: str) -> str:
    """The one refund of a late payment: derived from the payment, so it is made once whoever retries it."""
    return f"{LATE_REFUND_PREFIX}{payment_id}"


def payment_view(payment: dict[str, Any]) -> dict[str, Any]:
    names = ("payment_id", "order_id", "channel", "amount_fen", "status", "paid_at", "refunded_fen")
    return {name: payment.get(name) for name in names}


# -- notifies ------------------------------------------------------------------------------------------------------


def handle_notify(payments: Payments, name: str, headers: dict[str, str], body: bytes) -> PaymentChannel:
    """Verify and apply a provider's notify; returns the channel (its ack answers the provider). Raises
    InvalidNotification (bad signature, unknown payment, another amount: nothing changes) or a retryable error
    (DependencyUnavailable: the provider must notify again; doing so is safe)."""
    channel = payments.channels(name)
    notice = channel.verify_notify(headers, body)
    payment = payments.repo.payment(notice.payment_id)
    if payment is None or payment["channel"] != name:
        raise InvalidNotification("The notify names no payment of ours")
    if notice.amount_fen != payment["amount_fen"]:
        metrics.add_metric(name="PaymentNotifyWrongAmount", unit="Count", value=1)
        raise InvalidNotification(f"The payment is of {payment['amount_fen']} fen, not {notice.amount_fen}")
    if not notice.success:
        close_unpaid(payments, payment)
        return channel
    payment = record_paid(payments, payment, notice)
    if payment.get("late_reason"):  # again on a duplicate notify: a no-op once the refund succeeded
        refund_late_payment(payments, payment["payment_id"], queue_on_failure=True)
    return channel


def answer_notify(
    payments: Payments, channel: PaymentChannel, headers: dict[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """POST /payments/{channel}/notify: take the notify, and answer the provider as it expects (its success answer,
    or the one that makes it notify again); a channel without its own error answer (the sandbox) gets the API's."""
    try:
        handle_notify(payments, channel.name, headers, body)
        ack = channel.notify_ack()
    except DomainError as error:
        retry = notify_error_is_retryable(error)
        metrics.add_metric(name="PaymentNotifyFailed" if retry else "PaymentNotifyRefused", unit="Count", value=1)
        logger.warning(
            "payment notify not taken", extra={"channel": channel.name, "code": error.code, "why": error.message}
        )
        ack = channel.notify_ack(error)
        if ack is None:
            raise
    assert ack is not None  # every channel has a success answer
    return ack


def close_unpaid(payments: Payments, payment: dict[str, Any]) -> None:
    """The provider closed the trade unpaid: the order may be paid again (a fresh payment)."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        if payment["status"] != "CREATED":
            return
        if payments.repo.update(payment, {"status": "CLOSED", "updated_at": iso(utcnow())}, close=True):
            return
        payment = payments.repo.payment(payment["payment_id"]) or payment
    raise DependencyUnavailable("The payment is changing; notify again")


def record_paid(
    payments: Payments, payment: dict[str, Any], notice: PaymentNotice, queried: bool = False
) -> dict[str, Any]:
    """Tell the order, then record what it said (PAID or PAID_LATE). Confirming again is harmless (the order answers
    the same for the same payment), so a notify that dies between the two is simply retried by the provider.
    queried: the notice is a query's answer, so the order is told when the provider says it was paid."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        if payment["status"] not in UNPAID_STATUSES:
            return payment  # a duplicate: already recorded
        late_reason = _confirm(payments, payment, notice.paid_at if queried else None)
        now = iso(utcnow())
        changes = {
            "status": "PAID_LATE" if late_reason else "PAID",
            "late_reason": late_reason,
            "transaction_id": notice.transaction_id,
            "paid_at": notice.paid_at or now,
            "updated_at": now,
        }
        if payments.repo.update(payment, changes, close=True):
            metrics.add_metric(name="PaymentsLate" if late_reason else "PaymentsPaid", unit="Count", value=1)
            logger.info("payment recorded", extra={"payment_id": payment["payment_id"], "status": changes["status"]})
            return {**payment, **changes, "version": payment["version"] + 1}
        payment = payments.repo.payment(payment["payment_id"]) or payment
    raise DependencyUnavailable("The payment is changing; notify again")


def _is_time(text: str) -> bool:
    try:
        parse_iso(text)
    except ValueError:
        return False
    return True


def _confirm(payments: Payments, payment: dict[str, Any], paid_at: str | None = None) -> str | None:
    """None when the order took this payment; why not otherwise (the money must go back)."""
    try:
        if paid_at is None or not _is_time(paid_at):
            answer = payments.confirm(payment["order_id"], payment["payment_id"], payment["amount_fen"])
        else:
            answer = payments.confirm(payment["order_id"], payment["payment_id"], payment["amount_fen"], paid_at)
    except NotFound:
        return "ORDER_NOT_FOUND"
    except Conflict:
        return "PAID_BY_ANOTHER_PAYMENT"
    if answer.get("refund_required"):
        if answer.get("reason"):  # e.g. PAID_AFTER_DEADLINE: the order's pay_deadline passed before it arrived
            return str(answer["reason"])
        return "ORDER_CANCELLED" if answer.get("status") == "CANCELLED" else "ORDER_REFUSED"
    return None


def refund_late_payment(payments: Payments, payment_id: str, queue_on_failure: bool = False) -> str:
    """Refund all of a late payment (idempotent: its refund id is derived from the payment). SUCCESS, PROCESSING,
    or REFUSED (logged for a person to look at). While unfinished, with queue_on_failure, it goes to the late-refund
    queue, whose handler calls this again until it is done (then its DLQ and alarm)."""
    payment = payments.repo.payment(payment_id)
    if payment is None or not payment.get("late_reason"):
        raise NotFound("No late payment of this id")
    try:
        outcome = refund_payment(payments, payment_id, late_refund_id(payment_id), payment["amount_fen"],
                                 f"paid late: {payment['late_reason']}")  # fmt: skip
    except RefundRefused as refused:
        logger.error("a late payment's refund was refused", extra={"payment_id": payment_id, "why": refused.message})
        metrics.add_metric(name="LateRefundsRefused", unit="Count", value=1)
        return "REFUSED"
    except DependencyUnavailable:
        if not queue_on_failure:
            raise
        payments.late_refunds.enqueue(payment_id)  # failing too: the notify answers 5xx and the provider retries
        return "QUEUED"
    if outcome == "PROCESSING" and queue_on_failure:
        payments.late_refunds.enqueue(payment_id)
    metrics.add_metric(name="LateRefunds", unit="Count", value=1)
    return outcome


# -- refunds -------------------------------------------------------------------------------------------------------


def _status_after(payment: dict[str, Any], refunds: dict[str, dict[str, Any]]) -> str:
    succeeded = sum(int(r["amount_fen"]) for r in refunds.values() if r["status"] == "SUCCESS")
    if any(r["status"] in OPEN_REFUND_STATUSES for r in refunds.values()):
        return "REFUNDING"
    if succeeded >= payment["amount_fen"]:
        return "REFUNDED"
    if succeeded > 0:
        return "PARTIALLY_REFUNDED"
    return "PAID_LATE" if payment.get("late_reason") else "PAID"


def _reserve(payments: Payments, payment_id: str, refund_id: str, amount_fen: int, reason: str,
             order_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """(payment, refund): the refund recorded PENDING with its amount counted, or the one recorded before."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        payment = payments.repo.payment(payment_id)
        if payment is None or (order_id is not None and payment["order_id"] != order_id):
            raise NotFound("No such payment of this order")
        if (existing := payment["refunds"].get(refund_id)) is not None:
            return payment, existing
        if payment["status"] not in PAID_STATUSES:
            raise InvalidState(f"A payment that is {payment['status']} cannot be refunded")
        if amount_fen <= 0:
            raise ValidationError("A refund is of at least 1 fen")
        left = payment["amount_fen"] - payment["refunded_fen"]
        if amount_fen > left:
            raise RefundRefused(f"Only {left} fen of this payment can still be refunded, not {amount_fen}")
        now = iso(utcnow())
        refund = {"amount_fen": amount_fen, "status": "PENDING", "reason": reason[:200], "requested_at": now,
                  "updated_at": now}  # fmt: skip
        refunds = {**payment["refunds"], refund_id: refund}
        changes = {"refunds": refunds, "refunded_fen": payment["refunded_fen"] + amount_fen,
                   "status": _status_after(payment, refunds), "updated_at": now}  # fmt: skip
        if payments.repo.update(payment, changes):
            return {**payment, **changes, "version": payment["version"] + 1}, refund
    raise DependencyUnavailable("The payment is changing; try the refund again")


def _settle_refund(payments: Payments, payment_id: str, refund_id: str, status: str, detail: dict[str, Any]) -> None:
    """Record the provider's answer (SUCCESS, PROCESSING or REFUSED: then its amount is free again)."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        payment = payments.repo.payment(payment_id)
        if payment is None:
            raise NotFound("No such payment")
        refund = payment["refunds"][refund_id]
        if refund["status"] not in OPEN_REFUND_STATUSES or refund["status"] == status:
            return
        now = iso(utcnow())
        refunds = {**payment["refunds"], refund_id: {**refund, **detail, "status": status, "updated_at": now}}
        freed = int(refund["amount_fen"]) if status == "REFUSED" else 0
        changes = {"refunds": refunds, "refunded_fen": payment["refunded_fen"] - freed,
                   "status": _status_after(payment, refunds), "updated_at": now}  # fmt: skip
        if payments.repo.update(payment, changes):
            return
    raise DependencyUnavailable("The payment is changing; try the refund again")


def refund_payment(payments: Payments, payment_id: str, refund_id: str, amount_fen: int, reason: str = "",
                   order_id: str | None = None) -> str:  # fmt: skip
    """Refund amount_fen of a payment through its channel, once per refund_id: SUCCESS or PROCESSING (asking again
    later asks the provider again, with the same refund id, and returns its new answer). RefundRefused (409) when
    the provider refuses or more than what is left is asked; DependencyUnavailable (502) while it cannot be reached."""
    payment, refund = _reserve(payments, payment_id, refund_id, amount_fen, reason, order_id)
    if refund["status"] == "SUCCESS":
        return "SUCCESS"
    if refund["status"] == "REFUSED":
        raise RefundRefused(str(refund.get("message") or "The payment provider refused this refund"))
    try:
        channel = payments.channels(payment["channel"])
    except NotFound:
        raise DependencyUnavailable(f"The {payment['channel']} channel is not configured") from None
    try:
        result = channel.refund(payment_id, refund_id, int(refund["amount_fen"]), payment["amount_fen"])
    except RefundRefused as refused:
        _settle_refund(payments, payment_id, refund_id, "REFUSED", {"message": refused.message})
        metrics.add_metric(name="RefundsRefused", unit="Count", value=1)
        raise
    except DependencyUnavailable:
        metrics.add_metric(name="RefundsUnreachable", unit="Count", value=1)
        raise
    _settle_refund(payments, payment_id, refund_id, result.status, {"provider_refund_id": result.provider_refund_id})
    metrics.add_metric(name="Refunds" if result.status == "SUCCESS" else "RefundsProcessing", unit="Count", value=1)
    return result.status


def refund_order_payment(
    payments: Payments, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str = ""
) -> str:
    """For the order refund saga: refund amount_fen of the payment that paid this order (order["payment"]
    ["payment_id"]) through its channel, once per refund_id. "SUCCESS" or "PROCESSING" (call again later with the
    same refund_id for the new state); DependencyUnavailable while the provider cannot be reached (retry);
    chalicelib.payments.channels.RefundRefused (409) when it refuses, or more than what is left is asked."""
    payment_id = str((order.get("payment") or {}).get("payment_id") or "")
    if not payment_id:
        raise InvalidState("This order was not paid")
    return refund_payment(payments, payment_id, refund_id, amount_fen, reason, str(order["order_id"]))


def notify_error_is_retryable(error: DomainError) -> bool:
    """Whether the provider should notify again (our failure) rather than be told its notify is refused."""
    return error.status >= 500
