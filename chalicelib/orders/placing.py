"""Placing an order: priced on the server through the one pricing path, stock, coupon and points taken at once with
the order, idempotent by the Idempotency-Key; and its preview, which prices alike and writes nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.cart import service as cart_service
from chalicelib.cart.domain import CartOwner
from chalicelib.catalog.models import product_id_of_sku
from chalicelib.clock import iso, utcnow
from chalicelib.coupons import service as coupons_service
from chalicelib.dynamo import PendingRead, PendingSlice, read_slices, read_together
from chalicelib.errors import Conflict, DomainError, InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.ids import new_id
from chalicelib.orders.domain import FLASH_SALE, PENDING_PAYMENT, Order, OrderLine
from chalicelib.orders.repository import MAX_LINES, PlacementRefused
from chalicelib.orders.schemas import OrderCreate, OrderPreviewRequest
from chalicelib.orders.service import Shop, emit_order_event
from chalicelib.points.domain import NotEnoughPoints
from chalicelib.points.rules import PointsRules
from chalicelib.points.service import rules_cache
from chalicelib.pricing import checkout as pricing
from chalicelib.pricing.model import Checkout, Quote
from chalicelib.profile import service as profile_service

MAX_KEY_CHARS = 255


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


def create_order(shop: Shop, user_id: str, key: str | None, body: OrderCreate) -> dict[str, Any]:
    """POST /orders: an order from the catalog's prices; the same key and body again returns the same order.

    The key is looked up only when placing fails: the transaction's own condition on the key refuses a second
    order, and a retry that can no longer be placed (stock sold, cart emptied, coupon taken by the first order)
    is answered with the original order. The common path reads twice before its one transaction: one Query of the
    user's partition (coupons, address book, cart) and one BatchGetItem (SKUs, address, points balance)."""
    key = check_key(key)
    digest = body_hash(body)
    try:
        return _place_new(shop, user_id, key, digest, body)
    except DomainError:
        if (replayed := _replay(shop, user_id, key, digest)) is not None:
            return replayed
        raise


def _replay(shop: Shop, user_id: str, key: str, digest: str) -> dict[str, Any] | None:
    record = shop.orders.idempotency(user_id, key)
    if record is None:
        return None
    if record["body_hash"] != digest:
        raise Conflict("This Idempotency-Key was used with a different request body")
    order = shop.orders.order(record["order_id"])
    if order is None:  # the key and its order are written in one transaction
        raise Conflict("The order of this Idempotency-Key is not readable yet; try again")
    return order.view()


def _wanted_lines(cart: list[dict[str, Any]] | None, body: OrderCreate | OrderPreviewRequest) -> list[tuple[str, int]]:
    """(sku_id, quantity) the body buys: the cart's selected lines (`cart`, read already) or the body's items."""
    if body.from_cart:
        lines = cart_service.selected_of(cart or [])
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


@dataclass(frozen=True)
class _PricedOrder:
    """An order body priced through the one pricing path, before anything is written."""

    wanted: list[tuple[str, int]]
    skus: dict[str, dict[str, Any]]
    address: dict[str, Any] | None
    balance: int
    checkout: Checkout
    points_rules: PointsRules  # the rules it was priced under: the order keeps them


