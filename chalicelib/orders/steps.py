"""A step of an order's life as the repository writes it: the status change and what it gives back or takes (the
domain's TRANSITIONS say which), each effect a plain value the repository turns into actions of one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.orders.domain import (
    FLASH_SALE,
    PENDING_PAYMENT,
    POINTS_EXCHANGE,
    REFUNDING,
    TRANSITIONS,
    Gives,
    Order,
    OrderEvent,
    Refund,
    next_status,
    points_earned,
)

# The points ledger's reason for each posting an order makes, and the ref that makes it once.
POINTS_REASONS = {
    "deduct": "订单抵扣",
    "cancel": "订单取消退回",
    "refund": "订单退款退回",
    "earn": "订单完成",
    "exchange": "积分兑换",
}


@dataclass(frozen=True)
class Restock:
    """Quantities back to their SKUs; a SKU removed since gets none and blocks nothing when `skip_removed`."""

    quantities: dict[str, int]
    skip_removed: bool = False


@dataclass(frozen=True)
class PostPoints:
    """One posting to the user's points ledger (negative: taken), made once per ref."""

    user_id: str
    delta: int
    reason: str
    ref: str


@dataclass(frozen=True)
class PostGrowth:
    """Growth of the members club (negative: taken back, never below 0), counted once per reason and ref: "order"
    (the order's id) when paid, "refund" (the refund's id) when refunded."""

    user_id: str
    delta: int
    reason: str
    ref: str
    at: str


@dataclass(frozen=True)
class CouponChange:
    """The order's coupon: `lock` (placed), `release` (cancelled unpaid), `use` (paid), `give_back` (refunded)."""

    user_id: str
    coupon_id: str
    order_id: str
    change: str
    at: str = ""


@dataclass(frozen=True)
class CountSales:
    """Quantities to the products' sales counters (products removed since are left out)."""

    quantities: dict[str, int]


@dataclass(frozen=True)
class RewardStock:
    """A points-exchange order's goods rewards: units taken (negative) with the exchange's record when it is placed,
    given back when it is cancelled or refunded."""

    quantities: dict[str, int]
    user_id: str = ""
    exchange: dict[str, Any] | None = None


Effect = Restock | PostPoints | CouponChange | CountSales | PostGrowth | RewardStock


@dataclass(frozen=True)
class Step:
    """One conditional write of an order: from `expected` to `status` at `at`, with these fields set, due next at
    `due` (None: no longer due), and these effects, all at once or not at all."""

    order_id: str
    user_id: str
    expected: str
    status: str
    at: str
    due: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    effects: tuple[Effect, ...] = ()
    paid_before: str | None = None  # PAY: only while the pay deadline is after this moment
    refund_id: str | None = None  # a step of a refund's case: only while the order's case is this refund
    cases_version: int | None = None  # only while no units case changed the order since (opening a whole case)


def step(
    order: Order,
    event: OrderEvent,
    at: str,
    due: str | None,
    *,
    refund: Refund | None = None,
    coupon_back: str | None = None,
    growth: int = 0,
    **changes: Any,
) -> Step:
    """The step `event` takes the order by (TRANSITIONS), or NotAllowed in its status; `growth` (the members club's,
    earned when paid, negative: taken back by a refund) goes with it."""
    status, gives = next_status(order, event, refund), TRANSITIONS[(order.status, event)][1]
    effects = tuple(effect for kind in gives if (effect := _effect(order, kind, at, coupon_back)) is not None)
    if growth:
        reason, ref = ("order", order.order_id) if growth > 0 or refund is None else ("refund", refund.refund_id)
        effects = (*effects, PostGrowth(order.user_id, growth, reason, ref, at))
    return Step(
        order_id=order.order_id,
        user_id=order.user_id,
        expected=order.status,
        status=status,
        at=at,
        due=due,
        fields=changes,
        effects=effects,
        paid_before=at if event is OrderEvent.PAY else None,
        refund_id=refund.refund_id if refund is not None else None,
    )


