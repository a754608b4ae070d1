"""Unit tests of what keeps an order from getting stuck, on in-memory fakes: the outbox (the payment wait's start and
answer, and an approved refund's start, come from committed changes, delivered until they succeed), the sweeper over
the due orders (the timers after payment, and repairs), the ship-deadline and refund auto-approval timers, and a
payment that arrives after the pay deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.errors import DependencyUnavailable
from chalicelib.orders import outbox, service, sweeper, tasks
from chalicelib.orders.domain import Order
from chalicelib.orders.schemas import RefundRejection, RefundRequest
from chalicelib.orders.service import Shop
from chalicelib.orders.sweeper import SweepPolicy
from tests.unit.orders.fakes import (
    ORDER_ID,
    FakeChannelRefunds,
    FakeOrdersRepository,
    FakePoints,
    RecordingNotifier,
    RecordingWorkflow,
    an_order,
)

SHIP_DEADLINE = 604800
AUTO_APPROVE = 172800
GRACE = 300

SWEEP = SweepPolicy()  # the settings' defaults: 5 minutes' grace, 15 before a retry


def ago(**delta: float) -> str:
    return iso(utcnow() - timedelta(**delta))


def seconds_from_now(moment: str) -> float:
    return (datetime.fromisoformat(moment.replace("Z", "+00:00")) - utcnow()).total_seconds()


def paid(orders: FakeOrdersRepository, paid_at: str, **fields: Any) -> dict[str, Any]:
    """The order PAID at `paid_at` (19800 fen, 300 points used), due at its ship deadline as pay() leaves it."""
    order = orders.orders[ORDER_ID]
    order.update(status="PAID", points_used=300, payment={"payment_id": "pay_1", "amount_fen": 19800,
                                                         "paid_at": paid_at}, **fields)  # fmt: skip
    order["timeline"].append({"status": "PAID", "at": paid_at})
    order["due_at"] = iso(datetime.fromisoformat(paid_at.replace("Z", "+00:00")) + timedelta(seconds=SHIP_DEADLINE))
    return order


class FailingWorkflow(RecordingWorkflow):
    """Step Functions out of reach for the first `failures` calls (then it records, as the real one answers)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DependencyUnavailable("Step Functions is not answering")

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        self._maybe_fail()
        super().start(order_id, payload)

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        self._maybe_fail()
        return super().succeed(token, output)

    def fail(self, token: str, error: str, cause: str) -> bool:
        self._maybe_fail()
        return super().fail(token, error, cause)


class AnsweredWorkflow(RecordingWorkflow):
    """Every token was answered or expired already (SendTask* says TaskTimedOut / InvalidToken)."""

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return False

    def fail(self, token: str, error: str, cause: str) -> bool:
        return False


# -- 9. StartExecution from the outbox; the sweeper ---------------------------------------------------------------


def test_a_placed_order_asks_the_outbox_to_start_its_execution_and_is_due_until_it_checks_in() -> None:
    placed = an_order(due_at=ago(seconds=0))

    messages = outbox.messages_for_order_change(None, Order.from_record(placed))

    assert messages == [{"kind": "start", "order_id": ORDER_ID}]
    assert outbox.messages_for_order_change(None, Order.from_record(an_order("CANCELLED"))) == []


def test_starting_from_the_outbox_gives_the_execution_what_is_left_of_the_pay_deadline(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, notifier: RecordingNotifier
) -> None:
    orders.orders[ORDER_ID]["pay_deadline"] = iso(utcnow() + timedelta(seconds=600))

    outcome = outbox.deliver(shop, {"kind": "start", "order_id": ORDER_ID}, notifier)

    assert outcome == "started"
    (kind, order_id, payload), *_ = workflow.answers
    assert (kind, order_id) == ("start", ORDER_ID)
    assert 590 <= payload["payment_timeout_seconds"] <= 600
    assert set(payload) == {"order_id", "payment_timeout_seconds"}  # it waits for the payment only


def test_an_order_paid_before_its_start_was_delivered_gets_no_execution(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, notifier: RecordingNotifier
) -> None:
    paid(orders, ago(seconds=1))

    assert outbox.deliver(shop, {"kind": "start", "order_id": ORDER_ID}, notifier) == "paid"
    assert workflow.answers == []


def test_a_start_that_fails_raises_so_the_queue_delivers_it_again(shop: Shop, notifier: RecordingNotifier) -> None:
    failing = FailingWorkflow(failures=2)
    flaky = Shop(**{**shop.__dict__, "workflow": failing})

    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            outbox.deliver(flaky, {"kind": "start", "order_id": ORDER_ID}, notifier)
    assert outbox.deliver(flaky, {"kind": "start", "order_id": ORDER_ID}, notifier) == "started"
    assert [answer[:2] for answer in failing.answers] == [("start", ORDER_ID)]


