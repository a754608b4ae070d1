"""After-sales cases: what buyers and staff do with them (chalicelib/orders/aftersales_domain.py has the rules).

A case without `items` of type refund_only or return_refund is the whole order's, as chalicelib/orders/service.py
runs it (the order REFUNDING, then REFUNDED). Any other is a case of some units (scope "units"): the order keeps
its status and flow while its units are held. Each change is one transaction (chalicelib/orders/dynamo_cases.py)
of the case's conditional status change and its order's units, conditional on the order's cases_version: read,
decide, write, and read again when another case changed the order meanwhile. The money goes back in the refund's
own execution (started from the outbox once the money is due, chalicelib/orders/tasks.py: complete_case here);
a PENDING case is approved by the system after AFTER_SALES_AUTO_APPROVE_SECONDS (the sweeper:
chalicelib/orders/aftersales_timers.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.errors import ChangedMeanwhile, Conflict, InvalidState, NotFound, OutOfStock
from chalicelib.ids import new_id
from chalicelib.logistics.kuaidi100 import carrier_code
from chalicelib.orders import service
from chalicelib.orders.aftersales_domain import (
    APPROVED,
    CANCELLED,
    MONEY_TYPES,
    PENDING,
    PHOTO_PURPOSES,
    REFUNDED,
    REJECTED,
    RESHIPPED,
    RETURN_RECEIVED,
    RETURN_SHIPPED,
    UNITS,
    Units,
    case_refusal,
    case_view,
    is_units_case,
    money_due,
    plan_items,
    refunding,
    released,
    units_left,
    units_of,
)
from chalicelib.orders.domain import POINTS_EXCHANGE, REFUNDING, Order, OrderEvent, Refund, points_earned
from chalicelib.orders.domain import REFUNDED as ORDER_REFUNDED
from chalicelib.orders.dynamo_cases import CASE_FAILED, EFFECT_FAILED
from chalicelib.orders.repository import CaseMove, OrderUnits
from chalicelib.orders.schemas import RefundRejection, RefundRequest
from chalicelib.orders.service import Shop, owned
from chalicelib.orders.steps import POINTS_REASONS, Effect, PostGrowth, PostPoints, Restock, RewardStock, points_ref
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.uploads.domain import OwnImages

ATTEMPTS = 5  # reads and writes of a case while other cases keep changing its order


def _case(shop: Shop, refund_id: str, user_id: str | None = None, order_id: str | None = None) -> Refund:
    """The case (user_id and order_id given: only the buyer's own, of that order); 404 otherwise."""
    refund = shop.orders.refund(refund_id)
    mine = refund is not None and (user_id is None or (refund.user_id == user_id and refund.order_id == order_id))
    if refund is None or not mine:
        raise NotFound("No such refund")
    return refund


def _entry(status: str, at: str, by: str) -> dict[str, str]:
    return {"status": status, "at": at, "by": by}


# -- the buyer -------------------------------------------------------------------------------------------------------


def request_case(shop: Shop, images: OwnImages, user_id: str, order_id: str, write: RefundRequest) -> dict[str, Any]:
    """A whole-order refund (no items, refund_only or return_refund) as service.request_refund; otherwise a units
    case holding those units (no items: every unit left), PENDING, due at its automatic approval. 409 for more
    units than a line has left; the type's rules as aftersales_domain.case_refusal. 400 for images that are not the
    user's own completed uploads for after-sales (or feedback: PHOTO_PURPOSES)."""
    if write.images:
        images.check(user_id, write.images, PHOTO_PURPOSES)
    if not write.items and write.type in MONEY_TYPES:
        return case_view(_case(shop, service.request_refund(shop, user_id, order_id, write)["refund_id"]))
    for _ in range(ATTEMPTS):
        order = owned(shop, user_id, order_id)
        now = utcnow()
        refused = case_refusal(order, write.type, shop.timers.review_window_seconds, now)
        if refused is not None:
            raise refused
        units = Units.of(order)
        wanted = [item.model_dump() for item in write.items or []] or [
            {"sku_id": line.sku_id, "quantity": left} for line in order.lines if (left := units_left(line, units)) > 0
        ]
        if not wanted:
            raise Conflict("Every unit of this order is refunded or in an open case already")
        involved = [line.sku_id for line in order.lines] + [str(w["to_sku_id"]) for w in wanted if w.get("to_sku_id")]
        skus = shop.catalog.skus_by_ids(involved) if any(w.get("to_sku_id") for w in wanted) else {}
        items, held = plan_items(order, write.type, wanted, skus)
        at = iso(now)
        refund = Refund(
            refund_id=new_id("rf"),
            order_id=order_id,
            user_id=user_id,
            type=write.type,
            reason=write.reason,
            status=PENDING,
            from_status=order.status,
            amount_fen=sum(int(item["amount_fen"]) for item in items),
            requested_at=at,
            scope=UNITS,
            items=tuple(items),
            images=tuple(write.images or ()),
            timeline=(_entry(PENDING, at, "customer"),),
            due_at=iso(now + timedelta(seconds=shop.timers.after_sales_auto_approve_seconds)),
        )
        change = OrderUnits(order_id, user_id, held.version, held.record(), order.status, refund_id=refund.refund_id)
        if shop.orders.open_case(refund, change) is None:
            return case_view(refund)
    raise ChangedMeanwhile("This order's after-sales cases changed meanwhile; try again")


def get_case(shop: Shop, user_id: str, order_id: str, refund_id: str) -> dict[str, Any]:
    """One case of one of my orders, with its timeline; 404 for anyone else's."""
    owned(shop, user_id, order_id)
    return case_view(_case(shop, refund_id, user_id, order_id))


def ship_return(shop: Shop, user_id: str, order_id: str, refund_id: str, carrier: str, tracking_no: str) -> Any:
    """APPROVED -> RETURN_SHIPPED: the buyer sent the units back (not for refund_only); 409 otherwise."""
    refund = _case(shop, refund_id, user_id, order_id)
    if not is_units_case(refund) or refund.type == "refund_only":
        raise InvalidState(f"A {refund.type} refund has no return to ship")
    at = iso(utcnow())
    shipment = {"carrier": carrier, "carrier_code": carrier_code(carrier), "tracking_no": tracking_no, "shipped_at": at}
    _move(shop, refund, (APPROVED,), RETURN_SHIPPED, at, "customer", fields={"return_shipment": shipment})
    return case_view(_case(shop, refund_id))


def cancel_case(shop: Shop, user_id: str, order_id: str, refund_id: str) -> dict[str, Any]:
    """PENDING | APPROVED -> CANCELLED by the buyer, the units free again (an approved refund_only is being paid:
    409; a whole-order case: only PENDING, the order back where it was)."""
    refund = _case(shop, refund_id, user_id, order_id)
    if not is_units_case(refund):
        order = owned(shop, user_id, order_id)
        if refund.status == PENDING and order.status == REFUNDING and order.refund_id == refund_id:
            back = service.next_step(shop, order, OrderEvent.REJECT_REFUND, refund)
            if shop.orders.cancel_refund(back, refund):
                return case_view(_case(shop, refund_id))
        raise InvalidState(f"A refund that is {_case(shop, refund_id).status} cannot be cancelled")
    expected = (PENDING,) if refund.type == "refund_only" else (PENDING, APPROVED)
    _release(shop, refund, expected, CANCELLED, "customer")
    return case_view(_case(shop, refund_id))


# -- staff -----------------------------------------------------------------------------------------------------------


def list_cases(shop: Shop, status: str | None, case_type: str | None, page_size: int, cursor: str | None) -> Any:
    """Cases newest first, optionally of one status and one type."""
    scope = f"admin-refunds:{status or ''}:{case_type or ''}"
    items, last = shop.orders.cases_page(status, case_type, page_size, decode_cursor(cursor, scope))
    return page([case_view(refund, admin=True) for refund in items], encode_cursor(last, scope))


def approve_case(shop: Shop, refund_id: str) -> dict[str, Any]:
    refund = _case(shop, refund_id)
    if not is_units_case(refund):
        service.approve_refund(shop, refund_id)
    elif not approve_units(shop, refund, "staff"):
        raise InvalidState(f"A refund that is {_case(shop, refund_id).status} cannot be approved")
    return case_view(_case(shop, refund_id), admin=True)


def approve_units(shop: Shop, refund: Refund, by: str) -> bool:
    """PENDING -> APPROVED (by staff or the system); a refund_only case's units back in stock with it, and its money
    due at once. False if it was not PENDING."""
    at = iso(utcnow())
    restock = refund.type == "refund_only"
    effects = _restock(shop, refund, 1) if restock else ()
    due = at if restock else None
    move = _moving(refund, (PENDING,), APPROVED, at, by, due, {"decided_at": at})
    return shop.orders.move_case(move, None, effects) is None


def reject_case(shop: Shop, refund_id: str, write: RefundRejection) -> dict[str, Any]:
    refund = _case(shop, refund_id)
    if not is_units_case(refund):
        service.reject_refund(shop, refund_id, write)
    else:
        at = iso(utcnow())
        _release(shop, refund, (PENDING,), REJECTED, "staff", {"decided_at": at, "reject_reason": write.reason})
    return case_view(_case(shop, refund_id), admin=True)


def receive_return(shop: Shop, refund_id: str) -> dict[str, Any]:
    """RETURN_SHIPPED -> RETURN_RECEIVED with the units back in stock, once; a return_refund's money is due then."""
    refund = _case(shop, refund_id)
    if not is_units_case(refund):
        raise InvalidState("A whole-order refund has no return to receive")
    at = iso(utcnow())
    due = at if refund.type == "return_refund" else None
    _move(shop, refund, (RETURN_SHIPPED,), RETURN_RECEIVED, at, "staff", due, effects=_restock(shop, refund, 1))
    return case_view(_case(shop, refund_id), admin=True)


def reship_case(shop: Shop, refund_id: str, carrier: str, tracking_no: str) -> dict[str, Any]:
    """RETURN_RECEIVED -> RESHIPPED (exchange: the to_sku's units, repair: the same SKU's, taken from stock, else
    409 OUT_OF_STOCK), the units free again."""
    refund = _case(shop, refund_id)
    if not is_units_case(refund) or refund.type not in ("exchange", "repair"):
        raise InvalidState(f"A {refund.type} refund is not reshipped")
    at = iso(utcnow())
    shipment = {"carrier": carrier, "carrier_code": carrier_code(carrier), "tracking_no": tracking_no, "shipped_at": at}
    taken = _restock(shop, refund, -1)
    _release(shop, refund, (RETURN_RECEIVED,), RESHIPPED, "staff", {"reship": shipment}, taken)
    return case_view(_case(shop, refund_id), admin=True)


# -- the money (the refund execution's CompleteRefund) ----------------------------------------------------------------


def complete_case(shop: Shop, refund_id: str) -> bool:
    """The money went back: REFUNDED, the lines' refunded_quantity and the order's refunded_fen counted, the points
    used back pro rata and the growth taken back (each once: the case's status is the condition), the order
    REFUNDED once every unit is. False when the case's money is not due."""
    for _ in range(ATTEMPTS):
        refund = _case(shop, refund_id)
        if refund.status == REFUNDED:
            return True
        if not money_due(refund):
            return False
        order = owned(shop, None, refund.order_id)
        at = iso(utcnow())
        done = refunding(order, refund)
        effects: list[Effect] = []
        if done.points_back > 0:
            ref = f"order:{order.order_id}:refund:{refund_id}"
            effects.append(PostPoints(order.user_id, done.points_back, POINTS_REASONS["refund"], ref))
        if growth := service.growth_returned(shop, order, refund):
            effects.append(PostGrowth(order.user_id, growth, "refund", refund_id, at))
        status = ORDER_REFUNDED if done.all_refunded else None
        change = OrderUnits(
            order.order_id, order.user_id, done.units.version, done.units.record(), order.status,
            items=done.lines, amounts=done.amounts, status=status, at=at,
        )  # fmt: skip
        move = _moving(refund, (refund.status,), REFUNDED, at, "system", None, {"refunded_at": at})
        if shop.orders.move_case(move, change, tuple(effects)) is None:
            service.emit_order_event("order_refunded", order, refund_id=refund_id, amount_fen=refund.amount_fen)
            return True
    raise ChangedMeanwhile(f"refund {refund_id} could not be completed yet")


# -- writing ---------------------------------------------------------------------------------------------------------


def _restock(shop: Shop, refund: Refund, sign: int) -> tuple[Effect, ...]:
    """The case's units back to their SKUs (sign 1) or taken from stock for a reship (-1: an exchange's to_sku). A
    flash-sale unit too goes back to (or is reshipped from) the SKU's shelf: its session counts it sold either way. A
    points-exchange order's units are its reward's."""
    order = owned(shop, None, refund.order_id)
    if order.kind == POINTS_EXCHANGE:
        return (RewardStock({reward_id: sign * quantity for reward_id, quantity in units_of(refund).items()}),)
    if sign > 0:
        return (Restock(units_of(refund), skip_removed=True),)
    taken: dict[str, int] = {}
    for item in refund.items:
        sku_id = str(item.get("to_sku_id") or item["sku_id"]) if refund.type == "exchange" else str(item["sku_id"])
        taken[sku_id] = taken.get(sku_id, 0) - int(item["quantity"])
    return (Restock(taken),)


def _moving(
    refund: Refund, expected: tuple[str, ...], status: str, at: str, by: str, due: str | None, fields: dict[str, Any]
) -> CaseMove:
    timeline = [*refund.timeline, _entry(status, at, by)]
    return CaseMove(refund.refund_id, expected, status, timeline, due, fields)


def _move(
    shop: Shop,
    refund: Refund,
    expected: tuple[str, ...],
    status: str,
    at: str,
    by: str,
    due: str | None = None,
    fields: dict[str, Any] | None = None,
    effects: tuple[Effect, ...] = (),
) -> None:
    """The case alone from `expected` to `status`; 409 INVALID_STATE when it is not in `expected`."""
    failed = shop.orders.move_case(_moving(refund, expected, status, at, by, due, fields or {}), None, effects)
    if failed is not None:
        raise InvalidState(f"A refund that is {_case(shop, refund.refund_id).status} cannot become {status}")


def _points_freed(order: Order, units: Units, refund_id: str) -> tuple[Effect, ...]:
    """A settled order earned no points on the units its open money cases held: once such a case ends without its
    money (rejected, cancelled), those units earn what the settlement left out (once: the case's status is the
    transaction's condition)."""
    if not order.settled_at:
        return ()
    earned = points_earned(replace(order, after_sales=units.record())) - points_earned(order)
    if earned <= 0:
        return ()
    return (PostPoints(order.user_id, earned, POINTS_REASONS["earn"], points_ref(order, f"earn:{refund_id}")),)


def _release(
    shop: Shop,
    refund: Refund,
    expected: tuple[str, ...],
    status: str,
    by: str,
    fields: dict[str, Any] | None = None,
    effects: tuple[Effect, ...] = (),
) -> None:
    """The case to `status` with its units free again on its order, read again while other cases change the order;
    409 INVALID_STATE when it is not in `expected`, OUT_OF_STOCK when an effect (a reship) lacks the stock."""
    for _ in range(ATTEMPTS):
        refund = _case(shop, refund.refund_id)
        if refund.status not in expected:
            raise InvalidState(f"A refund that is {refund.status} cannot become {status}")
        order = owned(shop, None, refund.order_id)
        units = released(Units.of(order), refund)
        change = OrderUnits(order.order_id, order.user_id, units.version, units.record())
        move = _moving(refund, expected, status, iso(utcnow()), by, None, fields or {})
        failed = shop.orders.move_case(move, change, (*effects, *_points_freed(order, units, refund.refund_id)))
        if failed is None:
            return
        if failed == EFFECT_FAILED:
            raise OutOfStock("Not enough stock to reship this case")
        if failed == CASE_FAILED:
            continue
    raise ChangedMeanwhile("This order's after-sales cases changed meanwhile; try again")
