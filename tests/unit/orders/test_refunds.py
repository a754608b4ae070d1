"""Unit tests of refunds and returns on in-memory fakes: which orders may ask, one open refund at a time, the
admin's decision (an approval starts the refund's own execution), refunding once through the channel, giving back
once, points and coupon rules, and the due time a rejection puts the order back with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.errors import Conflict, DependencyUnavailable, InvalidState, NotFound
from chalicelib.orders import service, tasks
from chalicelib.orders.schemas import RefundRejection, RefundRequest
from chalicelib.orders.service import Shop
from tests.unit.orders.fakes import (
    ORDER_ID,
    FakeChannelRefunds,
    FakeOrdersRepository,
    FakePoints,
    RecordingWorkflow,
    a_used_coupon,
    an_order,
)
from tests.unit.test_coupons_fakes import FakeCouponsRepository

REFUND_ONLY = RefundRequest(type="refund_only", reason="不想要了")
RETURN = RefundRequest(type="return_refund", reason="尺码不合适")
WINDOW = 604800
AUTO_RECEIVE = 1209600
SHIP_DEADLINE = 604800
AUTO_APPROVE = 172800


def in_status(orders: FakeOrdersRepository, status: str, **fields: Any) -> dict[str, Any]:
    """Put the order in `status`, paid (19800 fen of which 800 shipping, 300 points used) and, past PAID, shipped."""
    now = utcnow()
    paid_at = iso(now - timedelta(days=3))
    order = orders.orders[ORDER_ID]
    order.update(status=status, points_used=300, payment={"payment_id": "pay_1", "amount_fen": 19800,
                                                          "paid_at": paid_at})  # fmt: skip
    order["amounts"] = {"payable_fen": 19800, "shipping_fen": 800}
    order["timeline"] = [{"status": "PENDING_PAYMENT", "at": "t0"}, {"status": "PAID", "at": paid_at}]
    if status in ("SHIPPED", "RECEIVED"):
        order["shipment"] = {"carrier": "sf", "tracking_no": "SF1", "shipped_at": iso(now - timedelta(days=2))}
        order["timeline"].append({"status": "SHIPPED", "at": iso(now - timedelta(days=2))})
    if status == "RECEIVED":
        order["timeline"].append({"status": "RECEIVED", "at": iso(now - timedelta(days=1))})
    order.update(fields)
    return order


def seconds_from_now(moment: str) -> float:
    return (datetime.fromisoformat(moment.replace("Z", "+00:00")) - utcnow()).total_seconds()


def durations(window: int) -> dict[str, int]:
    return {"ship_deadline_seconds": SHIP_DEADLINE, "auto_receive_seconds": AUTO_RECEIVE,
            "review_window_seconds": window, "after_sales_auto_approve_seconds": AUTO_APPROVE}  # fmt: skip


def approved(shop: Shop, orders: FakeOrdersRepository, status: str, request: RefundRequest) -> dict[str, Any]:
    in_status(orders, status)
    refund = service.request_refund(shop, "u_1", ORDER_ID, request)
    service.approve_refund(shop, refund["refund_id"])
    return refund


def test_a_refund_only_request_on_a_paid_order_is_pending_for_the_whole_payable_and_due_at_its_auto_approval(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    in_status(orders, "PAID")

    refund = service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY)
    deliver_outbox()

    assert (refund["status"], refund["type"], refund["amount_fen"]) == ("PENDING", "refund_only", 19800)
    order = service.get_order(shop, "u_1", ORDER_ID)
    assert order["status"] == "REFUNDING" and order["refund_id"] == refund["refund_id"]
    assert [entry["status"] for entry in order["timeline"]][-1] == "REFUNDING"
    assert abs(seconds_from_now(orders.orders[ORDER_ID]["due_at"]) - AUTO_APPROVE) <= 5
    assert workflow.answers == []  # no execution waits on a paid order


def test_a_return_refunds_what_was_paid_but_the_shipping(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    in_status(orders, "RECEIVED")

    refund = service.request_refund(shop, "u_1", ORDER_ID, RETURN)
    deliver_outbox()

    assert refund["amount_fen"] == 19800 - 800
    assert workflow.answers == []


@pytest.mark.parametrize(
    ("status", "request_"),
    [
        ("PENDING_PAYMENT", REFUND_ONLY), ("SHIPPED", REFUND_ONLY), ("RECEIVED", REFUND_ONLY),
        ("PENDING_PAYMENT", RETURN), ("PAID", RETURN), ("COMPLETED", RETURN), ("CANCELLED", RETURN),
        ("REFUNDED", RETURN),
    ],
)  # fmt: skip
def test_a_refund_of_the_wrong_kind_for_the_orders_status_is_an_invalid_state_and_changes_nothing(
    shop: Shop, orders: FakeOrdersRepository, status: str, request_: RefundRequest
) -> None:
    in_status(orders, status)

    with pytest.raises(InvalidState):
        service.request_refund(shop, "u_1", ORDER_ID, request_)
    assert orders.orders[ORDER_ID]["status"] == status and orders.refunds == {}


def test_a_return_after_the_return_window_closed_is_refused(shop: Shop, orders: FakeOrdersRepository) -> None:
    in_status(orders, "RECEIVED")
    orders.orders[ORDER_ID]["timeline"][-1]["at"] = iso(utcnow() - timedelta(seconds=WINDOW + 60))

    with pytest.raises(InvalidState, match="window"):
        service.request_refund(shop, "u_1", ORDER_ID, RETURN)


def test_a_second_open_refund_on_the_same_order_is_a_conflict(shop: Shop, orders: FakeOrdersRepository) -> None:
    in_status(orders, "SHIPPED")
    service.request_refund(shop, "u_1", ORDER_ID, RETURN)

    with pytest.raises(Conflict, match="open refund") as refused:
        service.request_refund(shop, "u_1", ORDER_ID, RETURN)
    assert not isinstance(refused.value, InvalidState)
    assert len(orders.refunds) == 1


def test_another_users_order_cannot_be_refunded_nor_its_refunds_read(shop: Shop, orders: FakeOrdersRepository) -> None:
    in_status(orders, "PAID")

    with pytest.raises(NotFound):
        service.request_refund(shop, "u_2", ORDER_ID, REFUND_ONLY)
    with pytest.raises(NotFound):
        service.order_refunds(shop, "u_2", ORDER_ID)
    assert orders.orders[ORDER_ID]["status"] == "PAID"


def test_a_rejection_puts_the_order_back_starts_nothing_and_a_new_request_is_possible_again(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    in_status(orders, "SHIPPED")
    first = service.request_refund(shop, "u_1", ORDER_ID, RETURN)

    rejected = service.reject_refund(shop, first["refund_id"], RefundRejection(reason="商品已拆封"))
    deliver_outbox()
    second = service.request_refund(shop, "u_1", ORDER_ID, RETURN)

    assert (rejected["status"], rejected["reject_reason"]) == ("REJECTED", "商品已拆封")
    assert workflow.answers == []
    statuses = [entry["status"] for entry in orders.orders[ORDER_ID]["timeline"]]
    assert statuses[-3:] == ["REFUNDING", "SHIPPED", "REFUNDING"]
    listed = service.order_refunds(shop, "u_1", ORDER_ID)["items"]
    assert [(r["refund_id"], r["status"]) for r in listed] == [(first["refund_id"], "REJECTED"),
                                                              (second["refund_id"], "PENDING")]  # fmt: skip


def test_a_decided_refund_cannot_be_decided_again(shop: Shop, orders: FakeOrdersRepository) -> None:
    refund = approved(shop, orders, "PAID", REFUND_ONLY)

    with pytest.raises(InvalidState):
        service.approve_refund(shop, refund["refund_id"])
    with pytest.raises(InvalidState):
        service.reject_refund(shop, refund["refund_id"], RefundRejection(reason="no"))
    with pytest.raises(NotFound):
        service.approve_refund(shop, "rf_none")
    assert orders.orders[ORDER_ID]["status"] == "REFUNDING"


def test_only_an_approval_starts_a_refund_execution_and_a_repeated_start_is_the_same_execution(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    in_status(orders, "PAID")
    first = service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY)
    service.reject_refund(shop, first["refund_id"], RefundRejection(reason="已发货"))
    assert tasks.start_refund(shop, first["refund_id"]) == "rejected"

    second = service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY)
    service.approve_refund(shop, second["refund_id"])
    deliver_outbox()
    assert tasks.start_refund(shop, second["refund_id"]) == "started"

    starts = [answer for answer in workflow.answers if answer[0] == "start_refund"]
    assert [answer[1] for answer in starts] == [second["refund_id"]] * 2  # named by the refund: one execution
    assert len({refund_id for _, refund_id, _ in starts}) == 1


def test_the_receipt_and_settlement_timers_leave_an_order_with_an_open_refund_alone(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    in_status(orders, "REFUNDING")

    for task in (tasks.auto_receive, tasks.settle):
        with pytest.raises(tasks.RefundRequested):
            task(shop, ORDER_ID)


def test_a_refund_requested_before_settlement_means_no_points_are_ever_earned_on_the_order(
    shop: Shop, orders: FakeOrdersRepository, points: FakePoints
) -> None:
    refund = approved(shop, orders, "RECEIVED", RETURN)

    with pytest.raises(tasks.RefundRequested):
        tasks.settle(shop, ORDER_ID)
    tasks.refund_payment(shop, ORDER_ID)
    tasks.complete_refund(shop, ORDER_ID)

    assert f"order:{ORDER_ID}:earn" not in points.refs
    assert points.refs == {f"order:{ORDER_ID}:refund": 300}
    assert orders.refunds[refund["refund_id"]]["status"] == "REFUNDED"


def test_an_approved_refund_goes_back_through_the_channel_once_and_gives_stock_and_points_back_once(
    shop: Shop, orders: FakeOrdersRepository, points: FakePoints, channel: FakeChannelRefunds
) -> None:
    refund = approved(shop, orders, "PAID", REFUND_ONLY)

    first = tasks.refund_payment(shop, ORDER_ID)
    again = tasks.refund_payment(shop, ORDER_ID)  # the task ran twice (a retry after a lost answer)
    done = tasks.complete_refund(shop, ORDER_ID)
    done_again = tasks.complete_refund(shop, ORDER_ID)
    after = tasks.refund_payment(shop, ORDER_ID)

    assert first == again == after == {"status": "SUCCESS", "refund_id": refund["refund_id"]}
    assert {call[1] for call in channel.calls} == {refund["refund_id"]} and len(channel.calls) == 2
    assert channel.refunded == {refund["refund_id"]: 19800}
    assert done == done_again == {"status": "REFUNDED"}
    assert orders.stock_returned == {"p_1-01": 2}
    assert points.refs == {f"order:{ORDER_ID}:refund": 300}
    assert orders.orders[ORDER_ID]["status"] == "REFUNDED"
    assert [entry["status"] for entry in orders.orders[ORDER_ID]["timeline"]][-2:] == ["REFUNDING", "REFUNDED"]


def coupon_status(coupons: FakeCouponsRepository) -> tuple[str, str | None]:
    coupon = coupons.user_coupon("u_1", "c_1") or {}
    return coupon["status"], coupon.get("locked_by")


def test_an_order_refunded_in_full_before_shipping_gives_its_coupon_back_once(
    shop: Shop, orders: FakeOrdersRepository, coupons: FakeCouponsRepository
) -> None:
    # GIVEN a paid order, unshipped, whose still-valid coupon is used; its refund_only refund (everything) approved
    approved(shop, orders, "PAID", REFUND_ONLY)
    tasks.refund_payment(shop, ORDER_ID)

    # WHEN the refund completes, and the task runs again
    tasks.complete_refund(shop, ORDER_ID)
    given_back = coupon_status(coupons)
    coupons.coupon_items["u_1"]["c_1"].update(locked_by="o_next")  # meanwhile another order takes it
    tasks.complete_refund(shop, ORDER_ID)

    # THEN the coupon came back unused and free, once: the retry did not touch the next order's hold
    assert given_back == ("unused", None)
    assert coupon_status(coupons) == ("unused", "o_next")
    assert orders.orders[ORDER_ID]["status"] == "REFUNDED"


@pytest.mark.parametrize(
    ("status", "request_", "days_left"),
    [("SHIPPED", RETURN, 30), ("RECEIVED", RETURN, 30), ("PAID", REFUND_ONLY, -1)],
    ids=["after shipping", "after receipt", "expired coupon"],
)
def test_a_refund_after_shipping_or_of_an_expired_coupon_keeps_the_coupon_used(
    shop: Shop,
    orders: FakeOrdersRepository,
    coupons: FakeCouponsRepository,
    status: str,
    request_: RefundRequest,
    days_left: int,
) -> None:
    coupons.coupon_items["u_1"]["c_1"] = a_used_coupon(days_left)
    approved(shop, orders, status, request_)
    tasks.refund_payment(shop, ORDER_ID)

    tasks.complete_refund(shop, ORDER_ID)

    assert orders.orders[ORDER_ID]["status"] == "REFUNDED"
    assert coupon_status(coupons) == ("used", ORDER_ID)


def test_a_partial_refund_keeps_the_coupon_used(
    shop: Shop, orders: FakeOrdersRepository, coupons: FakeCouponsRepository
) -> None:
    refund = approved(shop, orders, "PAID", REFUND_ONLY)
    orders.refunds[refund["refund_id"]]["amount_fen"] = 9900  # some of what was paid (after-sales of some units)
    tasks.refund_payment(shop, ORDER_ID)

    tasks.complete_refund(shop, ORDER_ID)

    assert coupon_status(coupons) == ("used", ORDER_ID)


def test_a_refund_still_processing_or_a_provider_out_of_reach_is_retried_with_the_same_refund_id(
    shop: Shop, orders: FakeOrdersRepository, channel: FakeChannelRefunds
) -> None:
    refund = approved(shop, orders, "SHIPPED", RETURN)
    channel.answers = ["PROCESSING", DependencyUnavailable("provider down")]

    with pytest.raises(tasks.RefundProcessing):
        tasks.refund_payment(shop, ORDER_ID)
    with pytest.raises(DependencyUnavailable):
        tasks.refund_payment(shop, ORDER_ID)
    assert tasks.refund_payment(shop, ORDER_ID)["status"] == "SUCCESS"

    assert [call[1:] for call in channel.calls] == [(refund["refund_id"], 19000)] * 3


def test_nothing_is_refunded_or_given_back_before_the_admin_approves(
    shop: Shop, orders: FakeOrdersRepository, channel: FakeChannelRefunds
) -> None:
    in_status(orders, "PAID")
    service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY)

    with pytest.raises(tasks.OrderNotReady):
        tasks.refund_payment(shop, ORDER_ID)
    with pytest.raises(tasks.OrderNotReady):
        tasks.complete_refund(shop, ORDER_ID)
    assert channel.calls == [] and orders.stock_returned == {}


def test_a_rejection_puts_the_order_back_due_when_what_was_left_of_its_timer_runs_out(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    # paid 3 days ago, shipped 2 days ago, received 1 day ago (in_status)
    for status, left in (
        ("PAID", SHIP_DEADLINE - 3 * 86400),
        ("SHIPPED", AUTO_RECEIVE - 2 * 86400),
        ("RECEIVED", WINDOW - 86400),
    ):
        orders.orders[ORDER_ID] = an_order()
        in_status(orders, status)
        refund = service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY if status == "PAID" else RETURN)
        service.reject_refund(shop, refund["refund_id"], RefundRejection(reason="no"))

        assert orders.orders[ORDER_ID]["status"] == status
        assert abs(seconds_from_now(orders.orders[ORDER_ID]["due_at"]) - left) <= 5


def test_a_timer_that_ran_out_while_the_refund_was_decided_is_due_at_once(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    in_status(orders, "RECEIVED")
    refund = service.request_refund(shop, "u_1", ORDER_ID, RETURN)
    orders.orders[ORDER_ID]["timeline"][3]["at"] = iso(utcnow() - timedelta(days=8))  # received 8 days ago

    service.reject_refund(shop, refund["refund_id"], RefundRejection(reason="no"))

    assert orders.orders[ORDER_ID]["status"] == "RECEIVED" and seconds_from_now(orders.orders[ORDER_ID]["due_at"]) < 0


def test_the_admins_queue_lists_refunds_in_one_status_with_their_customer(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    in_status(orders, "PAID")
    refund = service.request_refund(shop, "u_1", ORDER_ID, REFUND_ONLY)

    pending = service.list_refunds(shop, service.RefundsQuery(status="PENDING"))
    approved_ = service.list_refunds(shop, service.RefundsQuery(status="APPROVED"))

    assert [(r["refund_id"], r["user_id"]) for r in pending["items"]] == [(refund["refund_id"], "u_1")]
    assert approved_["items"] == []
