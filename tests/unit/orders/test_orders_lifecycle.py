"""Unit tests of the order lifecycle's rules on in-memory fakes: who wins between payment and cancel, what each
execution task does when the order moved on first, and that compensation and settlement happen once."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import pytest

from chalicelib.clock import utcnow
from chalicelib.errors import Conflict, InvalidState, NotFound
from chalicelib.orders import placing, service, tasks
from chalicelib.orders.schemas import OrderCreate, ShipmentWrite
from chalicelib.orders.service import Shop
from tests.unit.fakes import FakeCatalogRepository
from tests.unit.orders.fakes import ORDER_ID, FakeOrdersRepository, FakePoints, RecordingWorkflow
from tests.unit.profile_fakes import FakeProfileRepository


def test_a_payment_after_the_cancel_is_marked_for_refund_and_changes_nothing(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    service.cancel_order(shop, "u_1", ORDER_ID)

    answer = service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert answer == {"order_id": ORDER_ID, "status": "CANCELLED", "refund_required": True}
    assert orders.orders[ORDER_ID]["status"] == "CANCELLED"
    assert orders.coupons_used == []


def test_a_cancel_after_the_payment_is_refused_and_nothing_comes_back(shop: Shop, orders: FakeOrdersRepository) -> None:
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    with pytest.raises(InvalidState):
        service.cancel_order(shop, "u_1", ORDER_ID)
    assert orders.stock_returned == {} and orders.coupons_released == []


def test_a_payment_of_another_amount_is_refused(shop: Shop, orders: FakeOrdersRepository) -> None:
    with pytest.raises(Conflict):
        service.confirm_payment(shop, ORDER_ID, "pay_1", 100)
    assert orders.orders[ORDER_ID]["status"] == "PENDING_PAYMENT"


def test_the_same_payment_twice_answers_paid_and_another_payment_is_a_conflict(shop: Shop) -> None:
    first = service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)
    again = service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert first == again == {"order_id": ORDER_ID, "status": "PAID", "refund_required": False}
    with pytest.raises(Conflict):
        service.confirm_payment(shop, ORDER_ID, "pay_2", 19800)


def test_a_payment_answers_the_waiting_payment_task_through_the_outbox(
    shop: Shop, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    tasks.await_payment(shop, ORDER_ID, "tok-pay")

    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert workflow.answers == []  # nothing is sent after the write: the outbox carries it
    assert deliver_outbox() == ["answered"]
    assert workflow.answers == [("succeed", "tok-pay", {"status": "PAID", "payment_id": "pay_1"})]


def test_a_cancel_fails_the_waiting_payment_task_so_the_execution_compensates(
    shop: Shop, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    tasks.await_payment(shop, ORDER_ID, "tok-pay")

    service.cancel_order(shop, "u_1", ORDER_ID)
    deliver_outbox()

    assert workflow.answers == [("fail", "tok-pay", "OrderCancelled")]


def test_the_payment_task_started_after_the_order_moved_on_says_which_way(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["status"] = "PAID"
    with pytest.raises(tasks.OrderPaidMeanwhile):
        tasks.await_payment(shop, ORDER_ID, "tok")
    orders.orders[ORDER_ID]["status"] = "CANCELLED"
    with pytest.raises(tasks.OrderCancelled):
        tasks.await_payment(shop, ORDER_ID, "tok")


def test_compensation_gives_everything_back_once_however_often_it_runs(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    first = tasks.compensate(shop, ORDER_ID)
    second = tasks.compensate(shop, ORDER_ID)

    assert first == second == {"status": "CANCELLED"}
    assert orders.stock_returned == {"p_1-01": 2}
    assert orders.coupons_released == ["c_1"]


def test_a_timeout_that_loses_to_a_payment_leaves_the_order_paid(shop: Shop, orders: FakeOrdersRepository) -> None:
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert tasks.compensate(shop, ORDER_ID) == {"status": "PAID"}
    assert orders.stock_returned == {}


def test_shipping_needs_a_paid_order_answers_no_task_and_makes_it_due_at_its_automatic_receipt(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow, deliver_outbox: Callable[[], list[str]]
) -> None:
    write = ShipmentWrite(carrier="sf", tracking_no="SF1")
    with pytest.raises(InvalidState):
        service.ship_order(shop, ORDER_ID, write)
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)
    deliver_outbox()

    shipped = service.ship_order(shop, ORDER_ID, write)
    deliver_outbox()

    assert shipped["status"] == "SHIPPED" and shipped["shipment"]["tracking_no"] == "SF1"
    assert workflow.answers == []  # the payment wait had no token; nothing waits on a shipment
    due_in = datetime.fromisoformat(orders.orders[ORDER_ID]["due_at"].replace("Z", "+00:00")) - utcnow()
    assert abs(due_in.total_seconds() - shop.timers.auto_receive_seconds) <= 5


def test_settling_credits_points_and_counts_sales_once(
    shop: Shop, orders: FakeOrdersRepository, points: FakePoints
) -> None:
    orders.orders[ORDER_ID]["status"] = "RECEIVED"

    first = tasks.settle(shop, ORDER_ID)
    second = tasks.settle(shop, ORDER_ID)

    assert first == {"status": "COMPLETED", "points_earned": 198}
    assert second == {"status": "COMPLETED"}
    assert points.refs == {f"order:{ORDER_ID}:earn": 198}
    assert orders.sales == {"p_1": 2}


def test_automatic_receipt_receives_a_shipped_order_and_leaves_a_received_one(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["status"] = "SHIPPED"

    assert tasks.auto_receive(shop, ORDER_ID) == {"status": "RECEIVED"}
    assert tasks.auto_receive(shop, ORDER_ID) == {"status": "RECEIVED"}
    assert [entry["status"] for entry in orders.orders[ORDER_ID]["timeline"]] == ["PENDING_PAYMENT", "RECEIVED"]


def test_another_users_order_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFound):
        service.get_order(shop, "u_2", ORDER_ID)
    with pytest.raises(NotFound):
        service.cancel_order(shop, "u_2", ORDER_ID)


def test_an_idempotency_key_is_required_and_limited_to_255_characters() -> None:
    for key in (None, "", "x" * 256):
        with pytest.raises(Exception, match="Idempotency-Key"):
            placing.check_key(key)
    assert placing.check_key("x" * 255) == "x" * 255


def test_a_replayed_key_returns_the_original_order(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN the order of key "k" was placed, and its address has been deleted since (the retry cannot be placed)
    shop = dataclasses.replace(shop, profile=FakeProfileRepository(), catalog=FakeCatalogRepository())
    body = OrderCreate(address_id="a_1", items=[{"sku_id": "p_1-01", "quantity": 2}])  # type: ignore[list-item]
    orders.keys[("u_1", "k")] = {"order_id": ORDER_ID, "body_hash": placing.body_hash(body), "created_at": "t0"}

    replayed = placing.create_order(shop, "u_1", "k", body)

    assert replayed["order_id"] == ORDER_ID and replayed["status"] == "PENDING_PAYMENT"
    assert workflow.answers == []  # its execution was started from the outbox when it was placed
    with pytest.raises(Conflict):
        placing.create_order(shop, "u_1", "k", body.model_copy(update={"remark": "other"}))


class SlowParcels:
    """Parcels whose registration takes over a second (a busy table): the time ship_order keeps must not drift."""

    def __init__(self) -> None:
        self.registered: list[dict[str, object]] = []

    def register(self, parcel: dict[str, object]) -> None:
        time.sleep(1.1)
        self.registered.append(parcel)


def test_a_shipment_its_timeline_entry_and_its_receipt_timer_share_one_time_however_slow_the_parcel_write(
    shop: Shop, orders: FakeOrdersRepository, deliver_outbox: Callable[[], list[str]]
) -> None:
    # GIVEN a paid order, and a parcel table that takes over a second to register a parcel
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)
    deliver_outbox()
    parcels = SlowParcels()
    shop = dataclasses.replace(shop, parcels=cast(Any, parcels))

    # WHEN staff ship it with a carrier kuaidi100 knows
    shipped = service.ship_order(shop, ORDER_ID, ShipmentWrite(carrier="SF", tracking_no="SF9"))

    # THEN the shipment, the timeline's SHIPPED entry and the parcel say the same time, and the automatic receipt is
    # due exactly its duration after it
    shipped_at = shipped["shipment"]["shipped_at"]
    assert shipped["timeline"][-1] == {"status": "SHIPPED", "at": shipped_at}
    assert parcels.registered[0]["updated_at"] == shipped_at
    due = datetime.fromisoformat(orders.orders[ORDER_ID]["due_at"].replace("Z", "+00:00"))
    assert (due - datetime.fromisoformat(shipped_at.replace("Z", "+00:00"))).total_seconds() == (
        shop.timers.auto_receive_seconds
    )
