"""Order rules: placing an order (priced on the server, stock, coupon and points taken at once, idempotent by key),
its status changes (pay, cancel, ship, receive, settle) and the tasks of its Step Functions execution."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.cart import service as cart_service
from chalicelib.cart.repository import CartRepository
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.service import category_tree
from chalicelib.clock import iso, utcnow
from chalicelib.config import get_settings
from chalicelib.coupons import service as coupons_service
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.errors import Conflict, InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.orders.carrier import carrier_for
from chalicelib.orders.repository import MAX_LINES, OrdersRepository, PlacementRefused
from chalicelib.orders.schemas import OrderCreate, OrdersQuery, ShipmentWrite
from chalicelib.orders.workflow import OrderWorkflow
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.points import service as points_service
from chalicelib.points.repository import PointsRepository
from chalicelib.points.rules import is_usable_amount, points_earned_for
from chalicelib.pricing.engine import price_lines, quote
from chalicelib.pricing.promotion import Promotion
from chalicelib.profile import service as profile_service
from chalicelib.profile.repository import ProfileRepository

MAX_KEY_CHARS = 255
PUBLIC_FIELDS = ("order_id", "order_no", "status", "items", "amounts", "pay_deadline", "created_at", "address",
                 "remark", "coupon_id", "points_used", "timeline", "shipment")  # fmt: skip


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


def public_view(order: dict[str, Any]) -> dict[str, Any]:
    return {name: order.get(name) for name in PUBLIC_FIELDS}


def body_hash(body: OrderCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
        raise ValidationError(
            "The Idempotency-Key header is required (1..255 printable characters)",
            errors=[{"field": "Idempotency-Key", "message": "required, 1..255 characters"}],
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
    if order["status"] == "PENDING_PAYMENT":
        start_lifecycle(shop, order["order_id"])  # a retry after a failed StartExecution starts it (idempotent)
    return public_view(order)


def _wanted_lines(shop: Shop, user_id: str, body: OrderCreate) -> list[tuple[str, int]]:
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


def place_order(
    shop: Shop, user_id: str, key: str | None, body: OrderCreate, promotions: list[Promotion]
) -> dict[str, Any]:
    """Create an order from the catalog's prices; the same key and body again returns the same order."""
    key = check_key(key)
    digest = body_hash(body)
    if (replayed := _replay(shop, user_id, key, digest)) is not None:
        return replayed
    if not is_usable_amount(body.points):
        raise ValidationError("points must be a multiple of 100", errors=[{"field": "points", "message": "step"}])
    wanted = _wanted_lines(shop, user_id, body)
    address = profile_service.get_address(shop.profile, user_id, body.address_id)
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
    now = utcnow()
    quantities = dict(wanted)
    roots = {c["category_id"]: c["parent_id"] or c["category_id"] for c in category_tree.get(shop.catalog).values()}
    lines = price_lines([skus[sku_id] for sku_id, _ in wanted], quantities, promotions, now, roots)
    offer = coupons_service.usable_offer(shop.coupons, user_id, body.coupon_id, now) if body.coupon_id else None
    priced = quote(lines, promotions, offer, body.points, now)
    if offer is not None and priced.coupon is None:
        raise InvalidState("This coupon does not apply to these items")
    order_id = new_order_id()
    created_at = iso(now)
    order = {
        "order_id": order_id,
        "order_no": _order_no(now),
        "user_id": user_id,
        "status": "PENDING_PAYMENT",
        "created_at": created_at,
        "created_key": f"{created_at}#{order_id}",
        "pay_deadline": iso(now + timedelta(seconds=get_settings().payment_timeout_seconds)),
        "items": [_snapshot(line, skus[line.sku_id]) for line in priced.lines],
        "amounts": {
            "items_fen": priced.items_fen,
            "discount_fen": priced.discount_fen,
            "promotion_discount_fen": priced.promotion_discount_fen,
            "coupon_discount_fen": priced.coupon_discount_fen,
            "points_deduction_fen": priced.points_deduction_fen,
            "shipping_fen": priced.shipping_fen,
            "payable_fen": priced.payable_fen,
        },
        "address": address,
        "remark": body.remark,
        "coupon_id": priced.coupon.coupon_id if priced.coupon else None,
        "points_used": priced.points_used,
        "timeline": [{"status": "PENDING_PAYMENT", "at": created_at}],
        "shipment": None,
    }
    try:
        shop.orders.place(order, key, digest)
    except PlacementRefused:
        _explain_refusal(shop, user_id, key, digest, wanted, body, priced.points_used)
        raise
    if body.from_cart:
        cart_service.remove_lines(shop.cart, user_id, [sku_id for sku_id, _ in wanted])
    start_lifecycle(shop, order_id)
    return public_view(order)


