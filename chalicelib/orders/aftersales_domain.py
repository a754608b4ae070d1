"""After-sales cases of some units of an order (scope "units"): the rules, as plain values and functions, no I/O.

A case is `refund_only` (while PAID), `return_refund` or `exchange` (once SHIPPED, or RECEIVED within the return
window) or `repair` (SHIPPED, RECEIVED or COMPLETED). Its life:

    PENDING -> APPROVED | REJECTED;  PENDING | APPROVED -> CANCELLED (the customer; an approved refund_only is paid)
    refund_only:    APPROVED (units back in stock) -> REFUNDED (the money back through the paying channel)
    return_refund:  APPROVED -> RETURN_SHIPPED -> RETURN_RECEIVED (units back in stock) -> REFUNDED
    exchange/repair: APPROVED -> RETURN_SHIPPED -> RETURN_RECEIVED (units back in stock) -> RESHIPPED (units taken)

The order keeps, in `after_sales`, the units its open cases hold per SKU (`held`), the units and amounts of its
money cases held or refunded (`money_units`, `money_fen`: what prices the next units), and the points its cases
gave back (`points_returned`); its lines count `refunded_quantity` and its amounts `refunded_fen`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.errors import Conflict, InvalidState, ValidationError
from chalicelib.orders.domain import COMPLETED, PAID, RECEIVED, SHIPPED, Order, OrderLine, Refund, received_at

UNITS = "units"
MONEY_TYPES = ("refund_only", "return_refund")
CASE_FROM = {
    "refund_only": (PAID,),
    "return_refund": (SHIPPED, RECEIVED),
    "exchange": (SHIPPED, RECEIVED),
    "repair": (SHIPPED, RECEIVED, COMPLETED),
}
WINDOWED = ("return_refund", "exchange")  # a RECEIVED order: only within its return window
PENDING, APPROVED, REJECTED, CANCELLED = "PENDING", "APPROVED", "REJECTED", "CANCELLED"
RETURN_SHIPPED, RETURN_RECEIVED, REFUNDED, RESHIPPED = "RETURN_SHIPPED", "RETURN_RECEIVED", "REFUNDED", "RESHIPPED"
OPEN = (PENDING, APPROVED, RETURN_SHIPPED, RETURN_RECEIVED)
# A request's photos: the buyer's own uploads for after-sales (and for feedback: what the storefront uploaded them as
# before the after_sales purpose existed, so photos picked then still go through).
PHOTO_PURPOSES = ("after_sales", "feedback")


def is_units_case(refund: Refund) -> bool:
    return refund.scope == UNITS


def money_due(refund: Refund) -> bool:
    """Whether the case's money is due through the paying channel now (its refund execution's to pay): an approved
    whole-order refund or refund_only case, a return_refund case once its return is received."""
    if refund.scope != UNITS:
        return refund.status == APPROVED
    if refund.type == "refund_only":
        return refund.status == APPROVED
    return refund.type == "return_refund" and refund.status == RETURN_RECEIVED


def units_of(refund: Refund) -> dict[str, int]:
    return {str(item["sku_id"]): int(item["quantity"]) for item in refund.items}


# -- what the order keeps --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Units:
    """The order's after_sales state: per SKU the units held by open cases, the units and fen of money cases
    (held or refunded), and the points given back; `version` counts its changes (the write's condition)."""

    version: int
    held: dict[str, int]
    money_units: dict[str, int]
    money_fen: dict[str, int]
    points_returned: int

    @classmethod
    def of(cls, order: Order) -> Units:
        state = order.after_sales
        return cls(
            version=int(state.get("version") or 0),
            held={k: int(v) for k, v in (state.get("held") or {}).items()},
            money_units={k: int(v) for k, v in (state.get("money_units") or {}).items()},
            money_fen={k: int(v) for k, v in (state.get("money_fen") or {}).items()},
            points_returned=int(state.get("points_returned") or 0),
        )

    def record(self) -> dict[str, Any]:
        """As the order item keeps it (the version is an attribute of its own)."""
        return {
            "held": self.held,
            "money_units": self.money_units,
            "money_fen": self.money_fen,
            "points_returned": self.points_returned,
        }


def _add(counts: dict[str, int], key: str, delta: int) -> dict[str, int]:
    changed = {**counts, key: counts.get(key, 0) + delta}
    return {k: v for k, v in changed.items() if v}


def units_left(line: OrderLine, units: Units) -> int:
    """The units of a line no case holds nor refunded."""
    return line.quantity - line.refunded_quantity - units.held.get(line.sku_id, 0)


def line_amount_fen(line: OrderLine, units: Units, quantity: int) -> int:
    """What `quantity` more units of the line refund: the line's payable split by unit, `payable * units //
    quantity` cumulatively, so its last units take the remainder and all its units sum to its payable exactly."""
    before_units, before_fen = units.money_units.get(line.sku_id, 0), units.money_fen.get(line.sku_id, 0)
    return max(line.payable_fen * (before_units + quantity) // line.quantity - before_fen, 0)


def case_refusal(order: Order, case_type: str, window_seconds: int, now: datetime) -> Exception | None:
    """Why the order cannot have a units case of this type now (409 INVALID_STATE), or None."""
    if order.status not in CASE_FROM[case_type]:
        allowed = " or ".join(CASE_FROM[case_type])
        return InvalidState(f"A {case_type} case needs an order that is {allowed}; this one is {order.status}")
    closed = order.status == RECEIVED and received_at(order) + timedelta(seconds=window_seconds) <= now
    if case_type in WINDOWED and closed:
        return InvalidState("The return window of this order has closed")
    return None


def plan_items(
    order: Order, case_type: str, wanted: list[dict[str, Any]], exchange_skus: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], Units]:
    """The case's items with their amounts, and the order's after_sales once it holds them. 400 for a SKU the
    order does not have or a wrong `to_sku_id` (exchange only: another SKU of the same product at the same price);
    409 CONFLICT for more units than a line has left. `exchange_skus`: the SKUs involved (the lines' and the
    targets'), as the catalog has them now."""
    units = Units.of(order)
    lines = {line.sku_id: line for line in order.lines}
    items: list[dict[str, Any]] = []
    for want in wanted:
        sku_id, quantity, to_sku = str(want["sku_id"]), int(want["quantity"]), want.get("to_sku_id")
        line = lines.get(sku_id)
        if line is None:
            raise ValidationError(f"This order has no line of SKU {sku_id}")
        if quantity > units_left(line, units):
            left = units_left(line, units)
            raise Conflict(f"Only {left} unit(s) of SKU {sku_id} are left for after-sales, not {quantity}")
        if to_sku is not None:
            refusal = exchange_refusal(case_type, line, exchange_skus.get(sku_id), exchange_skus.get(to_sku))
            if refusal is not None:
                raise ValidationError(refusal)
        amount = line_amount_fen(line, units, quantity) if case_type in MONEY_TYPES else 0
        items.append({"sku_id": sku_id, "quantity": quantity, "to_sku_id": to_sku, "amount_fen": amount})
        units = hold(units, sku_id, quantity, amount, case_type)
    return items, units


def exchange_refusal(
    case_type: str, line: OrderLine, current: dict[str, Any] | None, target: dict[str, Any] | None
) -> str | None:
    if case_type != "exchange":
        return "to_sku_id is for exchanges only"
    if target is None:
        return "The SKU to exchange to does not exist"
    if target["product_id"] != line.product_id:
        return "An exchange is to another SKU of the same product"
    price = current["price_fen"] if current is not None else line.unit_price_fen
    if int(target["price_fen"]) != int(price):
        return "An exchange is to a SKU of the same price"
    return None


def hold(units: Units, sku_id: str, quantity: int, amount_fen: int, case_type: str) -> Units:
    money = case_type in MONEY_TYPES
    return Units(
        version=units.version,
        held=_add(units.held, sku_id, quantity),
        money_units=_add(units.money_units, sku_id, quantity) if money else units.money_units,
        money_fen=_add(units.money_fen, sku_id, amount_fen) if money else units.money_fen,
        points_returned=units.points_returned,
    )


def released(units: Units, refund: Refund, refunded: bool = False) -> Units:
    """The units a case held, free again: cancelled, rejected, reshipped (its money allocation given up too) or
    refunded (then the money stays allocated: those units are refunded)."""
    state = units
    for item in refund.items:
        sku_id, quantity = str(item["sku_id"]), int(item["quantity"])
        state = Units(
            state.version,
            _add(state.held, sku_id, -quantity),
            state.money_units,
            state.money_fen,
            state.points_returned,
        )
        if refund.type in MONEY_TYPES and not refunded:
            state = Units(
                state.version,
                state.held,
                _add(state.money_units, sku_id, -quantity),
                _add(state.money_fen, sku_id, -int(item["amount_fen"])),
                state.points_returned,
            )
    return state


@dataclass(frozen=True)
class Refunding:
    """What refunding a units case changes on its order: its lines, amounts and after_sales, the points that come
    back, and whether every unit is now refunded (the order is REFUNDED)."""

    lines: list[dict[str, Any]]
    amounts: dict[str, Any]
    units: Units
    points_back: int
    all_refunded: bool


def refunding(order: Order, refund: Refund) -> Refunding:
    """Points used come back pro rata to the goods refunded (rounded down), the last case taking what is left."""
    quantities = units_of(refund)
    lines = [
        {**line.record(), "refunded_quantity": line.refunded_quantity + quantities.get(line.sku_id, 0)}
        for line in order.lines
    ]
    refunded_fen = int(order.amounts.get("refunded_fen") or 0) + refund.amount_fen
    units = released(Units.of(order), refund, refunded=True)
    all_refunded = all(line["refunded_quantity"] >= line["quantity"] for line in lines)
    goods_fen = order.payable_fen - order.shipping_fen
    if all_refunded:
        points_back = order.points_used - units.points_returned
    else:
        points_back = order.points_used * refund.amount_fen // goods_fen if goods_fen > 0 else 0
    points_back = max(min(points_back, order.points_used - units.points_returned), 0)
    units = Units(units.version, units.held, units.money_units, units.money_fen, units.points_returned + points_back)
    amounts = {**order.amounts, "refunded_fen": refunded_fen}
    return Refunding(lines, amounts, units, points_back, all_refunded)


def case_view(refund: Refund, admin: bool = False) -> dict[str, Any]:
    """A case as the API shows it, with its timeline (a whole-order case's told from its times)."""
    timeline = list(refund.timeline) or whole_order_timeline(refund)
    return {**refund.view(admin=admin), "timeline": timeline}


def whole_order_timeline(refund: Refund) -> list[dict[str, str]]:
    entries = [{"status": PENDING, "at": refund.requested_at, "by": refund.requested_by}]
    if refund.decided_at and refund.status != PENDING:
        decided = REJECTED if refund.status == REJECTED else APPROVED
        by = "system" if refund.requested_by == "system" else "staff"
        entries.append({"status": decided, "at": refund.decided_at, "by": by})
    if refund.refunded_at:
        entries.append({"status": REFUNDED, "at": refund.refunded_at, "by": "system"})
    return entries
