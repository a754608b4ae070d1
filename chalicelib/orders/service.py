"""Order rules: placing an order (priced on the server, stock, coupon and points taken at once, idempotent by key),
its status changes (pay, cancel, ship, receive, settle), its refunds and returns, and the tasks of its Step Functions
execution."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.analytics import emitter as analytics
from chalicelib.cart import service as cart_service
from chalicelib.cart.repository import CartRepository
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.coupons import service as coupons_service
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.errors import Conflict, DomainError, InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.ids import new_id
from chalicelib.observability import logger
from chalicelib.orders.carrier import carrier_for
from chalicelib.orders.domain import OrderTimers
from chalicelib.orders.repository import MAX_LINES, OrdersRepository, PlacementRefused
from chalicelib.orders.schemas import (
    OrderCreate,
    OrderPreviewRequest,
    OrdersQuery,
    RefundRejection,
    RefundRequest,
    RefundsQuery,
    ShipmentWrite,
)
from chalicelib.orders.workflow import OrderWorkflow
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.points.domain import NotEnoughPoints
from chalicelib.points.repository import PointsRepository
from chalicelib.points.rules import points_earned_for
from chalicelib.pricing import checkout as pricing
from chalicelib.pricing.model import Checkout, Quote
from chalicelib.pricing.promotion import RunningPromotions, no_promotions
from chalicelib.profile import service as profile_service
from chalicelib.profile.repository import ProfileRepository

MAX_KEY_CHARS = 255
PUBLIC_FIELDS = ("order_id", "order_no", "status", "items", "amounts", "pay_deadline", "created_at", "address",
                 "remark", "coupon_id", "points_used", "timeline", "shipment", "refund_id")  # fmt: skip
REFUND_FIELDS = ("refund_id", "order_id", "type", "reason", "status", "amount_fen", "requested_at", "decided_at",
                 "reject_reason", "refunded_at")  # fmt: skip
REFUNDABLE_FROM = {"refund_only": ("PAID",), "return_refund": ("SHIPPED", "RECEIVED")}
# The task token an execution waits on in each status a refund may interrupt.
WAITING_TOKEN = {"PAID": "shipment_token", "SHIPPED": "receipt_token", "RECEIVED": "window_token"}
FINAL_STATUSES = frozenset({"CANCELLED", "COMPLETED", "REFUNDED"})
MIN_TIMEOUT_SECONDS = 1
SHIP_DEADLINE_REASON = "未在发货期限内发货，系统自动取消并退款"


class OrderCancelled(Exception):
    """The order was cancelled before its payment task started waiting (the execution compensates and ends)."""


class OrderPaidMeanwhile(Exception):
    """The order was paid before its payment task started waiting (the execution goes on as paid)."""


class OrderShippedMeanwhile(Exception):
    """The order was shipped before its shipment task started waiting."""


class OrderReceivedMeanwhile(Exception):
    """The order was received before its receipt task started waiting."""


class OrderNotReady(Exception):
    """A task found the order in a state it cannot act on yet (retried, then the dead-letter queue)."""


class OrderMovedOn(Exception):
    """A task found the order somewhere its branch does not lead (moved on meanwhile, e.g. by the sweeper): the
    execution asks where the order is now and goes there."""


class RefundRequested(Exception):
    """A refund was requested while the execution waited (or before its task stored its token): it turns to the
    refund's decision."""


class RefundApprovedMeanwhile(Exception):
    """The refund was approved before the decision task stored its token: the execution refunds."""


class RefundRejectedMeanwhile(Exception):
    """The refund was rejected before the decision task stored its token: the execution resumes where it was."""


class RefundProcessing(Exception):
    """The payment channel accepted the refund but has not finished it: the task is retried with backoff."""


class PaymentRefunds(Protocol):
    def refund(self, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str) -> str:
        """Refund through the channel that took the order's payment: "SUCCESS" or "PROCESSING"; the same refund_id
        again answers that refund's state and never refunds twice. DependencyUnavailable while the provider cannot
        be reached; chalicelib.payments.channels.RefundRefused when it refuses."""


@dataclass(frozen=True)
class Shop:
    """The repositories and the workflow an order touches."""

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


def public_view(order: dict[str, Any]) -> dict[str, Any]:
    return {name: order.get(name) for name in PUBLIC_FIELDS}


def body_hash(body: OrderCreate) -> str:
    """The body's digest for the Idempotency-Key: an omitted coupon_id (the best one) is not a null one (none)."""
    fields = body.model_dump(mode="json")
    if "coupon_id" not in body.model_fields_set:
        del fields["coupon_id"]
    if body.expected_payable_fen is None:
        del fields["expected_payable_fen"]  # a body without it hashes as it did before the field existed
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
        raise ValidationError(
            "The Idempotency-Key header is required (1..255 printable characters)",
            errors=[{"field": "Idempotency-Key", "message": "Send this header with 1..255 printable characters."}],
        )
    return key


def _replay(shop: Shop, user_id: str, key: str, digest: str) -> dict[str, Any] | None:
    record = shop.orders.idempotency(user_id, key)
    if record is None:
        return None
    if record["body_hash"] != digest:
        raise Conflict("This Idempotency-Key was used with a different request body")
    order = shop.orders.order(record["order_id"])
    if order is None:  # the key and its order are written in one transaction
        raise Conflict("The order of this Idempotency-Key is not readable yet; try again")
    return public_view(order)