def test_the_payment_task_checking_in_makes_the_order_due_at_its_pay_deadline(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["due_at"] = ago(minutes=1)

    tasks.await_payment(shop, ORDER_ID, "tok-pay")

    assert orders.orders[ORDER_ID]["due_at"] == orders.orders[ORDER_ID]["pay_deadline"]


def test_the_sweeper_starts_the_execution_an_order_never_got_and_waits_for_its_deadline(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN an order placed 10 minutes ago whose start was lost (no execution; it never checked in)
    order = orders.orders[ORDER_ID]
    order.update(created_at=ago(minutes=10), due_at=ago(minutes=10), pay_deadline=iso(utcnow() + timedelta(minutes=20)))

    summary = sweeper.sweep(shop, SWEEP)

    assert summary == {"due": 1, "started": 1}
    assert [answer[:2] for answer in workflow.answers] == [("start", ORDER_ID)]
    assert order["status"] == "PENDING_PAYMENT" and order["due_at"] == order["pay_deadline"]


def test_the_sweeper_cancels_an_unpaid_order_past_its_deadline_whose_execution_failed(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    orders.orders[ORDER_ID].update(pay_deadline=ago(minutes=10), due_at=ago(minutes=10))
    workflow.executions[ORDER_ID] = "FAILED"

    summary = sweeper.sweep(shop, SWEEP)

    assert summary == {"due": 1, "driven": 1}
    assert orders.orders[ORDER_ID]["status"] == "CANCELLED" and orders.orders[ORDER_ID]["due_at"] is None
    assert orders.stock_returned == {"p_1-01": 2} and orders.coupons_released == ["c_1"]


def test_the_sweeper_leaves_orders_whose_timer_is_not_overdue_yet(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    paid(orders, ago(days=1))
    orders.orders["o_2"] = an_order(order_id="o_2", due_at=ago(seconds=GRACE / 2))  # within the grace period

    assert sweeper.sweep(shop, SWEEP) == {"due": 0}
    assert workflow.answers == [] and orders.orders[ORDER_ID]["status"] == "PAID"


def test_the_sweeper_receives_a_shipped_order_as_soon_as_its_receipt_is_due_without_a_grace_or_an_execution(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN an order shipped 14 days and a minute ago (its automatic receipt due a minute ago) with no execution
    order = paid(orders, ago(days=16))
    shipment = {"carrier": "sf", "tracking_no": "SF1", "shipped_at": ago(days=14, minutes=1)}
    order.update(status="SHIPPED", shipment=shipment)
    order["due_at"] = ago(minutes=1)

    summary = sweeper.sweep(shop, SWEEP)

    # THEN it is received now (the sweeper's own timer: no grace), due at the end of its return window
    assert summary == {"due": 1, "driven": 1}
    assert order["status"] == "RECEIVED" and workflow.answers == []
    assert abs(seconds_from_now(order["due_at"]) - 604800) <= 5


def test_the_sweeper_settles_a_received_order_once_its_return_window_closed(
    shop: Shop, orders: FakeOrdersRepository, points: FakePoints
) -> None:
    order = paid(orders, ago(days=30))
    order.update(status="RECEIVED", shipment={"carrier": "sf", "tracking_no": "SF1", "shipped_at": ago(days=29)})
    order["timeline"].append({"status": "RECEIVED", "at": ago(days=7, seconds=30)})
    order["due_at"] = ago(seconds=30)

    assert sweeper.sweep(shop, SWEEP) == {"due": 1, "driven": 1}
    assert order["status"] == "COMPLETED" and order["due_at"] is None
    assert points.refs.get(f"order:{ORDER_ID}:earn", 0) > 0


def test_an_order_the_sweeper_cannot_repair_now_stays_due_and_is_tried_again(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["due_at"] = ago(minutes=10)
    down = Shop(**{**shop.__dict__, "workflow": FailingWorkflow(failures=5)})

    assert sweeper.sweep(down, SWEEP) == {"due": 1, "failed": 1}
    retry_at = orders.orders[ORDER_ID]["due_at"]
    assert retry_at > iso(utcnow())  # not forgotten: due again after ORDER_SWEEP_RETRY_SECONDS


# -- 10. Task answers through the outbox, at least once ----------------------------------------------------------


def test_only_leaving_pending_payment_answers_a_task_and_nothing_after_payment_waits_on_a_token() -> None:
    pending = an_order(payment_token="tok-pay")
    paid_ = {**pending, "status": "PAID", "payment": {"payment_id": "pay_1"}}
    shipped = {**paid_, "status": "SHIPPED"}
    refunding = {**shipped, "status": "REFUNDING", "refund_id": "rf_1"}
    back = {**refunding, "status": "SHIPPED"}

    answers = [
        outbox.answers_for_status_change(Order.from_record(pending), Order.from_record(paid_)),
        outbox.answers_for_status_change(
            Order.from_record(pending), Order.from_record({**pending, "status": "CANCELLED"})
        ),
        outbox.answers_for_status_change(Order.from_record(paid_), Order.from_record(shipped)),
        outbox.answers_for_status_change(Order.from_record(shipped), Order.from_record(refunding)),
        outbox.answers_for_status_change(Order.from_record(refunding), Order.from_record(back)),
    ]

    tokens = [[(a["token"], a.get("output") or a.get("error")) for a in found] for found in answers]
    assert tokens == [
        [("tok-pay", {"status": "PAID", "payment_id": "pay_1"})],
        [("tok-pay", "OrderCancelled")],
        [],
        [],
        [],
    ]


def test_an_answer_that_cannot_be_sent_raises_so_the_queue_retries_it_until_it_is_sent(
    shop: Shop, notifier: RecordingNotifier
) -> None:
    failing = FailingWorkflow(failures=3)
    flaky = Shop(**{**shop.__dict__, "workflow": failing})
    message = {"kind": "answer", "order_id": ORDER_ID, "token": "tok-pay", "output": {"status": "PAID"}}

    tries = 0
    while True:
        tries += 1
        try:
            outcome = outbox.deliver(flaky, message, notifier)
            break
        except DependencyUnavailable:
            continue

    assert (tries, outcome) == (4, "answered")
    assert failing.answers == [("succeed", "tok-pay", {"status": "PAID"})]


def test_a_token_already_answered_or_expired_counts_as_delivered(shop: Shop, notifier: RecordingNotifier) -> None:
    answered = Shop(**{**shop.__dict__, "workflow": AnsweredWorkflow()})

    succeed = {"kind": "answer", "order_id": ORDER_ID, "token": "t1", "output": {"status": "SHIPPED"}}
    fail = {"kind": "answer", "order_id": ORDER_ID, "token": "t2", "error": "OrderCancelled", "cause": "cancelled"}

    assert outbox.deliver(answered, succeed, notifier) == "gone"
    assert outbox.deliver(answered, fail, notifier) == "gone"


def test_an_approval_starts_the_refunds_own_execution_through_the_outbox_once(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    paid(orders, ago(hours=1))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    assert deliver_outbox() == []  # a pending refund waits for its decision: no execution

    service.approve_refund(shop, refund["refund_id"])

    assert deliver_outbox() == ["started"]
    payload = {"order_id": ORDER_ID, "refund_id": refund["refund_id"]}
    assert workflow.answers == [("start_refund", refund["refund_id"], payload)]


# -- 11. The ship deadline and the automatic approval --------------------------------------------------------------


def test_a_paid_order_not_shipped_by_its_deadline_is_cancelled_refunded_in_full_and_its_buyer_told(
    shop: Shop,
    orders: FakeOrdersRepository,
    points: FakePoints,
    channel: FakeChannelRefunds,
    notifier: RecordingNotifier,
    deliver_outbox: Callable[[], list[str]],
) -> None:
    paid(orders, ago(days=7, minutes=1))

    opened = tasks.ship_deadline_passed(shop, ORDER_ID)
    told = deliver_outbox()
    tasks.refund_payment(shop, ORDER_ID)
    tasks.complete_refund(shop, ORDER_ID)

    refund = orders.refunds[opened["refund_id"]]
    assert (refund["type"], refund["status"], refund["amount_fen"], refund["requested_by"]) == (
        "refund_only", "REFUNDED", 19800, "system")  # fmt: skip
    assert channel.refunded == {opened["refund_id"]: 19800}
    assert orders.orders[ORDER_ID]["status"] == "REFUNDED" and orders.orders[ORDER_ID]["due_at"] is None
    assert orders.stock_returned == {"p_1-01": 2} and points.refs == {f"order:{ORDER_ID}:refund": 300}
    assert "told" in told
    assert notifier.texts and "198.00 元将原路退回" in notifier.texts[0][1]


def test_the_ship_deadline_of_an_order_shipped_or_refunding_meanwhile_takes_that_way(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    paid(orders, ago(days=8))
    service.ship_order(shop, ORDER_ID, service.ShipmentWrite(carrier="sf", tracking_no="SF1"))
    with pytest.raises(tasks.OrderMovedOn):
        tasks.ship_deadline_passed(shop, ORDER_ID)

    orders.orders[ORDER_ID] = an_order()
    paid(orders, ago(days=8))
    service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    with pytest.raises(tasks.RefundRequested):
        tasks.ship_deadline_passed(shop, ORDER_ID)
    assert len(orders.refunds) == 1


def test_a_rejected_refund_never_extends_the_ship_deadline(shop: Shop, orders: FakeOrdersRepository) -> None:
    paid(orders, ago(days=5))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    service.reject_refund(shop, refund["refund_id"], RefundRejection(reason="已备货"))

    assert orders.orders[ORDER_ID]["status"] == "PAID"  # back, due when what was left of the ship deadline runs out
    assert abs(seconds_from_now(orders.orders[ORDER_ID]["due_at"]) - 2 * 86400) <= 5


def test_a_refund_nobody_decides_in_time_is_approved_by_the_system_and_a_decided_one_stands(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    paid(orders, ago(hours=1))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))

    approved = tasks.auto_approve_refund(shop, ORDER_ID)
    again = tasks.auto_approve_refund(shop, ORDER_ID)

    assert approved == again == {"decision": "APPROVED", "refund_id": refund["refund_id"]}
    assert orders.refunds[refund["refund_id"]]["status"] == "APPROVED"

    orders.orders[ORDER_ID] = an_order()
    paid(orders, ago(hours=1))
    second = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    service.reject_refund(shop, second["refund_id"], RefundRejection(reason="已发货"))
    with pytest.raises(tasks.RefundRejectedMeanwhile):
        tasks.auto_approve_refund(shop, ORDER_ID)


def test_the_sweeper_approves_a_refund_left_undecided_past_its_deadline_and_its_execution_refunds_it(
    shop: Shop,
    orders: FakeOrdersRepository,
    channel: FakeChannelRefunds,
    workflow: RecordingWorkflow,
    deliver_outbox: Callable[[], list[str]],
) -> None:
    paid(orders, ago(days=3))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    deliver_outbox()
    orders.refunds[refund["refund_id"]]["requested_at"] = ago(days=2, seconds=10)
    orders.orders[ORDER_ID]["due_at"] = ago(seconds=10)

    assert sweeper.sweep(shop, SWEEP) == {"due": 1, "driven": 1}

    # THEN approved by the system at its deadline (no grace), and the refund left to its own execution
    assert orders.refunds[refund["refund_id"]]["status"] == "APPROVED" and channel.refunded == {}
    assert deliver_outbox() == ["started"] and workflow.answers[-1][:2] == ("start_refund", refund["refund_id"])


def test_the_sweeper_refunds_an_approved_refund_whose_execution_failed_once_the_grace_passed(
    shop: Shop, orders: FakeOrdersRepository, channel: FakeChannelRefunds, workflow: RecordingWorkflow
) -> None:
    paid(orders, ago(days=3))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    service.approve_refund(shop, refund["refund_id"])
    orders.refunds[refund["refund_id"]]["decided_at"] = ago(minutes=10)
    orders.orders[ORDER_ID]["due_at"] = ago(minutes=10)
    workflow.executions[refund["refund_id"]] = "FAILED"

    assert sweeper.sweep(shop, SWEEP) == {"due": 1, "driven": 1}
    assert orders.refunds[refund["refund_id"]]["status"] == "REFUNDED"
    assert orders.orders[ORDER_ID]["status"] == "REFUNDED" and channel.refunded == {refund["refund_id"]: 19800}


def test_the_sweeper_starts_the_execution_of_an_approved_refund_whose_start_was_lost_but_not_within_the_grace(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    paid(orders, ago(days=3))
    refund = service.request_refund(shop, "u_1", ORDER_ID, RefundRequest(type="refund_only", reason="不要了"))
    service.approve_refund(shop, refund["refund_id"])
    orders.orders[ORDER_ID]["due_at"] = ago(seconds=GRACE / 2)

    assert sweeper.sweep(shop, SWEEP) == {"due": 0}  # its execution's, within the grace

    orders.orders[ORDER_ID]["due_at"] = ago(seconds=GRACE * 2)
    assert sweeper.sweep(shop, SWEEP) == {"due": 1, "started": 1}
    assert workflow.answers[-1][:2] == ("start_refund", refund["refund_id"])
    assert orders.orders[ORDER_ID]["status"] == "REFUNDING"


# -- 12. A payment after the pay deadline -----------------------------------------------------------------------


def test_a_payment_after_the_pay_deadline_never_pays_the_order_which_is_cancelled_and_the_money_refunded(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    # GIVEN an unpaid order past its pay deadline whose cancellation has not run yet
    orders.orders[ORDER_ID]["pay_deadline"] = ago(seconds=1)

    answer = service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert answer == {"order_id": ORDER_ID, "status": "CANCELLED", "refund_required": True,
                      "reason": "PAID_AFTER_DEADLINE"}  # fmt: skip
    order = orders.orders[ORDER_ID]
    assert order["status"] == "CANCELLED" and order.get("payment") is None
    assert orders.stock_returned == {"p_1-01": 2} and orders.coupons_used == []
