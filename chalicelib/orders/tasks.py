"""What happens to an order when nobody acts, each step idempotent and conditional.

The order's execution (infra/statemachines/order.asl.json) lives for the payment wait only: it keeps the payment
token and, when the pay deadline passes first, compensates. The timers after payment (the ship deadline, automatic
receipt, the end of the return window, automatic approval of a refund) are the order sweeper's
(chalicelib/orders/sweeper.py), which runs the same tasks at the order's due time. An approved refund runs in its own
execution (infra/statemachines/refund.asl.json, named by the refund id): refund through the paying channel, then
give back. The sweeper also runs any of these steps when an execution failed to.

The exceptions below are the executions' Catch and Retry branches: their names are in the ASL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.ids import new_id
from chalicelib.observability import logger
from chalicelib.orders import aftersales, service
from chalicelib.orders.aftersales_domain import is_units_case, money_due
from chalicelib.orders.domain import (
    COMPLETED,
    FINAL_STATUSES,
    PAID,
    PENDING_PAYMENT,
    RECEIVED,
    REFUNDED,
    REFUNDING,
    SHIP_DEADLINE_REASON,
    SHIPPED,
    NotAllowed,
    Order,
    OrderEvent,
    Refund,
    coupon_given_back,
    holds_case_units,
    points_earned,
    refund_amount_fen,
)
from chalicelib.orders.service import Shop, emit_order_event, owned

MIN_TIMEOUT_SECONDS = 1


class OrderCancelled(Exception):
    """The order was cancelled before its payment task started waiting (the execution compensates and ends)."""


class OrderPaidMeanwhile(Exception):
    """The order was paid before its payment task started waiting (the execution goes on as paid)."""


class OrderNotReady(Exception):
    """A task found the order in a state it cannot act on yet (retried, then the dead-letter queue)."""


class OrderMovedOn(Exception):
    """A task found the order somewhere its step does not apply (moved on meanwhile): nothing to do there."""


class RefundRequested(Exception):
    """A timer found the order in an open refund case instead: the refund's own timer applies."""


class RefundRejectedMeanwhile(Exception):
    """The refund was rejected before the system could approve it."""


class RefundProcessing(Exception):
    """The payment channel accepted the refund but has not finished it: the task is retried with backoff."""


# -- starting ----------------------------------------------------------------------------------------------------------


def _seconds_until(deadline: datetime | None, default: int) -> int:
    if deadline is None:
        return default
    return max(int((deadline - utcnow()).total_seconds()), MIN_TIMEOUT_SECONDS)


def execution_input(order: Order) -> dict[str, Any]:
    """The execution's input: what is left of the pay deadline (an execution started late never extends it)."""
    return {
        "order_id": order.order_id,
        "payment_timeout_seconds": _seconds_until(parse_iso(order.pay_deadline), MIN_TIMEOUT_SECONDS),
    }


def start_execution(shop: Shop, order_id: str) -> str:
    """Start the payment wait of an unpaid order (named by its id: a second start changes nothing); "started", or
    "final" / "missing" / "paid" (no payment to wait for) when there is nothing to run."""
    order = shop.orders.order(order_id)
    if order is None:
        return "missing"
    if order.status in FINAL_STATUSES:
        return "final"
    if order.status != PENDING_PAYMENT:
        return "paid"
    shop.workflow.start(order_id, execution_input(order))
    return "started"


def start_refund(shop: Shop, refund_id: str) -> str:
    """Start the execution of an approved refund (named by the refund id: a second start changes nothing);
    "started", or "missing" / the refund's status in lower case when there is nothing to run."""
    refund = shop.orders.refund(refund_id)
    if refund is None:
        return "missing"
    if not money_due(refund):
        return refund.status.lower()
    shop.workflow.start_refund(refund_id, {"order_id": refund.order_id, "refund_id": refund_id})
    return "started"


# -- the payment wait --------------------------------------------------------------------------------------------------


