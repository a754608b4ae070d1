"""What buyers and the admin do with orders: read them, pay (through payments), cancel, ship, receive, ask for a
refund and decide it; and what the rest of the shop asks of a buyer's orders. Each status change is one step of
the order's life (chalicelib/orders/domain.py), written conditionally with its due time: the order sweeper acts when
that time comes, and the payment task of the order's execution is answered from the orders table's stream
(chalicelib/orders/outbox.py), never here.

Placing an order is chalicelib/orders/placing.py; the execution's own tasks are chalicelib/orders/tasks.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.analytics import emitter as analytics
from chalicelib.cart.repository import CartRepository
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.errors import Conflict, InvalidState, NotFound
from chalicelib.ids import new_id
from chalicelib.logistics.kuaidi100 import carrier_code
from chalicelib.logistics.repository import FreightTemplates, NoFreightTemplates, ParcelRepository
from chalicelib.membership.domain import growth_for_paid, growth_taken_back
from chalicelib.membership.repository import MembershipRepository
from chalicelib.membership.service import level_cache
from chalicelib.observability import logger
from chalicelib.orders.deadlines import OrderTimers, deadline_after
from chalicelib.orders.domain import (
    CANCELLED,
    FINAL_STATUSES,
    PAID,
    PENDING_PAYMENT,
    REFUNDING,
    NotAllowed,
    Order,
    OrderEvent,
    Refund,
    next_status,
    refund_amount_fen,
    refund_refusal,
)
from chalicelib.orders.open_payments import NoOpenPayments, OpenPayments
from chalicelib.orders.repository import OrdersRepository
from chalicelib.orders.schemas import OrdersQuery, RefundRejection, RefundRequest, RefundsQuery, ShipmentWrite
from chalicelib.orders.steps import Step, step
from chalicelib.orders.workflow import OrderWorkflow
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.points.repository import PointsRepository
from chalicelib.pricing.promotion import RunningPromotions, no_promotions
from chalicelib.profile.repository import ProfileRepository


class PaymentRefunds(Protocol):
    def refund(self, order: Order, refund_id: str, amount_fen: int, reason: str) -> str:
        """Refund through the channel that took the order's payment: "SUCCESS" or "PROCESSING"; the same refund_id
        again answers that refund's state and never refunds twice. DependencyUnavailable while the provider cannot
        be reached; chalicelib.payments.channels.RefundRefused when it refuses."""


class FlashUnits(Protocol):
    def give_back(self, order: Order) -> str:
        """A flash-sale order was cancelled unpaid: its units back to the session's `remaining` (or to the SKU once
        the session has ended) and the buyer's limit freed, once however often it is asked; says what it did."""


class NoFlashSales:
    """FlashUnits of a shop without flash sales (tests of orders alone)."""

    def give_back(self, order: Order) -> str:
        return "no_flash_sales"


@dataclass(frozen=True)
class Shop:
    """What an order touches: its repository, the catalog, the buyer's profile, cart, coupons and points, its
    Step Functions executions (payment wait, refund), the payments that refund it, the promotions it prices with,
    and its timers."""

    orders: OrdersRepository
    catalog: CatalogRepository
    profile: ProfileRepository
    cart: CartRepository
    coupons: CouponsRepository
    points: PointsRepository
    workflow: OrderWorkflow
    refunds: PaymentRefunds
    promotions: RunningPromotions = no_promotions  # the promotions running at a moment: what orders price with
    timers: OrderTimers = field(default_factory=OrderTimers)
    flash_units: FlashUnits = field(default_factory=NoFlashSales)  # where a cancelled flash-sale unit goes back
    membership: MembershipRepository | None = None  # the members club (None: no member prices, no growth)
    open_payments: OpenPayments = field(default_factory=NoOpenPayments)  # queried before cancelling, closed after
    parcels: ParcelRepository | None = None  # the parcels kuaidi100 reports on (None: no carrier events)
    freight: FreightTemplates = field(default_factory=NoFreightTemplates)  # what shipping is priced with


def growth_earned(shop: Shop, order: Order) -> int:
    """The members club's growth the order earns when paid: per whole yuan of its goods (shipping excluded)."""
    if shop.membership is None:
        return 0
    rate = int(level_cache.get(shop.membership)["rules"]["growth_per_yuan"])
    return growth_for_paid(order.payable_fen - order.shipping_fen, rate)


