"""A buyer's orders as their account's deletion sees them: in progress while an order is open or an after-sales case
holds units of a completed one, on whatever page of their completed orders it is."""

from __future__ import annotations

from chalicelib.orders import buyers
from chalicelib.orders.service import Shop
from tests.unit.orders.fakes import ORDER_ID, FakeOrdersRepository, an_order


def completed_orders(orders: FakeOrdersRepository, count: int) -> list[str]:
    """`count` completed orders of u_1, newest first (the fixture's own order among them, completed too)."""
    ids = [ORDER_ID] + [f"o_done_{n:03d}" for n in range(count - 1)]
    for n, order_id in enumerate(ids):
        orders.orders[order_id] = {**an_order(), "order_id": order_id, "status": "COMPLETED",
                                   "created_at": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z"}  # fmt: skip
    return sorted(ids, key=lambda order_id: orders.orders[order_id]["created_at"], reverse=True)


def test_completed_orders_alone_are_not_in_progress(shop: Shop, orders: FakeOrdersRepository) -> None:
    # GIVEN only completed orders, more than a page of them
    completed_orders(orders, buyers.PAGE + 5)

    # THEN nothing is in progress
    assert not buyers.has_orders_in_progress(shop, "u_1")


def test_a_case_holding_units_of_a_completed_order_past_the_first_page_is_in_progress(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    # GIVEN completed orders, the oldest with a repair case still holding a unit
    oldest = completed_orders(orders, buyers.PAGE + 5)[-1]
    orders.orders[oldest]["after_sales"] = {"held": {"sku_1": 1}, "money_units": {}, "money_fen": {}}

    # WHEN the deletion asks THEN the account has something in progress; once the case frees the unit, it has not
    assert buyers.has_orders_in_progress(shop, "u_1")
    orders.orders[oldest]["after_sales"]["held"] = {"sku_1": 0}
    assert not buyers.has_orders_in_progress(shop, "u_1")


def test_an_open_order_is_in_progress(shop: Shop, orders: FakeOrdersRepository) -> None:
    # GIVEN the fixture's order, paid and not shipped THEN the account has something in progress
    orders.orders[ORDER_ID]["status"] = "PAID"
    assert buyers.has_orders_in_progress(shop, "u_1")