def await_payment(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    """Keep the payment token, and check in: the order is due at its pay_deadline from now on (until then it was due
    at once, so the sweeper would have started a missing execution). Paid or cancelled already: say so, so the
    execution moves on."""
    order = owned(shop, None, order_id)
    if shop.orders.hold_token(order_id, "payment_token", token, PENDING_PAYMENT, due=order.pay_deadline):
        return {"waiting": True}
    status = owned(shop, None, order_id).status
    if status == "CANCELLED":
        raise OrderCancelled(order_id)
    if status == PAID:
        raise OrderPaidMeanwhile(order_id)
    raise OrderMovedOn(f"order {order_id} is {status}")  # paid and gone on already: the wait is over


def _raise_if_refunding(shop: Shop, order_id: str) -> str:
    status = owned(shop, None, order_id).status
    if status == REFUNDING:
        raise RefundRequested(order_id)
    return status


# -- timers running out ------------------------------------------------------------------------------------------------


def compensate(shop: Shop, order_id: str) -> dict[str, Any]:
    """Payment timed out or was cancelled: cancel with everything given back, unless a payment won the race."""
    order = owned(shop, None, order_id)
    if order.status == PENDING_PAYMENT and service.cancel_unless_paid(shop, order):  # asks the providers first
        return {"status": "CANCELLED"}
    status = owned(shop, None, order_id).status
    if status == PENDING_PAYMENT:
        raise OrderNotReady(f"order {order_id} could not be cancelled yet")
    return {"status": status}


def ship_deadline_passed(shop: Shop, order_id: str) -> dict[str, Any]:
    """The ship deadline ran out: a paid order nobody shipped is cancelled and refunded in full, through a refund the
    system opens already approved (its refund execution then pays back through the channel and gives back the stock
    and points; the outbox starts it and tells the buyer). Shipped or refunding meanwhile: that way instead."""
    order = owned(shop, None, order_id)
    if order.status == PAID and holds_case_units(order):
        # its open units cases are decided (or approved by the system) first: never refunded twice
        raise OrderNotReady(f"order {order_id} has units in open after-sales cases")
    if order.status == PAID:
        at = iso(utcnow())
        refund = Refund(
            refund_id=new_id("rf"),
            order_id=order_id,
            user_id=order.user_id,
            type="refund_only",
            reason=SHIP_DEADLINE_REASON,
            status="APPROVED",
            from_status=PAID,
            amount_fen=refund_amount_fen(order, "refund_only"),
            requested_at=at,
            decided_at=at,
            requested_by="system",
        )
        if service.open_case(shop, order, refund):
            return {"status": REFUNDING, "refund_id": refund.refund_id}
        order = owned(shop, None, order_id)
    if order.status == REFUNDING:
        refund = _current_refund(shop, order)
        if refund.status == "APPROVED":
            return {"status": REFUNDING, "refund_id": refund.refund_id}
        raise RefundRequested(order_id)
    raise OrderMovedOn(f"order {order_id} is {order.status}")


def auto_receive(shop: Shop, order_id: str) -> dict[str, Any]:
    """The receipt timer ran out: a shipped order is received (already received: nothing changes)."""
    order = owned(shop, None, order_id)
    if order.status == SHIPPED and service.receive(shop, order):
        emit_order_event("order_received", owned(shop, None, order_id))
    status = _raise_if_refunding(shop, order_id)
    if status != RECEIVED:
        raise OrderMovedOn(f"order {order_id} is {status}, not received")
    return {"status": status}


def settle(shop: Shop, order_id: str) -> dict[str, Any]:
    """The review window closed: COMPLETED with the points earned and the sales counted, all in one transaction
    (so a refund requested meanwhile wins cleanly and nothing is ever clawed back)."""
    order = owned(shop, None, order_id)
    if order.status == COMPLETED:
        return {"status": COMPLETED}
    if order.status == REFUNDING:
        raise RefundRequested(order_id)
    if order.status != RECEIVED:
        raise OrderMovedOn(f"order {order_id} is {order.status}, not received")
    at = iso(utcnow())
    if not shop.orders.advance(service.next_step(shop, order, OrderEvent.SETTLE, at=at, settled_at=at)):
        status = _raise_if_refunding(shop, order_id)
        if status == COMPLETED:
            return {"status": COMPLETED}
        raise OrderNotReady(f"order {order_id} could not be settled")
    earned = points_earned(order)
    emit_order_event("order_settled", order, points_earned=earned)
    return {"status": COMPLETED, "points_earned": earned}


# -- the refund's decision and its execution ---------------------------------------------------------------------------


def _current_refund(shop: Shop, order: Order, refund_id: str | None = None) -> Refund:
    """The refund of the order's case (and it must be `refund_id`'s when given: an execution acts on its own)."""
    refund = shop.orders.refund(order.refund_id) if order.refund_id else None
    if refund is None or (refund_id is not None and refund.refund_id != refund_id):
        raise OrderNotReady(f"order {order.order_id} has no refund {refund_id or ''}".rstrip())
    return refund


def auto_approve_refund(shop: Shop, order_id: str) -> dict[str, Any]:
    """Nobody decided the refund within AFTER_SALES_AUTO_APPROVE_SECONDS: the system approves it (decided meanwhile:
    that decision stands)."""
    refund = _current_refund(shop, owned(shop, None, order_id))
    if refund.status == "PENDING" and service.approve(shop, refund):
        logger.info("refund approved by the system", extra={"order_id": order_id, "refund_id": refund.refund_id})
        return {"decision": "APPROVED", "refund_id": refund.refund_id}
    refund = service.refund_of(shop, refund.refund_id)
    if refund.status == "REJECTED":
        raise RefundRejectedMeanwhile(refund.refund_id)
    if refund.status in ("APPROVED", "REFUNDED"):
        return {"decision": "APPROVED", "refund_id": refund.refund_id}
    raise OrderNotReady(f"refund {refund.refund_id} is {refund.status}")


def refund_payment(shop: Shop, order_id: str, refund_id: str | None = None) -> dict[str, Any]:
    """Approved: refund through the channel that took the payment (the refund id makes a retry the same refund)."""
    order = owned(shop, None, order_id)
    case = shop.orders.refund(refund_id) if refund_id else None
    if case is not None and is_units_case(case):
        return _pay_case(shop, order, case)
    refund = _current_refund(shop, order, refund_id)
    if refund.status == REFUNDED:
        return {"status": "SUCCESS", "refund_id": refund.refund_id}
    if order.status != REFUNDING or refund.status != "APPROVED":
        raise OrderNotReady(f"order {order_id} has no approved refund")
    if refund.amount_fen > 0:
        answer = shop.refunds.refund(order, refund.refund_id, refund.amount_fen, refund.reason)
        if answer == "PROCESSING":
            raise RefundProcessing(refund.refund_id)
        if answer != "SUCCESS":
            raise OrderNotReady(f"refund {refund.refund_id}: the channel answered {answer!r}")
    return {"status": "SUCCESS", "refund_id": refund.refund_id}


def complete_refund(shop: Shop, order_id: str, refund_id: str | None = None) -> dict[str, Any]:
    """Refunded through the channel: REFUNDED, with the stock and the points used back, and the coupon too when the
    whole order is refunded before it shipped (domain.coupon_given_back), once."""
    case = shop.orders.refund(refund_id) if refund_id else None
    if case is not None and is_units_case(case):
        if not aftersales.complete_case(shop, case.refund_id):
            raise OrderNotReady(f"refund {case.refund_id} is {case.status}, its money is not due")
        return {"status": REFUNDED}
    order = owned(shop, None, order_id)
    if order.status == REFUNDED:
        return {"status": REFUNDED}
    refund = _current_refund(shop, order, refund_id)
    coupon = shop.coupons.user_coupon(order.user_id, order.coupon_id) if order.coupon_id else None
    coupon_back = coupon_given_back(order, refund, coupon, utcnow())
    try:
        growth = service.growth_returned(shop, order, refund)
        done = service.next_step(
            shop, order, OrderEvent.COMPLETE_REFUND, refund, coupon_back=coupon_back, growth=growth
        )
    except NotAllowed:
        raise OrderNotReady(f"order {order_id} is {order.status}, not refunding") from None
    if not shop.orders.complete_refund(done, refund):
        if owned(shop, None, order_id).status == REFUNDED:
            return {"status": REFUNDED}
        raise OrderNotReady(f"order {order_id} could not be refunded")
    emit_order_event("order_refunded", order, refund_id=refund.refund_id, amount_fen=refund.amount_fen)
    return {"status": REFUNDED}


def _pay_case(shop: Shop, order: Order, case: Refund) -> dict[str, Any]:
    """A units case whose money is due: its amount through the paying channel (once per refund id)."""
    if case.status == REFUNDED:
        return {"status": "SUCCESS", "refund_id": case.refund_id}
    if not money_due(case):
        raise OrderNotReady(f"refund {case.refund_id} is {case.status}, its money is not due")
    if case.amount_fen > 0:
        answer = shop.refunds.refund(order, case.refund_id, case.amount_fen, case.reason)
        if answer == "PROCESSING":
            raise RefundProcessing(case.refund_id)
        if answer != "SUCCESS":
            raise OrderNotReady(f"refund {case.refund_id}: the channel answered {answer!r}")
    return {"status": "SUCCESS", "refund_id": case.refund_id}