def growth_returned(shop: Shop, order: Order, refund: Refund) -> int:
    """What a refund takes back (as a negative delta): the order's growth pro rata to the goods refunded, never more
    than the member has."""
    if shop.membership is None:
        return 0
    goods_fen = order.payable_fen - order.shipping_fen
    taken = growth_taken_back(growth_earned(shop, order), min(refund.amount_fen, goods_fen), goods_fen)
    return -min(taken, shop.membership.growth(order.user_id)) if taken else 0


def emit_order_event(name: str, order: Order, **details: Any) -> None:
    """The one place order facts leave for analytics: order_placed, order_paid, order_received, order_settled,
    order_refunded (a structured log line and an analytics event, which never fails the caller)."""
    logger.info(
        "order event", extra={"order_event": name, "order_id": order.order_id, "user_id": order.user_id, **details}
    )
    analytics.emit_as(analytics.order_fact, name, order.record(), details)


def owned(shop: Shop, user_id: str | None, order_id: str) -> Order:
    """The order (user_id None: any, for the admin and the tasks); 404 for another user's."""
    order = shop.orders.order(order_id)
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound("No such order")
    return order


def due(shop: Shop, order: Order, refund: Refund | None = None, **changes: Any) -> str:
    """The due time (ISO) of the order once these changes are made: its new status's deadline."""
    deadline = deadline_after(order, refund, shop.timers.durations(), **changes)
    return iso(deadline if deadline is not None else utcnow())


def open_refund(shop: Shop, order: Order) -> Refund | None:
    """The refund a REFUNDING order waits on (None in any other status)."""
    if order.status != REFUNDING or not order.refund_id:
        return None
    return shop.orders.refund(order.refund_id)


# -- reads -------------------------------------------------------------------------------------------------------


def get_order(shop: Shop, user_id: str | None, order_id: str) -> dict[str, Any]:
    """The order (user_id None: any order, for the admin); another user's is 404."""
    return owned(shop, user_id, order_id).view(admin=user_id is None)


def list_orders(shop: Shop, user_id: str, query: OrdersQuery) -> dict[str, Any]:
    """A user's own orders, newest first, optionally in one status (the admin's search: admin_search.py)."""
    index, hash_key = ("user_status", f"{user_id}#{query.status}") if query.status else ("user", user_id)
    scope = f"my-orders:{user_id}:{query.status or ''}"
    start = decode_cursor(query.cursor, scope)
    items, last = shop.orders.orders_page(index, hash_key, query.page_size, start)
    return page([order.view() for order in items], encode_cursor(last, scope))


# -- status changes ----------------------------------------------------------------------------------------------


def next_step(
    shop: Shop,
    order: Order,
    event: OrderEvent,
    refund: Refund | None = None,
    at: str | None = None,
    coupon_back: str | None = None,
    growth: int = 0,
    **fields: Any,
) -> Step:
    """The step `event` takes the order by now (or `at`), setting these fields, due at its next status's deadline
    (none once final), giving back `coupon_back` when it gives a coupon back; NotAllowed (409) in a status that does
    not allow it."""
    at = at or iso(utcnow())
    status = next_status(order, event, refund)
    timeline = (*order.timeline, {"status": status, "at": at})
    next_due = (
        None if status in FINAL_STATUSES else due(shop, order, refund, status=status, timeline=timeline, **fields)
    )
    return step(order, event, at, next_due, refund=refund, coupon_back=coupon_back, growth=growth, **fields)


def _advance(shop: Shop, order: Order, event: OrderEvent, **fields: Any) -> bool:
    """Take the order one step by `event` now; NotAllowed in a status that does not allow it, False when the order
    moved on between the read and the write."""
    return shop.orders.advance(next_step(shop, order, event, **fields))


def cancel_unpaid(shop: Shop, order: Order) -> bool:
    """PENDING_PAYMENT -> CANCELLED with the stock, the coupon and the points back, at once; False otherwise."""
    try:
        return _advance(shop, order, OrderEvent.CANCEL)
    except NotAllowed:
        return False


def cancel_unless_paid(shop: Shop, order: Order) -> bool:
    """cancel_unpaid, once each open payment's provider was asked: one reported paid pays the order instead."""
    if order.status == PENDING_PAYMENT and shop.open_payments.settle_before_cancel(order):
        return False
    return cancel_unpaid(shop, owned(shop, None, order.order_id) if order.status == PENDING_PAYMENT else order)