def _price_order(shop: Shop, user_id: str, body: OrderCreate | OrderPreviewRequest, now: datetime) -> _PricedOrder:
    """What placing this body would charge now, or the refusal placing it would get: the order and its preview both
    come through here, so they agree to the fen and refuse alike (404 SKU or address, 409 OUT_OF_STOCK, 409
    COUPON_NOT_APPLICABLE, 409 PRICE_CHANGED, ...). Reads only."""
    # ONE Query of the user's partition: the usable coupons, the address book, the member's growth and (from_cart)
    # the cart's lines
    coupons = pricing.StoredCoupons(shop.coupons)
    slices: list[PendingSlice[Any]] = [coupons.usable_slice(user_id, now), shop.profile.address_book_slice(user_id)]
    slices.append(shop.membership.growth_slice(user_id) if shop.membership else PendingSlice(None, "", "", "", _none))
    if body.from_cart:
        slices.append(shop.cart.cart_slice(CartOwner.user(user_id)))
    offers, book, growth, *cart = read_slices(*slices)
    wanted = _wanted_lines(cart[0][0] if cart else None, body)
    promotions = shop.promotions(now)
    # ONE BatchGetItem over both tables: the SKUs, the address (named, else the default) and the points balance
    address_id = body.address_id if body.address_id is not None else book.default_id
    address_read = shop.profile.address_read(user_id, address_id) if address_id else PendingRead(None, None, _none)
    *found, address, held = read_together(
        *(shop.catalog.sku_read(sku_id) for sku_id, _ in wanted), address_read, shop.points.balance_read(user_id)
    )
    if body.address_id is not None:
        address = profile_service.found_address(address)
    skus = {sku["sku_id"]: sku for sku in found if sku is not None}
    missing = [sku_id for sku_id, _ in wanted if sku_id not in skus]
    if missing:
        raise NotFound(f"No such SKU: {', '.join(missing)}", sku_ids=missing)
    off_sale = [sku_id for sku_id, _ in wanted if not skus[sku_id]["on_sale"]]
    if off_sale:
        raise InvalidState(f"Not on sale: {', '.join(off_sale)}", sku_ids=off_sale)
    short = [sku_id for sku_id, quantity in wanted if int(skus[sku_id]["stock"]) < quantity]
    if short:
        raise OutOfStock(f"Not enough stock: {', '.join(short)}", sku_ids=short)
    member = pricing.member_rate(shop.membership, growth)
    lines = pricing.priced_lines(
        shop.catalog, [skus[sku_id] for sku_id, _ in wanted], dict(wanted), promotions, now, member
    )
    balance = held or 0
    points_rules = rules_cache.get(shop.points)
    to = pricing.destination(shop.freight, lines, address)
    priced = pricing.price(
        lines,
        promotions,
        pricing.KnownCoupons(offers, coupons),
        user_id,
        coupon=body.coupon_request(),
        points=body.points,
        balance=balance,
        ships=address is not None,
        to=to,
        now=now,
        points_rules=points_rules,
    )
    pricing.check_expected(priced, body.expected_payable_fen)
    return _PricedOrder(wanted, skus, address, balance, priced, points_rules)


def _none(_: Any) -> None:
    return None


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
        "member_discount_fen": priced.member_discount_fen,
        "points_deduction_fen": priced.points_deduction_fen,
        "shipping_fen": priced.shipping_fen,
        "payable_fen": priced.payable_fen,
    }


def _line(line: Any, sku: dict[str, Any]) -> OrderLine:
    """A priced line as the order keeps it: what was bought, at what it cost then."""
    return OrderLine(
        sku_id=line.sku_id,
        product_id=product_id_of_sku(line.sku_id),
        title=sku["title"],
        attributes=dict(sku.get("attributes") or {}),
        image_url=sku.get("image_url"),
        quantity=line.quantity,
        list_price_fen=line.list_price_fen,
        unit_price_fen=line.unit_price_fen,
        promotion_id=line.promotion_id,
        line_total_fen=line.total_fen,
        payable_fen=line.payable_fen,
    )


def preview_order(shop: Shop, user_id: str, body: OrderPreviewRequest) -> dict[str, Any]:
    """POST /orders/preview: the lines and amounts POST /orders would charge for this body now, the coupons that
    apply or why not, and the points usable; writes and reserves nothing."""
    order = _price_order(shop, user_id, body, utcnow())
    priced = order.checkout.quote
    return {
        "items": [_line(line, order.skus[line.sku_id]).record() for line in priced.lines],
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
            "max_usable": pricing.max_usable_points(order.checkout, order.balance, order.points_rules),
            "used": priced.points_used,
            "deduction_fen": priced.points_deduction_fen,
        },
        "address_id": order.address["address_id"] if order.address else None,
    }