def new_order_id() -> str:
    from chalicelib.ids import new_id

    return new_id("o")


def start_lifecycle(shop: Shop, order_id: str) -> None:
    settings = get_settings()
    shop.workflow.start(
        order_id,
        {
            "order_id": order_id,
            "payment_timeout_seconds": settings.payment_timeout_seconds,
            "auto_receive_seconds": settings.auto_receive_seconds,
        },
    )


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
    shop: Shop,
    user_id: str,
    key: str,
    digest: str,
    wanted: list[tuple[str, int]],
    body: OrderCreate,
    points: int,
) -> None:
    """Why the order's transaction was refused, read back (its cancellation reasons do not say in a stable order)."""
    if (replayed := _replay(shop, user_id, key, digest)) is not None:
        raise _Replayed(replayed)
    skus = shop.catalog.skus_by_ids([sku_id for sku_id, _ in wanted])
    short = [sku_id for sku_id, quantity in wanted if int((skus.get(sku_id) or {}).get("stock", 0)) < quantity]
    if short:
        raise OutOfStock(f"Not enough stock: {', '.join(short)}", sku_ids=short)
    if body.coupon_id:
        coupons_service.usable_offer(shop.coupons, user_id, body.coupon_id)  # raises if it is no longer usable
    if points and (shop.points.balance(user_id) or 0) < points:
        raise Conflict(f"Not enough points: {points} needed")
    raise Conflict("The order changed meanwhile; try again")


class _Replayed(Exception):
    """A concurrent request with the same key and body placed the order first."""

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__("replayed")
        self.order = order


def create_order(
    shop: Shop, user_id: str, key: str | None, body: OrderCreate, promotions: list[Promotion]
) -> dict[str, Any]:
    """POST /orders: place_order, where losing a race to the same key and body answers with the winner's order."""
    try:
        return place_order(shop, user_id, key, body, promotions)
    except _Replayed as replayed:
        return replayed.order


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
    shipped_at = datetime.fromisoformat(str(shipment["shipped_at"]).replace("Z", "+00:00"))
    events = carrier_for(str(shipment["carrier"])).tracking(str(shipment["tracking_no"]), shipped_at, utcnow())
    return {"order_id": order_id, "carrier": shipment["carrier"], "tracking_no": shipment["tracking_no"],
            "events": events}  # fmt: skip


# -- status changes ----------------------------------------------------------------------------------------------


def _token_after_change(shop: Shop, order_id: str, field: str) -> str | None:
    """The waiting task's token, read after the status change: a task that stored it before the change is answered
    here; one that tries after finds the new status and moves on by itself (its Catch)."""
    return (shop.orders.order(order_id) or {}).get(field)


def cancel_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """PENDING_PAYMENT -> CANCELLED with stock, coupon and points back; 409 INVALID_STATE in any other status."""
    order = _owned(shop, user_id, order_id)
    if not shop.orders.cancel(order, iso(utcnow())):
        current = _owned(shop, user_id, order_id)
        raise InvalidState(f"An order that is {current['status']} cannot be cancelled")
    cancelled = _owned(shop, user_id, order_id)
    if cancelled.get("payment_token"):
        shop.workflow.fail(cancelled["payment_token"], "OrderCancelled", "cancelled by the customer")
    return public_view(cancelled)