def _effect(order: Order, kind: Gives, at: str, coupon_back: str | None) -> Effect | None:
    if kind is Gives.RESTOCK:
        if order.kind == POINTS_EXCHANGE:  # its lines are the reward's units, not a SKU's
            return RewardStock(quantities_by(order, "sku_id"))
        if order.kind == FLASH_SALE and order.status == REFUNDING:  # sold, then refunded: back on the SKU's shelf
            return Restock(quantities_by(order, "sku_id"), skip_removed=True)
        if not order.takes_regular_stock:
            return None  # an unpaid flash-sale unit goes back to its session (chalicelib/orders/outbox.py)
        # Cancelling needs every SKU it gives back to; a refund gives back to the SKUs still sold (but the units
        # its units cases refunded already).
        if order.status != REFUNDING:
            return Restock(quantities_by(order, "sku_id"))
        left = {line.sku_id: line.quantity - line.refunded_quantity for line in order.lines}
        return Restock({sku: n for sku, n in left.items() if n > 0}, skip_removed=True)
    if kind is Gives.COUNT_SALES:
        return CountSales(quantities_by(order, "product_id"))
    returned = int(order.after_sales.get("points_returned") or 0)  # by its units cases
    if kind is Gives.RETURN_POINTS and order.points_used > returned:
        purpose = "cancel" if order.status == PENDING_PAYMENT else "refund"
        back = order.points_used - returned
        return PostPoints(order.user_id, back, POINTS_REASONS[purpose], points_ref(order, "refund"))
    if kind is Gives.EARN_POINTS and (earned := points_earned(order)) > 0:
        return PostPoints(order.user_id, earned, POINTS_REASONS["earn"], points_ref(order, "earn"))
    if kind in (Gives.RELEASE_COUPON, Gives.USE_COUPON) and order.coupon_id:
        change = "release" if kind is Gives.RELEASE_COUPON else "use"
        return CouponChange(order.user_id, order.coupon_id, order.order_id, change, at)
    if kind is Gives.GIVE_BACK_COUPON and coupon_back:
        return CouponChange(order.user_id, coupon_back, order.order_id, "give_back", at)
    return None


def placing_effects(order: Order) -> tuple[Effect, ...]:
    """What placing takes, in the order's own transaction: every line's stock (never below zero), the coupon
    (locked to the order until it is paid or cancelled) and the points it uses."""
    taken: list[Effect] = []
    if order.takes_regular_stock:
        taken.append(Restock({sku: -quantity for sku, quantity in quantities_by(order, "sku_id").items()}))
    if order.coupon_id:
        taken.append(CouponChange(order.user_id, order.coupon_id, order.order_id, "lock", order.created_at))
    if order.kind == POINTS_EXCHANGE:
        taken.append(
            RewardStock(
                {r: -q for r, q in quantities_by(order, "sku_id").items()}, order.user_id, exchange_record(order)
            )
        )
    if order.points_used:
        reason = POINTS_REASONS["exchange" if order.kind == POINTS_EXCHANGE else "deduct"]
        taken.append(PostPoints(order.user_id, -order.points_used, reason, points_ref(order, "deduct")))
    return tuple(taken)


def exchange_record(order: Order) -> dict[str, Any]:
    """The exchange a points-exchange order ships (its source_ref), as the buyer's exchange list shows it."""
    line = order.lines[0]
    return {
        "exchange_id": order.source_ref,
        "reward_id": line.sku_id,
        "kind": "goods",
        "title": line.title,
        "points_spent": order.points_used,
        "quantity": line.quantity,
        "cash_fen": order.payable_fen,
        "order_id": order.order_id,
        "coupon_id": None,
        "at": order.created_at,
    }


def quantities_by(order: Order, key: str) -> dict[str, int]:
    """The order's quantities per SKU (key "sku_id") or per product ("product_id")."""
    totals: dict[str, int] = {}
    for line in order.lines:
        name = str(getattr(line, key))
        totals[name] = totals.get(name, 0) + int(line.quantity)
    return totals


def points_ref(order: Order, purpose: str) -> str:
    return f"order:{order.order_id}:{purpose}"