def cancel_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """PENDING_PAYMENT -> CANCELLED with stock, coupon and points back, unless a provider reports one of its
    payments paid (the order is PAID then); 409 INVALID_STATE in any other status."""
    order = owned(shop, user_id, order_id)
    if not cancel_unless_paid(shop, order):
        raise NotAllowed(f"An order that is {owned(shop, user_id, order_id).status} cannot be cancelled")
    return owned(shop, user_id, order_id).view()


def confirm_payment(
    shop: Shop, order_id: str, payment_id: str, amount_fen: int, paid_at: str | None = None
) -> dict[str, Any]:
    """For the payments integration: the order is PAID if it awaits payment, its pay_deadline has not passed and the
    amount is what it costs.

    Returns {"status": "PAID"} (again for the same payment: the same answer), or {"status": "CANCELLED",
    "refund_required": True} when the order was cancelled first, or when the payment came after the pay_deadline
    (then the order is cancelled now, if its timer has not done it yet, and "reason" is "PAID_AFTER_DEADLINE"): the
    payment must be refunded. 404 for no such order, 409 CONFLICT for another amount or an order paid by another
    payment. paid_at: when the provider's signed query answer says it was paid (asked before a cancel), else now."""
    order = owned(shop, None, order_id)
    if amount_fen != order.payable_fen:
        raise Conflict(f"The order costs {order.payable_fen} fen, not {amount_fen}")
    now = min(parse_iso(paid_at), utcnow()) if paid_at else utcnow()
    payment = {"payment_id": payment_id, "amount_fen": amount_fen, "paid_at": iso(now)}
    paid = order.status == PENDING_PAYMENT and _advance(
        shop, order, OrderEvent.PAY, at=iso(now), payment=payment, growth=growth_earned(shop, order)
    )
    if not paid:
        current = owned(shop, None, order_id)
        if current.status == PENDING_PAYMENT and parse_iso(current.pay_deadline) <= now:
            cancel_unpaid(shop, current)  # past its deadline: never PAID; cancelled now, as its timer would
            return {"order_id": order_id, "status": CANCELLED, "refund_required": True, "reason": "PAID_AFTER_DEADLINE"}
        if current.status == CANCELLED:
            return {"order_id": order_id, "status": CANCELLED, "refund_required": True}
        if (current.payment or {}).get("payment_id") == payment_id:
            return {"order_id": order_id, "status": current.status, "refund_required": False}
        raise Conflict("This order was paid by another payment")
    emit_order_event("order_paid", order, payment_id=payment_id, amount_fen=amount_fen)
    return {"order_id": order_id, "status": PAID, "refund_required": False}


def ship_order(shop: Shop, order_id: str, write: ShipmentWrite) -> dict[str, Any]:
    """PAID -> SHIPPED with the carrier and tracking number; 409 INVALID_STATE otherwise. A carrier kuaidi100 knows
    (its code or short name) gets its parcel registered first, so none of its pushes finds an unknown parcel (one
    parcel may carry several orders shipped together)."""
    order = owned(shop, None, order_id)
    code = carrier_code(write.carrier)
    at = iso(utcnow())  # one time for the shipment (its receipt timer counts from it) and the timeline's SHIPPED
    shipment = {"carrier": write.carrier, "carrier_code": code, "tracking_no": write.tracking_no, "shipped_at": at}
    if code and shop.parcels and order.status == PAID:
        parcel = {"order_id": order_id, "carrier_code": code, "tracking_no": write.tracking_no}
        shop.parcels.register({**parcel, "updated_at": at})
    if not shop.orders.advance(next_step(shop, order, OrderEvent.SHIP, at=at, shipment=shipment)):
        raise NotAllowed(f"An order that is {owned(shop, None, order_id).status} cannot be shipped")
    return get_order(shop, None, order_id)


def receive(shop: Shop, order: Order) -> bool:
    """SHIPPED -> RECEIVED (by the buyer, or when the receipt timer runs out); False otherwise."""
    try:
        return _advance(shop, order, OrderEvent.RECEIVE)
    except NotAllowed:
        return False