def confirm_payment(shop: Shop, order_id: str, payment_id: str, amount_fen: int) -> dict[str, Any]:
    """For the payments integration: the order is PAID if it awaits payment and the amount is what it costs.

    Returns {"status": "PAID"} (again for the same payment: the same answer), or {"status": "CANCELLED",
    "refund_required": True} when the order was cancelled first (the payment must be refunded).
    404 for no such order, 409 CONFLICT for another amount or an order paid by another payment."""
    order = _owned(shop, None, order_id)
    if amount_fen != order["amounts"]["payable_fen"]:
        raise Conflict(f"The order costs {order['amounts']['payable_fen']} fen, not {amount_fen}")
    paid_at = iso(utcnow())
    payment = {"payment_id": payment_id, "amount_fen": amount_fen, "paid_at": paid_at}
    if not shop.orders.pay(order, payment, paid_at):
        current = _owned(shop, None, order_id)
        if current["status"] == "CANCELLED":
            return {"order_id": order_id, "status": "CANCELLED", "refund_required": True}
        if (current.get("payment") or {}).get("payment_id") == payment_id:
            return {"order_id": order_id, "status": current["status"], "refund_required": False}
        raise Conflict("This order was paid by another payment")
    if token := _token_after_change(shop, order_id, "payment_token"):
        shop.workflow.succeed(token, {"status": "PAID", "payment_id": payment_id})
    return {"order_id": order_id, "status": "PAID", "refund_required": False}


def ship_order(shop: Shop, order_id: str, write: ShipmentWrite) -> dict[str, Any]:
    """PAID -> SHIPPED with the carrier and tracking number; 409 INVALID_STATE otherwise."""
    _owned(shop, None, order_id)
    at = iso(utcnow())
    shipment = {"carrier": write.carrier, "tracking_no": write.tracking_no, "shipped_at": at}
    if not shop.orders.transition(order_id, "PAID", "SHIPPED", at, {"shipment": shipment}):
        raise InvalidState(f"An order that is {_owned(shop, None, order_id)['status']} cannot be shipped")
    if token := _token_after_change(shop, order_id, "shipment_token"):
        shop.workflow.succeed(token, {"status": "SHIPPED"})
    return get_order(shop, None, order_id)


def receive_order(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """SHIPPED -> RECEIVED by the customer; 409 INVALID_STATE otherwise."""
    _owned(shop, user_id, order_id)
    if not shop.orders.transition(order_id, "SHIPPED", "RECEIVED", iso(utcnow()), {}):
        raise InvalidState(f"An order that is {_owned(shop, user_id, order_id)['status']} cannot be received")
    if token := _token_after_change(shop, order_id, "receipt_token"):
        shop.workflow.succeed(token, {"status": "RECEIVED"})
    return public_view(_owned(shop, user_id, order_id))


# -- the execution's tasks (each idempotent) ---------------------------------------------------------------------


def await_payment(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    """Keep the payment token; the order settled its payment already: say so, so the execution moves on."""
    if shop.orders.hold_token(order_id, "payment_token", token, "PENDING_PAYMENT"):
        return {"waiting": True}
    status = _owned(shop, None, order_id)["status"]
    if status == "CANCELLED":
        raise OrderCancelled(order_id)
    raise OrderPaidMeanwhile(order_id)


def await_shipment(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    if shop.orders.hold_token(order_id, "shipment_token", token, "PAID"):
        return {"waiting": True}
    raise OrderShippedMeanwhile(order_id)


def await_receipt(shop: Shop, order_id: str, token: str) -> dict[str, Any]:
    if shop.orders.hold_token(order_id, "receipt_token", token, "SHIPPED"):
        return {"waiting": True}
    raise OrderReceivedMeanwhile(order_id)


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
    shop.orders.transition(order_id, "SHIPPED", "RECEIVED", iso(utcnow()), {})
    status = _owned(shop, None, order_id)["status"]
    if status not in ("RECEIVED", "COMPLETED"):
        raise OrderNotReady(f"order {order_id} is {status}, not received")
    return {"status": status}


def settle(shop: Shop, order_id: str) -> dict[str, Any]:
    """Received: points earned (once, by ref), sales counted and COMPLETED (once, with the status change)."""
    order = _owned(shop, None, order_id)
    if order["status"] == "COMPLETED":
        return {"status": "COMPLETED"}
    if order["status"] != "RECEIVED":
        raise OrderNotReady(f"order {order_id} is {order['status']}, not received")
    earned = points_earned_for(int(order["amounts"]["payable_fen"]) - int(order["amounts"]["shipping_fen"]))
    if earned > 0:
        points_service.credit(shop.points, order["user_id"], earned, "订单完成", f"order:{order_id}:earn")
    if not shop.orders.settle(order, iso(utcnow())) and _owned(shop, None, order_id)["status"] != "COMPLETED":
        raise OrderNotReady(f"order {order_id} could not be settled")
    return {"status": "COMPLETED", "points_earned": earned}
