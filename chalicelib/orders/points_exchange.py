"""Orders of the points mall: goods exchanged for points (plus cash) become an order of kind points_exchange, placed
in one transaction with the points it takes, the reward's stock and the exchange's record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.errors import Conflict, NotFound, OutOfStock
from chalicelib.ids import new_id
from chalicelib.orders.domain import PAID, PENDING_PAYMENT, POINTS_EXCHANGE, Order, OrderLine
from chalicelib.orders.placing import _order_no
from chalicelib.orders.repository import PlacementRefused
from chalicelib.orders.service import Shop, emit_order_event
from chalicelib.points.domain import NotEnoughPoints
from chalicelib.points.service import rules_cache
from chalicelib.profile import service as profile_service


def place_exchange_order(
    shop: Shop, user_id: str, reward: dict[str, Any], quantity: int, address_id: str, exchange_id: str
) -> dict[str, Any]:
    """The order shipping `quantity` of a goods reward to one of my addresses (404 otherwise): free shipping, no
    coupon, points deduction or member price; PAID at once when the reward costs no cash, else PENDING_PAYMENT with
    payable_fen = cash_fen x quantity until the usual pay deadline. Its lines are the reward's (sku_id and
    product_id are the reward's id); cancelling it unpaid gives back its points and the reward's stock, in the
    cancellation's own transaction (orders.steps)."""
    address = profile_service.get_address(shop.profile, user_id, address_id)
    now = utcnow()
    created_at = iso(now)
    unit_fen = int(reward.get("cash_fen") or 0)
    cash_fen = unit_fen * quantity
    status = PAID if cash_fen == 0 else PENDING_PAYMENT
    line = OrderLine(
        sku_id=reward["reward_id"],
        product_id=reward["reward_id"],
        title=reward["title"],
        image_url=reward.get("image_url"),
        quantity=quantity,
        list_price_fen=unit_fen,
        unit_price_fen=unit_fen,
        line_total_fen=cash_fen,
        payable_fen=cash_fen,
    )
    order = Order(
        order_id=new_id("o"),
        order_no=_order_no(now),
        user_id=user_id,
        status=status,
        created_at=created_at,
        pay_deadline=iso(now + timedelta(seconds=shop.timers.payment_timeout_seconds)),
        lines=(line,),
        amounts={
            "items_fen": cash_fen,
            "discount_fen": 0,
            "promotion_discount_fen": 0,
            "coupon_discount_fen": 0,
            "member_discount_fen": 0,
            "points_deduction_fen": 0,
            "shipping_fen": 0,
            "payable_fen": cash_fen,
        },
        address=address,
        points_used=int(reward["points"]) * quantity,
        points_rules=rules_cache.get(shop.points).order_values(),
        timeline=({"status": status, "at": created_at},),
        due_at=created_at,  # the outbox starts its execution; the sweeper repairs a missed start (as any order)
        kind=POINTS_EXCHANGE,
        source_ref=exchange_id,
    )
    try:
        shop.orders.place(order, f"exchange:{exchange_id}", exchange_id)
    except PlacementRefused:
        _explain_refusal(shop, user_id, reward, quantity)
        raise
    emit_order_event("order_placed", order)
    if status == PAID:
        emit_order_event("order_paid", order, payment_id=None, amount_fen=0)
    return order.view()


def _explain_refusal(shop: Shop, user_id: str, reward: dict[str, Any], quantity: int) -> None:
    """Why the exchange's transaction was refused, read back: the reward withdrawn or sold out, or the points spent
    meanwhile."""
    current = shop.points.reward(reward["reward_id"])
    if current is None or not current["active"]:
        raise NotFound("No such reward")
    if (current["stock"] or 0) < quantity:
        raise OutOfStock(f"Only {max(current['stock'] or 0, 0)} of this reward left")
    cost, held = int(reward["points"]) * quantity, shop.points.balance(user_id) or 0
    if held < cost:
        raise NotEnoughPoints(f"Not enough points: this exchange costs {cost}, you have {held}")
    raise Conflict("The reward changed meanwhile; try again")