def _wanted_lines(shop: Shop, user_id: str, body: OrderCreate | OrderPreviewRequest) -> list[tuple[str, int]]:
    if body.from_cart:
        lines = cart_service.selected_lines(shop.cart, user_id)
        if not lines:
            raise InvalidState("No selected lines in the cart")
    else:
        lines = [(line.sku_id, line.quantity) for line in body.items or []]
    merged: dict[str, int] = {}
    for sku_id, quantity in lines:
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    if len(merged) > MAX_LINES:
        raise ValidationError(f"At most {MAX_LINES} different SKUs per order")
    return list(merged.items())


def _order_no(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"


def create_order(shop: Shop, user_id: str, key: str | None, body: OrderCreate) -> dict[str, Any]:
    """POST /orders: an order from the catalog's prices; the same key and body again returns the same order.

    The key is looked up only when placing fails: the transaction's own condition on the key refuses a second
    order, and a retry that can no longer be placed (stock sold, cart emptied, coupon taken by the first order)
    is answered with the original order. The common path reads twice: the address and the SKUs."""
    key = check_key(key)
    digest = body_hash(body)
    try:
        return _place_new(shop, user_id, key, digest, body)
    except DomainError:
        if (replayed := _replay(shop, user_id, key, digest)) is not None:
            return replayed
        raise


@dataclass(frozen=True)
class _PricedOrder:
    """An order body priced through the one pricing path, before anything is written."""

    wanted: list[tuple[str, int]]
    skus: dict[str, dict[str, Any]]
    address: dict[str, Any] | None
    balance: int
    checkout: Checkout


def _price_order(shop: Shop, user_id: str, body: OrderCreate | OrderPreviewRequest, now: datetime) -> _PricedOrder:
    """What placing this body would charge now, or the refusal placing it would get: the order and its preview both
    come through here, so they agree to the fen and refuse alike (404 SKU or address, 409 OUT_OF_STOCK, 409
    COUPON_NOT_APPLICABLE, 409 PRICE_CHANGED, ...). Reads only."""
    wanted = _wanted_lines(shop, user_id, body)
    promotions = shop.promotions(now)
    address = _address_of(shop, user_id, body.address_id)
    skus = shop.catalog.skus_by_ids([sku_id for sku_id, _ in wanted])
    missing = [sku_id for sku_id, _ in wanted if sku_id not in skus]
    if missing:
        raise NotFound(f"No such SKU: {', '.join(missing)}", sku_ids=missing)
    off_sale = [sku_id for sku_id, _ in wanted if not skus[sku_id]["on_sale"]]
    if off_sale:
        raise InvalidState(f"Not on sale: {', '.join(off_sale)}", sku_ids=off_sale)
    short = [sku_id for sku_id, quantity in wanted if int(skus[sku_id]["stock"]) < quantity]
    if short:
        raise OutOfStock(f"Not enough stock: {', '.join(short)}", sku_ids=short)
    lines = pricing.priced_lines(shop.catalog, [skus[sku_id] for sku_id, _ in wanted], dict(wanted), promotions, now)
    balance = shop.points.balance(user_id) or 0
    priced = pricing.price(lines, promotions, pricing.StoredCoupons(shop.coupons), user_id,
                           coupon=body.coupon_request(), points=body.points, balance=balance,
                           ships=address is not None, now=now)  # fmt: skip
    pricing.check_expected(priced, body.expected_payable_fen)
    return _PricedOrder(wanted=wanted, skus=skus, address=address, balance=balance, checkout=priced)


def _address_of(shop: Shop, user_id: str, address_id: str | None) -> dict[str, Any] | None:
    """The named address (404 if not the user's), else the default one, else None (a preview's only)."""
    if address_id is not None:
        return profile_service.get_address(shop.profile, user_id, address_id)
    default_id = shop.profile.address_book(user_id).default_id
    return shop.profile.address(user_id, default_id) if default_id else None


def _amounts(priced: Quote) -> dict[str, int]:
    return {
        "items_fen": priced.items_fen,
        "discount_fen": priced.discount_fen,
        "promotion_discount_fen": priced.promotion_discount_fen,
        "coupon_discount_fen": priced.coupon_discount_fen,
        "points_deduction_fen": priced.points_deduction_fen,
        "shipping_fen": priced.shipping_fen,
        "payable_fen": priced.payable_fen,
    }


def preview_order(shop: Shop, user_id: str, body: OrderPreviewRequest) -> dict[str, Any]:
    """POST /orders/preview: the lines and amounts POST /orders would charge for this body now, the coupons that
    apply or why not, and the points usable; writes and reserves nothing."""
    order = _price_order(shop, user_id, body, utcnow())
    priced = order.checkout.quote
    return {
        "items": [_snapshot(line, order.skus[line.sku_id]) for line in priced.lines],
        "amounts": _amounts(priced),
        "coupon_id": priced.coupon.coupon_id if priced.coupon else None,
        "coupons": {
            "applicable": [
                {"coupon_id": v.offer.coupon_id, "name": v.offer.name, "discount_fen": v.discount_fen}
                for v in order.checkout.applicable
            ],
            "unavailable": [
                {"coupon_id": v.offer.coupon_id, "name": v.offer.name, "reason": v.reason or ""}
                for v in order.checkout.unavailable
            ],
        },
        "points": {
            "balance": order.balance,
            "max_usable": pricing.max_usable_points(order.checkout, order.balance),
            "used": priced.points_used,
            "deduction_fen": priced.points_deduction_fen,
        },
        "address_id": order.address["address_id"] if order.address else None,
    }


def _place_new(shop: Shop, user_id: str, key: str, digest: str, body: OrderCreate) -> dict[str, Any]:
    now = utcnow()
    placing = _price_order(shop, user_id, body, now)
    wanted, skus, priced = placing.wanted, placing.skus, placing.checkout.quote
    order_id = new_order_id()
    created_at = iso(now)
    order = {
        "order_id": order_id,
        "order_no": _order_no(now),
        "user_id": user_id,
        "status": "PENDING_PAYMENT",
        "created_at": created_at,
        "created_key": f"{created_at}#{order_id}",
        "pay_deadline": iso(now + timedelta(seconds=shop.timers.payment_timeout_seconds)),
        "items": [_snapshot(line, skus[line.sku_id]) for line in priced.lines],
        "amounts": _amounts(priced),
        "address": placing.address,
        "remark": body.remark,
        "coupon_id": priced.coupon.coupon_id if priced.coupon else None,
        "points_used": priced.points_used,
        "timeline": [{"status": "PENDING_PAYMENT", "at": created_at}],
        "shipment": None,
        # The outbox: the orders stream starts the execution from this write; until the execution's payment task
        # checks in (moving it to pay_deadline) the order is due at once, so the sweeper repairs a missed start.
        "due_at": created_at,
    }
    try:
        shop.orders.place(order, key, digest)
    except PlacementRefused:
        _explain_refusal(shop, user_id, wanted, priced.coupon.coupon_id if priced.coupon else None, priced.points_used)
        raise
    if body.from_cart:
        cart_service.remove_lines(shop.cart, user_id, [sku_id for sku_id, _ in wanted])
    emit_order_event("order_placed", order)
    return public_view(order)


def new_order_id() -> str:
    from chalicelib.ids import new_id

    return new_id("o")


def state_deadline(order: dict[str, Any], refund: dict[str, Any] | None, durations: dict[str, int]) -> datetime | None:
    """When the timer of the order's status runs out, from the times the order recorded (None: a final status).

    Unpaid: its pay_deadline; paid: the ship deadline; shipped: automatic receipt; received: the end of the return
    window; refunding: the automatic approval of a pending refund, or at once for an approved one (its refund is
    due through the channel now)."""
    status = order["status"]
    if status == "PENDING_PAYMENT":
        return parse_iso(order["pay_deadline"])
    if status == "PAID":
        paid_at = (order.get("payment") or {}).get("paid_at") or order["created_at"]
        return parse_iso(paid_at) + timedelta(seconds=durations["ship_deadline_seconds"])
    if status == "SHIPPED":
        return parse_iso(order["shipment"]["shipped_at"]) + timedelta(seconds=durations["auto_receive_seconds"])
    if status == "RECEIVED":
        return _received_at(order) + timedelta(seconds=durations["review_window_seconds"])
    if status == "REFUNDING" and refund is not None:
        if refund["status"] == "PENDING":
            approve_after = timedelta(seconds=durations["after_sales_auto_approve_seconds"])
            return parse_iso(refund["requested_at"]) + approve_after
        return parse_iso(refund.get("decided_at") or refund["requested_at"])
    return None


def _due(shop: Shop, order: dict[str, Any], refund: dict[str, Any] | None = None, **changes: Any) -> str:
    """The due time (ISO) of the order once these changes are made: its new status's deadline."""
    deadline = state_deadline({**order, **changes}, refund, shop.timers.durations())
    return iso(deadline if deadline is not None else utcnow())


def _seconds_until(deadline: datetime | None, default: int) -> int:
    if deadline is None:
        return default
    return max(int((deadline - utcnow()).total_seconds()), MIN_TIMEOUT_SECONDS)


def timers_left(order: dict[str, Any], refund: dict[str, Any] | None, durations: dict[str, int]) -> dict[str, int]:
    """What each wait of the execution uses: the whole duration, but what is left of it for the order's status (a
    rejected refund, or an execution started late by the sweeper, never extends a timer)."""
    deadline = state_deadline(order, refund, durations)
    status = order["status"]
    return {
        "shipment": _seconds_until(deadline if status == "PAID" else None, durations["ship_deadline_seconds"]),
        "receipt": _seconds_until(deadline if status == "SHIPPED" else None, durations["auto_receive_seconds"]),
        "window": _seconds_until(deadline if status == "RECEIVED" else None, durations["review_window_seconds"]),
        "decision": _seconds_until(
            deadline if status == "REFUNDING" else None, durations["after_sales_auto_approve_seconds"]
        ),
    }


def execution_input(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    """The execution's input: the durations as set now, and in `timeouts` what each wait uses (the time left of
    the order's current status when the execution starts late)."""
    durations = shop.timers.durations()
    refund = open_refund(shop, order)
    return {
        "order_id": order["order_id"],
        "payment_timeout_seconds": _seconds_until(parse_iso(order["pay_deadline"]), MIN_TIMEOUT_SECONDS),
        **durations,
        "timeouts": timers_left(order, refund, durations),
    }


def open_refund(shop: Shop, order: dict[str, Any]) -> dict[str, Any] | None:
    """The refund a REFUNDING order waits on (None in any other status)."""
    if order["status"] != "REFUNDING" or not order.get("refund_id"):
        return None
    return shop.orders.refund(str(order["refund_id"]))


def start_execution(shop: Shop, order_id: str) -> str:
    """Start the order's execution (named by its id: a second start changes nothing); "started", or "final" /
    "missing" when there is nothing to run."""
    order = shop.orders.order(order_id)
    if order is None:
        return "missing"
    if order["status"] in FINAL_STATUSES:
        return "final"
    shop.workflow.start(order_id, execution_input(shop, order))
    return "started"


def emit_order_event(name: str, order: dict[str, Any], **details: Any) -> None:
    """The one place order facts leave for analytics (issue 7 publishes them; until then a structured log line):
    order_paid, order_settled, order_refunded."""
    logger.info("order event", extra={"order_event": name, "order_id": order["order_id"],
                                      "user_id": order["user_id"], **details})  # fmt: skip
    analytics.emit_as(analytics.order_fact, name, order, details)  # never raises


def _snapshot(line: Any, sku: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku_id": line.sku_id,
        "product_id": product_id_of_sku(line.sku_id),
        "title": sku["title"],
        "attributes": dict(sku.get("attributes") or {}),
        "image_url": sku.get("image_url"),
        "quantity": line.quantity,
        "list_price_fen": line.list_price_fen,
        "unit_price_fen": line.unit_price_fen,
        "promotion_id": line.promotion_id,
        "line_total_fen": line.total_fen,
        "payable_fen": line.payable_fen,
    }


def _explain_refusal(
    shop: Shop, user_id: str, wanted: list[tuple[str, int]], coupon_id: str | None, points: int
) -> None:
    """Why the order's transaction was refused, read back (its cancellation reasons do not say in a stable order).

    A refusal by the key's own condition (a concurrent request with the same key won) is answered by create_order,
    which looks the key up whenever placing fails."""
    skus = shop.catalog.skus_by_ids([sku_id for sku_id, _ in wanted])
    short = [sku_id for sku_id, quantity in wanted if int((skus.get(sku_id) or {}).get("stock", 0)) < quantity]
    if short:
        raise OutOfStock(f"Not enough stock: {', '.join(short)}", sku_ids=short)
    if coupon_id:
        coupons_service.usable_offer(shop.coupons, user_id, coupon_id)  # raises if it is no longer usable
    held = shop.points.balance(user_id) or 0
    if points and held < points:
        raise NotEnoughPoints(f"You have {held} points now, fewer than the {points} this order uses: preview it again")
    raise Conflict("The order changed meanwhile; try again")


# -- reads -------------------------------------------------------------------------------------------------------


def _owned(shop: Shop, user_id: str | None, order_id: str) -> dict[str, Any]:
    order = shop.orders.order(order_id)
    if order is None or (user_id is not None and order["user_id"] != user_id):
        raise NotFound("No such order")
    return order


def get_order(shop: Shop, user_id: str | None, order_id: str) -> dict[str, Any]:
    """The order (user_id None: any order, for the admin); another user's is 404."""
    order = _owned(shop, user_id, order_id)
    return {**public_view(order), **({"user_id": order["user_id"]} if user_id is None else {})}


def list_orders(shop: Shop, user_id: str | None, query: OrdersQuery) -> dict[str, Any]:
    """Newest first; a user's own (user_id) or everyone's (None), optionally in one status."""
    if user_id is None:
        index, hash_key = ("status", query.status) if query.status else ("all", "ORDERS")
        scope = f"admin-orders:{query.status or ''}"
    else:
        index, hash_key = ("user_status", f"{user_id}#{query.status}") if query.status else ("user", user_id)
        scope = f"my-orders:{user_id}:{query.status or ''}"
    start = decode_cursor(query.cursor, scope)
    items, last = shop.orders.orders_page(index, hash_key, query.page_size, start)
    views = [get_order_view(order, admin=user_id is None) for order in items]
    return page(views, encode_cursor(last, scope))


def get_order_view(order: dict[str, Any], admin: bool) -> dict[str, Any]:
    return {**public_view(order), **({"user_id": order["user_id"]} if admin else {})}


def tracking(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """The carrier's events for a shipped order; 409 INVALID_STATE before it ships."""
    order = _owned(shop, user_id, order_id)
    shipment = order.get("shipment")
    if not shipment:
        raise InvalidState("This order has not been shipped yet")
    shipped_at = parse_iso(shipment["shipped_at"])
    events = carrier_for(str(shipment["carrier"])).tracking(str(shipment["tracking_no"]), shipped_at, utcnow())
    return {"order_id": order_id, "carrier": shipment["carrier"], "tracking_no": shipment["tracking_no"],
            "events": events}  # fmt: skip


# -- the buyer's account ---------------------------------------------------------------------------------------

OPEN_STATUSES = ("PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED", "REFUNDING")  # not final: COMPLETED, CANCELLED,
# REFUNDED. REFUNDING is an open after-sales case; RECEIVED is still in its return window.
KEPT_ADDRESS_FIELDS = ("province",)  # what the books (and the order export) keep of a deleted buyer's address


def has_orders_in_progress(shop: Shop, user_id: str) -> bool:
    """Whether the user has an order not yet final or an open after-sales case (one Query of at most one item per
    open status, on gsi_user_status)."""
    return any(shop.orders.orders_page("user_status", f"{user_id}#{status}", 1, None)[0] for status in OPEN_STATUSES)


def forget_buyer(shop: Shop, user_id: str) -> int:
    """The user deleted their account: their orders stay for the books without the receiver's name, phone, street
    address or remark (only the province stays). Idempotent; returns how many orders changed."""
    changed, start = 0, None
    while True:
        orders, start = shop.orders.orders_page("user", user_id, 100, start)
        for order in orders:
            address = order.get("address") or {}
            kept = {name: address[name] for name in KEPT_ADDRESS_FIELDS if address.get(name)}
            if address != kept or order.get("remark"):
                shop.orders.forget_buyer(order["order_id"], kept)
                changed += 1
        if not start:
            return changed


# -- status changes ----------------------------------------------------------------------------------------------


# Every status change below is a conditional write that also sets when the order is next due (gsi_due). The waiting
# task it answers is answered from the orders table's stream (chalicelib/orders/outbox.py), never here.


def cancel_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """PENDING_PAYMENT -> CANCELLED with stock, coupon and points back; 409 INVALID_STATE in any other status."""
    order = _owned(shop, user_id, order_id)
    if not shop.orders.cancel(order, iso(utcnow())):
        current = _owned(shop, user_id, order_id)
        raise InvalidState(f"An order that is {current['status']} cannot be cancelled")
    return public_view(_owned(shop, user_id, order_id))


def confirm_payment(shop: Shop, order_id: str, payment_id: str, amount_fen: int) -> dict[str, Any]:
    """For the payments integration: the order is PAID if it awaits payment, its pay_deadline has not passed and the
    amount is what it costs.

    Returns {"status": "PAID"} (again for the same payment: the same answer), or {"status": "CANCELLED",
    "refund_required": True} when the order was cancelled first, or when the payment came after the pay_deadline
    (then the order is cancelled now, if its timer has not done it yet, and "reason" is "PAID_AFTER_DEADLINE"): the
    payment must be refunded. 404 for no such order, 409 CONFLICT for another amount or an order paid by another
    payment."""
    order = _owned(shop, None, order_id)
    if amount_fen != order["amounts"]["payable_fen"]:
        raise Conflict(f"The order costs {order['amounts']['payable_fen']} fen, not {amount_fen}")
    now = utcnow()
    paid_at = iso(now)
    payment = {"payment_id": payment_id, "amount_fen": amount_fen, "paid_at": paid_at}
    if not shop.orders.pay(order, payment, paid_at, _due(shop, order, status="PAID", payment=payment)):
        current = _owned(shop, None, order_id)
        if current["status"] == "PENDING_PAYMENT" and parse_iso(current["pay_deadline"]) <= now:
            compensate(shop, order_id)  # past its deadline: never PAID; cancelled now, as its timer would
            return {"order_id": order_id, "status": "CANCELLED", "refund_required": True,
                    "reason": "PAID_AFTER_DEADLINE"}  # fmt: skip
        if current["status"] == "CANCELLED":
            return {"order_id": order_id, "status": "CANCELLED", "refund_required": True}
        if (current.get("payment") or {}).get("payment_id") == payment_id:
            return {"order_id": order_id, "status": current["status"], "refund_required": False}
        raise Conflict("This order was paid by another payment")
    emit_order_event("order_paid", order, payment_id=payment_id, amount_fen=amount_fen)
    return {"order_id": order_id, "status": "PAID", "refund_required": False}


def ship_order(shop: Shop, order_id: str, write: ShipmentWrite) -> dict[str, Any]:
    """PAID -> SHIPPED with the carrier and tracking number; 409 INVALID_STATE otherwise."""
    order = _owned(shop, None, order_id)
    at = iso(utcnow())
    shipment = {"carrier": write.carrier, "tracking_no": write.tracking_no, "shipped_at": at}
    due = _due(shop, order, status="SHIPPED", shipment=shipment)
    if not shop.orders.transition(order_id, "PAID", "SHIPPED", at, {"shipment": shipment}, due):
        raise InvalidState(f"An order that is {_owned(shop, None, order_id)['status']} cannot be shipped")
    return get_order(shop, None, order_id)


def _receive(shop: Shop, order: dict[str, Any]) -> bool:
    at = iso(utcnow())
    timeline = [*order["timeline"], {"status": "RECEIVED", "at": at}]
    due = _due(shop, order, status="RECEIVED", timeline=timeline)
    return shop.orders.transition(order["order_id"], "SHIPPED", "RECEIVED", at, {}, due)


def receive_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """SHIPPED -> RECEIVED by the customer; 409 INVALID_STATE otherwise."""
    order = _owned(shop, user_id, order_id)
    if not _receive(shop, order):
        raise InvalidState(f"An order that is {_owned(shop, user_id, order_id)['status']} cannot be received")
    emit_order_event("order_received", order)
    return public_view(_owned(shop, user_id, order_id))


# -- the execution's tasks (each idempotent) ---------------------------------------------------------------------


def await_payment(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    """Keep the payment token, and check in: the order is due at its pay_deadline from now on (until then it was due
    at once, so the sweeper would have started a missing execution). Paid or cancelled already: say so, so the
    execution moves on."""
    order = _owned(shop, None, order_id)
    if shop.orders.hold_token(order_id, "payment_token", token, "PENDING_PAYMENT", due=order["pay_deadline"]):
        return {"waiting": True}
    status = _owned(shop, None, order_id)["status"]
    if status == "CANCELLED":
        raise OrderCancelled(order_id)
    if status == "PAID":
        raise OrderPaidMeanwhile(order_id)
    raise OrderMovedOn(f"order {order_id} is {status}")


def _raise_if_refunding(shop: Shop, order_id: str) -> str:
    status = str(_owned(shop, None, order_id)["status"])
    if status == "REFUNDING":
        raise RefundRequested(order_id)
    return status


def await_shipment(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    if shop.orders.hold_token(order_id, "shipment_token", token, "PAID"):
        return {"waiting": True}
    if _raise_if_refunding(shop, order_id) == "SHIPPED":
        raise OrderShippedMeanwhile(order_id)
    raise OrderMovedOn(order_id)


def await_receipt(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    if shop.orders.hold_token(order_id, "receipt_token", token, "SHIPPED"):
        return {"waiting": True}
    if _raise_if_refunding(shop, order_id) == "RECEIVED":
        raise OrderReceivedMeanwhile(order_id)
    raise OrderMovedOn(order_id)


def await_review_window(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    """Received: keep the window's token while the order may still be returned (the wait times out into settle)."""
    if shop.orders.hold_token(order_id, "window_token", token, "RECEIVED"):
        return {"waiting": True}
    status = _raise_if_refunding(shop, order_id)
    raise OrderMovedOn(f"order {order_id} is {status}, not received")


def ship_deadline_passed(shop: Shop, order_id: str) -> dict[str, Any]:
    """The ship deadline ran out: a paid order nobody shipped is cancelled and refunded in full, through a refund the
    system opens already approved (the refund saga then pays back through the channel and gives back the stock and
    points; the buyer is told from the outbox). Shipped or refunding meanwhile: that way instead."""
    order = _owned(shop, None, order_id)
    if order["status"] == "PAID":
        at = iso(utcnow())
        refund = {
            "refund_id": new_id("rf"), "order_id": order_id, "user_id": order["user_id"], "type": "refund_only",
            "reason": SHIP_DEADLINE_REASON, "status": "APPROVED", "from_status": "PAID",
            "amount_fen": refund_amount_fen(order, "refund_only"), "requested_at": at, "decided_at": at,
            "reject_reason": None, "refunded_at": None, "requested_by": "system",
        }  # fmt: skip
        if shop.orders.request_refund(order, refund, at, due=at):
            return {"status": "REFUNDING", "refund_id": refund["refund_id"]}
        order = _owned(shop, None, order_id)
    if order["status"] == "REFUNDING":
        refund = _current_refund(shop, order)
        if refund["status"] == "APPROVED":
            return {"status": "REFUNDING", "refund_id": refund["refund_id"]}
        raise RefundRequested(order_id)
    raise OrderMovedOn(f"order {order_id} is {order['status']}")


def compensate(shop: Shop, order_id: str) -> dict[str, Any]:
    """Payment timed out or was cancelled: cancel with everything given back, unless a payment won the race."""
    order = _owned(shop, None, order_id)
    if order["status"] == "PENDING_PAYMENT" and shop.orders.cancel(order, iso(utcnow())):
        return {"status": "CANCELLED"}
    status = _owned(shop, None, order_id)["status"]
    if status == "PENDING_PAYMENT":
        raise OrderNotReady(f"order {order_id} could not be cancelled yet")
    return {"status": status}


def auto_receive(shop: Shop, order_id: str) -> dict[str, Any]:
    """The receipt timer ran out: a shipped order is received (already received: nothing changes)."""
    order = _owned(shop, None, order_id)
    if order["status"] == "SHIPPED" and _receive(shop, order):
        emit_order_event("order_received", _owned(shop, None, order_id))
    status = _raise_if_refunding(shop, order_id)
    if status != "RECEIVED":
        raise OrderMovedOn(f"order {order_id} is {status}, not received")
    return {"status": status}


def settle(shop: Shop, order_id: str) -> dict[str, Any]:
    """The review window closed: COMPLETED with the points earned and the sales counted, all in one transaction
    (so a refund requested meanwhile wins cleanly and nothing is ever clawed back)."""
    order = _owned(shop, None, order_id)
    if order["status"] == "COMPLETED":
        return {"status": "COMPLETED"}
    if order["status"] == "REFUNDING":
        raise RefundRequested(order_id)
    if order["status"] != "RECEIVED":
        raise OrderMovedOn(f"order {order_id} is {order['status']}, not received")
    earned = points_earned_for(int(order["amounts"]["payable_fen"]) - int(order["amounts"]["shipping_fen"]))
    if not shop.orders.settle(order, iso(utcnow()), earned):
        status = _raise_if_refunding(shop, order_id)
        if status == "COMPLETED":
            return {"status": "COMPLETED"}
        raise OrderNotReady(f"order {order_id} could not be settled")
    emit_order_event("order_settled", order, points_earned=earned)
    return {"status": "COMPLETED", "points_earned": earned}


# -- refunds and returns -----------------------------------------------------------------------------------------


def refund_amount_fen(order: dict[str, Any], refund_type: str) -> int:
    """refund_only (nothing shipped): everything paid; return_refund: everything paid but the shipping, which was
    used up."""
    amounts = order["amounts"]
    if refund_type == "refund_only":
        return int(amounts["payable_fen"])
    return max(int(amounts["payable_fen"]) - int(amounts["shipping_fen"]), 0)


def refund_view(refund: dict[str, Any], admin: bool = False) -> dict[str, Any]:
    return {**{name: refund.get(name) for name in REFUND_FIELDS}, **({"user_id": refund["user_id"]} if admin else {})}


def _received_at(order: dict[str, Any]) -> datetime:
    """When it was received: the first RECEIVED of the timeline (a rejected return appends another)."""
    at = next(entry["at"] for entry in order["timeline"] if entry["status"] == "RECEIVED")
    return parse_iso(at)


def _refusal(shop: Shop, order: dict[str, Any], refund_type: str) -> Exception | None:
    status = order["status"]
    if status == "REFUNDING":
        return Conflict("This order has an open refund already")
    if status not in REFUNDABLE_FROM[refund_type]:
        allowed = " or ".join(REFUNDABLE_FROM[refund_type])
        return InvalidState(f"A {refund_type} refund needs an order that is {allowed}; this one is {status}")
    window = timedelta(seconds=shop.timers.review_window_seconds)
    if status == "RECEIVED" and _received_at(order) + window <= utcnow():
        return InvalidState("The return window of this order has closed")
    return None


def request_refund(shop: Shop, user_id: str, order_id: str, write: RefundRequest) -> dict[str, Any]:
    """PAID (refund_only) or SHIPPED / RECEIVED within the window (return_refund) -> REFUNDING with a PENDING
    refund; the execution stops waiting where it was and awaits the admin's decision. A second open refund: 409."""
    order = _owned(shop, user_id, order_id)
    if (refused := _refusal(shop, order, write.type)) is not None:
        raise refused
    at = iso(utcnow())
    refund = {
        "refund_id": new_id("rf"), "order_id": order_id, "user_id": user_id, "type": write.type,
        "reason": write.reason, "status": "PENDING", "from_status": order["status"],
        "amount_fen": refund_amount_fen(order, write.type), "requested_at": at, "decided_at": None,
        "reject_reason": None, "refunded_at": None,
    }  # fmt: skip
    due = _due(shop, order, refund, status="REFUNDING")
    if not shop.orders.request_refund(order, refund, at, due):
        current = _owned(shop, user_id, order_id)
        raise _refusal(shop, current, write.type) or Conflict("The order changed meanwhile; try again")
    return refund_view(refund)


def order_refunds(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """The refunds of one of my orders, oldest first."""
    order = _owned(shop, user_id, order_id)
    return {"items": [refund_view(refund) for refund in shop.orders.refunds_by_ids(order.get("refund_ids") or [])]}


def list_refunds(shop: Shop, query: RefundsQuery) -> dict[str, Any]:
    """The admin's queue: refunds newest first, optionally in one status."""
    scope = f"admin-refunds:{query.status or ''}"
    items, last = shop.orders.refunds_page(query.status, query.page_size, decode_cursor(query.cursor, scope))
    return page([refund_view(refund, admin=True) for refund in items], encode_cursor(last, scope))


def _refund(shop: Shop, refund_id: str) -> dict[str, Any]:
    refund = shop.orders.refund(refund_id)
    if refund is None:
        raise NotFound("No such refund")
    return refund


def approve_refund(shop: Shop, refund_id: str) -> dict[str, Any]:
    """PENDING -> APPROVED: the execution refunds through the paying channel, then gives back; 409 otherwise."""
    refund = _refund(shop, refund_id)
    if not _approve(shop, refund):
        raise InvalidState(f"A refund that is {_refund(shop, refund_id)['status']} cannot be approved")
    return refund_view(_refund(shop, refund_id), admin=True)


def _approve(shop: Shop, refund: dict[str, Any]) -> bool:
    at = iso(utcnow())
    return shop.orders.approve_refund(refund, at, due=at)  # the refund is due through the channel at once


def reject_refund(shop: Shop, refund_id: str, write: RefundRejection) -> dict[str, Any]:
    """PENDING -> REJECTED with the reason, and the order back in the status it came from (its execution waits
    there again with what was left of its timers); 409 otherwise."""
    refund = _refund(shop, refund_id)
    order = _owned(shop, None, refund["order_id"])
    due = _due(shop, order, status=refund["from_status"])  # what was left of that status's timer: never extended
    if not shop.orders.reject_refund(refund, write.reason, iso(utcnow()), due):
        raise InvalidState(f"A refund that is {_refund(shop, refund_id)['status']} cannot be rejected")
    return refund_view(_refund(shop, refund_id), admin=True)


def _current_refund(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    refund = shop.orders.refund(order["refund_id"]) if order.get("refund_id") else None
    if refund is None:
        raise OrderNotReady(f"order {order['order_id']} has no refund")
    return refund


def await_refund_decision(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    """Keep the decision's token while the order is REFUNDING; a decision made before it was kept: say which."""
    held = shop.orders.hold_token(order_id, "refund_token", token, "REFUNDING")
    order = _owned(shop, None, order_id)
    refund = _current_refund(shop, order)  # read after the token is kept: a decision made since answers the token
    if refund["status"] == "REJECTED":
        raise RefundRejectedMeanwhile(refund["refund_id"])
    if refund["status"] in ("APPROVED", "REFUNDED"):
        raise RefundApprovedMeanwhile(refund["refund_id"])
    if held:
        return {"waiting": True, "refund_id": refund["refund_id"]}
    raise OrderNotReady(f"order {order_id} is {order['status']}, not refunding")


def auto_approve_refund(shop: Shop, order_id: str) -> dict[str, Any]:
    """Nobody decided the refund within AFTER_SALES_AUTO_APPROVE_SECONDS: the system approves it (decided meanwhile:
    that decision stands)."""
    order = _owned(shop, None, order_id)
    refund = _current_refund(shop, order)
    if refund["status"] == "PENDING" and _approve(shop, refund):
        logger.info("refund approved by the system", extra={"order_id": order_id, "refund_id": refund["refund_id"]})
        return {"decision": "APPROVED", "refund_id": refund["refund_id"]}
    refund = _refund(shop, refund["refund_id"])
    if refund["status"] == "REJECTED":
        raise RefundRejectedMeanwhile(refund["refund_id"])
    if refund["status"] in ("APPROVED", "REFUNDED"):
        return {"decision": "APPROVED", "refund_id": refund["refund_id"]}
    raise OrderNotReady(f"refund {refund['refund_id']} is {refund['status']}")


def resume_after_refund(shop: Shop, order_id: str, durations: dict[str, int]) -> dict[str, Any]:
    """Where the order is now and what is left of that status's timer, for the execution to wait there again: after
    a rejected refund (which never extends the ship deadline, the receipt or the return window), or when a task
    found the order moved on meanwhile (its status may then be final)."""
    order = _owned(shop, None, order_id)
    refund = open_refund(shop, order)
    left = timers_left(order, refund, durations)
    return {"status": order["status"], "receipt_seconds": left["receipt"], "window_seconds": left["window"],
            "shipment_seconds": left["shipment"], "decision_seconds": left["decision"]}  # fmt: skip


def refund_payment(shop: Shop, order_id: str) -> dict[str, Any]:
    """Approved: refund through the channel that took the payment (the refund id makes a retry the same refund)."""
    order = _owned(shop, None, order_id)
    refund = _current_refund(shop, order)
    if refund["status"] == "REFUNDED":
        return {"status": "SUCCESS", "refund_id": refund["refund_id"]}
    if order["status"] != "REFUNDING" or refund["status"] != "APPROVED":
        raise OrderNotReady(f"order {order_id} has no approved refund")
    if refund["amount_fen"] > 0:
        answer = shop.refunds.refund(order, refund["refund_id"], int(refund["amount_fen"]), refund["reason"])
        if answer == "PROCESSING":
            raise RefundProcessing(refund["refund_id"])
        if answer != "SUCCESS":
            raise OrderNotReady(f"refund {refund['refund_id']}: the channel answered {answer!r}")
    return {"status": "SUCCESS", "refund_id": refund["refund_id"]}


def _coupon_to_give_back(shop: Shop, order: dict[str, Any], refund: dict[str, Any]) -> str | None:
    """The order's coupon, when this refund gives it back: a refund of everything paid before the order shipped
    (from PAID), while the coupon is still valid. A partial refund, or one after shipping, keeps it used."""
    coupon_id = order.get("coupon_id")
    full = int(refund["amount_fen"]) >= int(order["amounts"]["payable_fen"])
    if not coupon_id or refund["from_status"] != "PAID" or not full:
        return None
    coupon = shop.coupons.user_coupon(order["user_id"], coupon_id)
    if coupon is None or coupon.get("locked_by") != order["order_id"] or coupon["status"] != "used":
        return None  # given back already (a retried task), or not this order's to give
    return str(coupon_id) if utcnow() < parse_iso(coupon["valid_to"]) else None


def complete_refund(shop: Shop, order_id: str) -> dict[str, Any]:
    """Refunded through the channel: REFUNDED, with the stock and the points used back, and the coupon too when the
    whole order is refunded before it shipped, once."""
    order = _owned(shop, None, order_id)
    if order["status"] == "REFUNDED":
        return {"status": "REFUNDED"}
    refund = _current_refund(shop, order)
    if not shop.orders.complete_refund(order, refund, iso(utcnow()), _coupon_to_give_back(shop, order, refund)):
        if _owned(shop, None, order_id)["status"] == "REFUNDED":
            return {"status": "REFUNDED"}
        raise OrderNotReady(f"order {order_id} could not be refunded")
    emit_order_event("order_refunded", order, refund_id=refund["refund_id"], amount_fen=refund["amount_fen"])
    return {"status": "REFUNDED"}