def receive_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """SHIPPED -> RECEIVED by the customer; 409 INVALID_STATE otherwise."""
    order = owned(shop, user_id, order_id)
    if not receive(shop, order):
        raise NotAllowed(f"An order that is {owned(shop, user_id, order_id).status} cannot be received")
    emit_order_event("order_received", order)
    return owned(shop, user_id, order_id).view()


# -- refunds -------------------------------------------------------------------------------------------------------


def open_case(shop: Shop, order: Order, refund: Refund) -> bool:
    """refund.from_status -> REFUNDING with the refund, at once; False if the order is no longer there."""
    changes = {"refund_id": refund.refund_id, "refund_from": refund.from_status, "refund_ids": [refund.refund_id]}
    opening = step(order, OrderEvent.REQUEST_REFUND, refund.requested_at, due(shop, order, refund, status=REFUNDING))
    version = int(order.after_sales.get("version") or 0)
    return shop.orders.open_refund(replace(opening, fields=changes, cases_version=version), refund)


def request_refund(shop: Shop, user_id: str, order_id: str, write: RefundRequest) -> dict[str, Any]:
    """PAID (refund_only) or SHIPPED / RECEIVED within the window (return_refund) -> REFUNDING with a PENDING
    refund, due at its automatic approval. A second open refund: 409."""
    order = owned(shop, user_id, order_id)
    window = shop.timers.review_window_seconds
    if (refused := refund_refusal(order, write.type, window, utcnow())) is not None:
        raise refused
    refund = Refund(
        refund_id=new_id("rf"),
        order_id=order_id,
        user_id=user_id,
        type=write.type,
        reason=write.reason,
        status="PENDING",
        from_status=order.status,
        amount_fen=refund_amount_fen(order, write.type),
        requested_at=iso(utcnow()),
        images=tuple(write.images or ()),
    )
    if not open_case(shop, order, refund):
        current = owned(shop, user_id, order_id)
        raise refund_refusal(current, write.type, window, utcnow()) or Conflict(
            "The order changed meanwhile; try again"
        )
    return refund.view()


def order_refunds(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """The refunds of one of my orders, oldest first."""
    order = owned(shop, user_id, order_id)
    return {"items": [refund.view() for refund in shop.orders.refunds_by_ids(list(order.refund_ids))]}


def list_refunds(shop: Shop, query: RefundsQuery) -> dict[str, Any]:
    """The admin's queue: refunds newest first, optionally in one status."""
    scope = f"admin-refunds:{query.status or ''}"
    items, last = shop.orders.refunds_page(query.status, query.page_size, decode_cursor(query.cursor, scope))
    return page([refund.view(admin=True) for refund in items], encode_cursor(last, scope))


def refund_of(shop: Shop, refund_id: str) -> Refund:
    refund = shop.orders.refund(refund_id)
    if refund is None:
        raise NotFound("No such refund")
    return refund


def approve(shop: Shop, refund: Refund) -> bool:
    """PENDING -> APPROVED: the refund is due through the channel at once; False if it was decided already."""
    at = iso(utcnow())
    return shop.orders.approve_refund(refund, at, due=at)


def approve_refund(shop: Shop, refund_id: str) -> dict[str, Any]:
    """PENDING -> APPROVED: the refund's execution (started from the outbox) refunds through the paying channel, then
    gives back; 409 otherwise."""
    if not approve(shop, refund_of(shop, refund_id)):
        raise InvalidState(f"A refund that is {refund_of(shop, refund_id).status} cannot be approved")
    return refund_of(shop, refund_id).view(admin=True)


def reject_refund(shop: Shop, refund_id: str, write: RefundRejection) -> dict[str, Any]:
    """PENDING -> REJECTED with the reason, and the order back in the status it came from, due when what was left of
    that status's timer runs out; 409 otherwise."""
    refund = refund_of(shop, refund_id)
    order = owned(shop, None, refund.order_id)
    rejected = refund.status == "PENDING" and order.status == REFUNDING and order.refund_id == refund.refund_id
    if rejected:  # back where it was, due when what was left of that status's timer runs out: never extended
        back = next_step(shop, order, OrderEvent.REJECT_REFUND, refund)
        rejected = shop.orders.reject_refund(back, refund, write.reason)
    if not rejected:
        raise InvalidState(f"A refund that is {refund_of(shop, refund_id).status} cannot be rejected")
    return refund_of(shop, refund_id).view(admin=True)
