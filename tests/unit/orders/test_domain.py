"""The order's rules as plain values: the transition table, what each step gives back, refunds and timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.orders.deadlines import OrderTimers, state_deadline
from chalicelib.orders.domain import (
    TRANSITIONS,
    NotAllowed,
    Order,
    OrderEvent,
    Refund,
    coupon_given_back,
    next_status,
    points_earned,
    refund_amount_fen,
    refund_refusal,
)
from chalicelib.orders.steps import CountSales, CouponChange, PostPoints, Restock, placing_effects, step
from tests.unit.orders.fakes import a_line, a_used_coupon, an_order

AT = "2026-05-01T08:00:00Z"


def order(status: str = "PENDING_PAYMENT", **fields: object) -> Order:
    return Order.from_record(an_order(status, **fields))


def refund(from_status: str = "PAID", amount_fen: int = 19800, status: str = "APPROVED") -> Refund:
    return Refund("rf_1", "o_1", "u_1", "refund_only", "不要了", status, from_status, amount_fen, AT, decided_at=AT)


def test_every_status_but_the_final_ones_has_a_way_on_and_the_final_ones_none() -> None:
    leaving = {status for status, _ in TRANSITIONS}

    assert leaving == {"PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED", "REFUNDING"}
    assert {to for to, _ in TRANSITIONS.values()} >= {"CANCELLED", "COMPLETED", "REFUNDED"}


def test_cancelling_an_unpaid_order_gives_back_its_stock_coupon_and_points() -> None:
    unpaid = order(points_used=300, items=[a_line("p_1-01", 2), a_line("p_2-01", 1)])

    cancelled = step(unpaid, OrderEvent.CANCEL, AT, None)

    assert (cancelled.expected, cancelled.status, cancelled.due) == ("PENDING_PAYMENT", "CANCELLED", None)
    assert cancelled.effects == (
        Restock({"p_1-01": 2, "p_2-01": 1}),
        CouponChange("u_1", "c_1", "o_1", "release", AT),
        PostPoints("u_1", 300, "订单取消退回", "order:o_1:refund"),
    )


def test_only_an_unpaid_order_can_be_cancelled_or_paid() -> None:
    for status in ("PAID", "SHIPPED", "RECEIVED", "REFUNDING", "COMPLETED", "CANCELLED", "REFUNDED"):
        with pytest.raises(NotAllowed, match=f"An order that is {status} cannot be cancelled"):
            step(order(status), OrderEvent.CANCEL, AT, None)
        with pytest.raises(NotAllowed):
            next_status(order(status), OrderEvent.PAY)


def test_paying_uses_the_coupon_and_only_before_the_pay_deadline() -> None:
    paid = step(order(), OrderEvent.PAY, AT, "later", payment={"payment_id": "pay-1"})

    assert (paid.status, paid.paid_before, paid.fields) == ("PAID", AT, {"payment": {"payment_id": "pay-1"}})
    assert paid.effects == (CouponChange("u_1", "c_1", "o_1", "use", AT),)


def test_placing_takes_stock_locks_the_coupon_and_debits_the_points() -> None:
    placed = order(points_used=500, items=[a_line("p_1-01", 3)])

    assert placing_effects(placed) == (
        Restock({"p_1-01": -3}),
        CouponChange("u_1", "c_1", "o_1", "lock", placed.created_at),
        PostPoints("u_1", -500, "订单抵扣", "order:o_1:deduct"),
    )


def test_settling_earns_points_on_the_goods_paid_and_counts_the_sales() -> None:
    received = order("RECEIVED", amounts={"payable_fen": 20800, "shipping_fen": 1000})

    settled = step(received, OrderEvent.SETTLE, AT, None, settled_at=AT)

    assert points_earned(received) == 198  # 1 point per whole yuan paid for the goods, not the shipping
    assert settled.status == "COMPLETED"
    assert settled.effects == (PostPoints("u_1", 198, "订单完成", "order:o_1:earn"), CountSales({"p_1": 2}))


def test_a_rejected_refund_takes_the_order_back_to_where_it_came_from_and_nothing_moves() -> None:
    refunding = order("REFUNDING", refund_id="rf_1")

    back = step(refunding, OrderEvent.REJECT_REFUND, AT, "later", refund=refund("SHIPPED", status="PENDING"))

    assert (back.status, back.refund_id, back.effects) == ("SHIPPED", "rf_1", ())


def test_a_completed_refund_gives_back_stock_points_and_the_coupon_it_is_told_to() -> None:
    refunding = order("REFUNDING", refund_id="rf_1", points_used=100)

    done = step(refunding, OrderEvent.COMPLETE_REFUND, AT, None, refund=refund(), coupon_back="c_1")

    assert done.effects == (
        Restock({"p_1-01": 2}, skip_removed=True),
        PostPoints("u_1", 100, "订单退款退回", "order:o_1:refund"),
        CouponChange("u_1", "c_1", "o_1", "give_back", AT),
    )


def test_a_refund_only_returns_everything_paid_and_a_return_all_but_the_shipping() -> None:
    paid = order("PAID", amounts={"payable_fen": 10000, "shipping_fen": 1000})

    assert (refund_amount_fen(paid, "refund_only"), refund_amount_fen(paid, "return_refund")) == (10000, 9000)


def test_a_refund_is_refused_in_the_wrong_status_twice_or_after_the_return_window() -> None:
    now = utcnow()
    received_long_ago = order("RECEIVED", timeline=[{"status": "RECEIVED", "at": iso(now - timedelta(days=8))}])

    assert str(refund_refusal(order("PAID"), "return_refund", 604800, now)).startswith("A return_refund refund needs")
    assert (
        str(refund_refusal(order("REFUNDING"), "refund_only", 604800, now)) == "This order has an open refund already"
    )
    assert (
        str(refund_refusal(received_long_ago, "return_refund", 604800, now))
        == "The return window of this order has closed"
    )
    assert refund_refusal(order("SHIPPED"), "return_refund", 604800, now) is None


def test_the_coupon_comes_back_only_with_a_full_refund_before_shipping_while_it_is_still_valid() -> None:
    paid, now = order("REFUNDING"), utcnow()

    assert coupon_given_back(paid, refund("PAID"), a_used_coupon(), now) == "c_1"
    assert coupon_given_back(paid, refund("SHIPPED"), a_used_coupon(), now) is None
    assert coupon_given_back(paid, refund("PAID", amount_fen=100), a_used_coupon(), now) is None
    assert coupon_given_back(paid, refund("PAID"), a_used_coupon(days_left=-1), now) is None
    assert coupon_given_back(paid, refund("PAID"), a_used_coupon(order_id="o_other"), now) is None


def test_each_status_runs_out_at_its_own_deadline() -> None:
    durations = OrderTimers().durations()
    paid = order("PAID", payment={"paid_at": AT})
    shipped = order("SHIPPED", shipment={"shipped_at": AT})
    received = order("RECEIVED", timeline=[{"status": "RECEIVED", "at": AT}])
    pending_refund = order("REFUNDING")

    assert state_deadline(order(pay_deadline=AT), None, durations) == parse_iso(AT)
    assert state_deadline(paid, None, durations) == parse_iso(AT) + timedelta(days=7)
    assert state_deadline(shipped, None, durations) == parse_iso(AT) + timedelta(days=14)
    assert state_deadline(received, None, durations) == parse_iso(AT) + timedelta(days=7)
    assert state_deadline(pending_refund, refund(status="PENDING"), durations) == parse_iso(AT) + timedelta(days=2)
    assert state_deadline(order("COMPLETED"), None, durations) is None