def _place_new(shop: Shop, user_id: str, key: str, digest: str, body: OrderCreate) -> dict[str, Any]:
    now = utcnow()
    placing = _price_order(shop, user_id, body, now)
    wanted, skus, priced = placing.wanted, placing.skus, placing.checkout.quote
    order_id, created_at = new_id("o"), iso(now)
    order = Order(
        order_id=order_id,
        order_no=_order_no(now),
        user_id=user_id,
        status=PENDING_PAYMENT,
        created_at=created_at,
        pay_deadline=iso(now + timedelta(seconds=shop.timers.payment_timeout_seconds)),
        lines=tuple(_line(line, skus[line.sku_id]) for line in priced.lines),
        amounts=_amounts(priced),
        address=placing.address,
        remark=body.remark,
        coupon_id=priced.coupon.coupon_id if priced.coupon else None,
        points_used=priced.points_used,
        points_rules=placing.points_rules.order_values(),
        timeline=({"status": PENDING_PAYMENT, "at": created_at},),
        # The outbox: the orders stream starts the execution from this write; until the execution's payment task
        # checks in (moving it to pay_deadline) the order is due at once, so the sweeper repairs a missed start.
        due_at=created_at,
    )
    try:
        shop.orders.place(order, key, digest)
    except PlacementRefused:
        _explain_refusal(shop, user_id, wanted, order.coupon_id, order.points_used)
        raise
    if body.from_cart:
        cart_service.remove_lines(shop.cart, user_id, [sku_id for sku_id, _ in wanted])
    emit_order_event("order_placed", order)
    return order.view()


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


@dataclass(frozen=True)
class FlashOrder:
    """What a won flash-sale attempt buys: one SKU at its promo price, shipped to the address it named (else the
    buyer's default one), payable within `pay_seconds`."""

    attempt_id: str
    user_id: str
    sku_id: str
    quantity: int
    unit_price_fen: int
    address_id: str | None
    pay_seconds: int


def place_flash_order(shop: Shop, won: FlashOrder) -> dict[str, Any]:
    """The order of a won flash-sale attempt (kind flash_sale, PENDING_PAYMENT): the line at the promo price, no
    coupon, points or member price, the usual shipping; it takes nothing from the SKU's stock (the session set its
    units aside). Idempotent by the attempt: placing it again returns the first order. NotFound when the SKU or the
    address is gone, ValidationError when the buyer has no address, Undeliverable when the SKU's freight template
    excludes the address's province."""
    key = f"flash:{won.attempt_id}"
    if (replayed := _replay(shop, won.user_id, key, won.attempt_id)) is not None:
        return replayed
    now = utcnow()
    address = _address_of(shop, won.user_id, won.address_id)
    if address is None:
        raise ValidationError("No delivery address: add one first")
    sku = shop.catalog.skus_by_ids([won.sku_id]).get(won.sku_id)
    if sku is None:
        raise NotFound(f"No such SKU: {won.sku_id}", sku_ids=[won.sku_id])
    goods_fen = won.unit_price_fen * won.quantity
    # the usual shipping through the one pricing path: the SKU's freight template for the address's province (409
    # UNDELIVERABLE if it excludes it), else the flat rule, on the goods at the promo price
    shipping = pricing.shipping_to(shop.freight, [pricing.line_at(sku, won.quantity, won.unit_price_fen, now)], address)
    created_at = iso(now)
    line = OrderLine(
        sku_id=won.sku_id,
        product_id=product_id_of_sku(won.sku_id),
        title=sku["title"],
        attributes=dict(sku.get("attributes") or {}),
        image_url=sku.get("image_url"),
        quantity=won.quantity,
        list_price_fen=int(sku["price_fen"]),
        unit_price_fen=won.unit_price_fen,
        line_total_fen=goods_fen,
        payable_fen=goods_fen,
    )
    order = Order(
        order_id=new_id("o"),
        order_no=_order_no(now),
        user_id=won.user_id,
        status=PENDING_PAYMENT,
        created_at=created_at,
        pay_deadline=iso(now + timedelta(seconds=won.pay_seconds)),
        lines=(line,),
        amounts={
            "items_fen": goods_fen,
            "discount_fen": 0,
            "promotion_discount_fen": 0,
            "coupon_discount_fen": 0,
            "member_discount_fen": 0,
            "points_deduction_fen": 0,
            "shipping_fen": shipping,
            "payable_fen": goods_fen + shipping,
        },
        address=address,
        timeline=({"status": PENDING_PAYMENT, "at": created_at},),
        due_at=created_at,  # the outbox starts its execution; the sweeper repairs a missed start (as _place_new)
        kind=FLASH_SALE,
        source_ref=won.attempt_id,
    )
    try:
        shop.orders.place(order, key, won.attempt_id)
    except PlacementRefused:
        if (replayed := _replay(shop, won.user_id, key, won.attempt_id)) is not None:
            return replayed  # placed meanwhile by another delivery of the same attempt
        raise Conflict("The flash-sale order could not be placed; try again") from None
    emit_order_event("order_placed", order)
    return order.view()
