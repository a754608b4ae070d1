"""The rules of after-sales cases of some units, on plain values: the fen split, the units a line has left, the
exchange target, and what refunding a case changes on its order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.errors import Conflict, InvalidState, ValidationError
from chalicelib.orders.aftersales_domain import (
    Units,
    case_refusal,
    exchange_refusal,
    plan_items,
    refunding,
    released,
)
from chalicelib.orders.domain import Order, Refund
from tests.unit.orders.fakes import a_line, an_order

AT = "2026-05-01T08:00:00Z"


def three_units_of_1000(**fields: Any) -> Order:
    line = {**a_line(quantity=3, unit_price_fen=400), "payable_fen": 1000}  # 1200 less a 200 discount
    return Order.from_record(an_order("PAID", items=[line], amounts={"payable_fen": 1000, "shipping_fen": 0}, **fields))


def case_of(order: Order, items: list[dict[str, Any]], case_type: str = "refund_only") -> Refund:
    return Refund(
        "rf_1", order.order_id, "u_1", case_type, "x", "APPROVED", order.status,
        sum(int(item["amount_fen"]) for item in items), AT, scope="units", items=tuple(items),
    )  # fmt: skip


def holding(order: Order, units: Units) -> Order:
    return replace(order, after_sales={**units.record(), "version": units.version + 1})


def test_one_unit_at_a_time_of_a_3_unit_line_of_1000_fen_is_333_333_then_334() -> None:
    order, amounts = three_units_of_1000(), []
    for _ in range(3):
        items, units = plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 1}], {})
        amounts.append(items[0]["amount_fen"])
        order = holding(order, units)

    assert amounts == [333, 333, 334]


def test_two_units_then_the_last_sum_to_the_lines_payable_and_a_cancelled_case_gives_its_fen_back() -> None:
    order = three_units_of_1000()
    two, held = plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 2}], {})
    order = holding(order, held)
    last, _ = plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 1}], {})
    freed = holding(order, released(Units.of(order), case_of(order, two)))
    again, _ = plan_items(freed, "refund_only", [{"sku_id": "p_1-01", "quantity": 1}], {})

    assert (two[0]["amount_fen"], last[0]["amount_fen"]) == (666, 334)
    assert again[0]["amount_fen"] == 333


def test_more_units_than_a_line_has_left_is_a_conflict_and_a_sku_the_order_lacks_is_invalid() -> None:
    order = three_units_of_1000()
    _, held = plan_items(order, "exchange", [{"sku_id": "p_1-01", "quantity": 2}], {})
    order = holding(order, held)

    with pytest.raises(Conflict):
        plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 2}], {})
    with pytest.raises(ValidationError):
        plan_items(order, "refund_only", [{"sku_id": "p_9-01", "quantity": 1}], {})


def test_an_exchange_goes_to_another_sku_of_the_same_product_at_the_same_price_only() -> None:
    line = three_units_of_1000().lines[0]
    same = {"sku_id": "p_1-02", "product_id": "p_1", "price_fen": 400}
    current = {"sku_id": "p_1-01", "product_id": "p_1", "price_fen": 400}

    assert exchange_refusal("exchange", line, current, same) is None
    assert exchange_refusal("exchange", line, current, {**same, "price_fen": 500}) is not None
    assert exchange_refusal("exchange", line, current, {**same, "product_id": "p_2"}) is not None
    assert exchange_refusal("exchange", line, current, None) is not None
    assert exchange_refusal("return_refund", line, current, same) is not None


def test_case_types_follow_the_orders_status_and_the_return_window() -> None:
    now = utcnow()
    received = Order.from_record(
        an_order("RECEIVED", timeline=[{"status": "RECEIVED", "at": iso(now - timedelta(seconds=100))}])
    )
    completed = Order.from_record(an_order("COMPLETED"))

    assert isinstance(case_refusal(three_units_of_1000(), "return_refund", 60, now), InvalidState)
    assert case_refusal(three_units_of_1000(), "refund_only", 60, now) is None
    assert isinstance(case_refusal(received, "exchange", 60, now), InvalidState)  # the window closed
    assert case_refusal(received, "repair", 60, now) is None
    assert case_refusal(completed, "repair", 60, now) is None
    assert isinstance(case_refusal(completed, "return_refund", 60, now), InvalidState)


def test_refunding_counts_the_units_and_fen_returns_points_pro_rata_and_the_last_case_takes_the_rest() -> None:
    order = three_units_of_1000(points_used=100)
    first_items, held = plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 1}], {})
    order = holding(order, held)
    first = refunding(order, case_of(order, first_items))
    order = replace(
        order,
        lines=tuple(replace(line, refunded_quantity=1) for line in order.lines),
        amounts=first.amounts,
        after_sales={**first.units.record(), "version": 2},
    )
    rest_items, held = plan_items(order, "refund_only", [{"sku_id": "p_1-01", "quantity": 2}], {})
    order = holding(order, held)
    rest = refunding(order, case_of(order, rest_items))

    assert (first.points_back, first.amounts["refunded_fen"], first.all_refunded) == (33, 333, False)
    assert (rest.points_back, rest.amounts["refunded_fen"], rest.all_refunded) == (67, 1000, True)
    assert [line["refunded_quantity"] for line in rest.lines] == [3]
    assert rest.units.held == {}
