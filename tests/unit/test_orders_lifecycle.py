"""Unit tests of the order lifecycle's rules on in-memory fakes: who wins between payment and cancel, what each
execution task does when the order moved on first, and that compensation and settlement happen once."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, cast

import pytest

from chalicelib.errors import Conflict, InvalidState, NotFound
from chalicelib.orders import service
from chalicelib.orders.schemas import OrderCreate, ShipmentWrite
from chalicelib.orders.service import Shop
from tests.unit.profile_fakes import FakeProfileRepository

ORDER_ID = "o_1"


class FakePoints:
    """Postings by ref, once each."""

    def __init__(self) -> None:
        self.refs: dict[str, int] = {}

    def post(self, user_id: str, entry: dict[str, Any]) -> None:
        from chalicelib.points.domain import AlreadyPosted

        if entry["ref"] in self.refs:
            raise AlreadyPosted()
        self.refs[entry["ref"]] = entry["delta"]

    def balance(self, user_id: str) -> int | None:
        return sum(self.refs.values())


class FakeOrdersRepository:
    """Orders and refunds in dicts; each status change is conditional on the expected status, as the Dynamo one is,
    and posts its points to the points fake as the Dynamo one does in the same transaction."""

    def __init__(self, points: FakePoints | None = None) -> None:
        self.points = points or FakePoints()
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.stock_returned: dict[str, int] = {}
        self.coupons_released: list[str] = []
        self.coupons_used: list[str] = []
        self.sales: dict[str, int] = {}
        self.keys: dict[tuple[str, str], dict[str, Any]] = {}

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self.keys.get((user_id, key))

    def order(self, order_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.orders.get(order_id))

    def _move(self, order_id: str, expected: str, status: str, at: str) -> bool:
        order = self.orders.get(order_id)
        if order is None or order["status"] != expected:
            return False
        order["status"] = status
        order["timeline"].append({"status": status, "at": at})
        return True

    def cancel(self, order: dict[str, Any], at: str) -> bool:
        if not self._move(order["order_id"], "PENDING_PAYMENT", "CANCELLED", at):
            return False
        for line in order["items"]:
            self.stock_returned[line["sku_id"]] = self.stock_returned.get(line["sku_id"], 0) + line["quantity"]
        if order["coupon_id"]:
            self.coupons_released.append(order["coupon_id"])
        return True

    def pay(self, order: dict[str, Any], payment: dict[str, Any], at: str) -> bool:
        if not self._move(order["order_id"], "PENDING_PAYMENT", "PAID", at):
            return False
        self.orders[order["order_id"]]["payment"] = payment
        if order["coupon_id"]:
            self.coupons_used.append(order["coupon_id"])
        return True

    def transition(self, order_id: str, expected: str, status: str, at: str, changes: dict[str, Any]) -> bool:
        if not self._move(order_id, expected, status, at):
            return False
        self.orders[order_id].update(changes)
        return True

    def hold_token(self, order_id: str, field: str, token: str, expected: str) -> bool:
        order = self.orders.get(order_id)
        if order is None or order["status"] != expected:
            return False
        order[field] = token
        return True

    def settle(self, order: dict[str, Any], at: str, earned_points: int) -> bool:
        if not self._move(order["order_id"], "RECEIVED", "COMPLETED", at):
            return False
        if earned_points:
            self.points.post(order["user_id"], {"ref": f"order:{order['order_id']}:earn", "delta": earned_points})
        for line in order["items"]:
            self.sales[line["product_id"]] = self.sales.get(line["product_id"], 0) + line["quantity"]
        return True

    def request_refund(self, order: dict[str, Any], refund: dict[str, Any], at: str) -> bool:
        if not self._move(order["order_id"], refund["from_status"], "REFUNDING", at):
            return False
        stored = self.orders[order["order_id"]]
        stored.update(refund_id=refund["refund_id"], refund_from=refund["from_status"])
        stored["refund_ids"] = [*stored.get("refund_ids", []), refund["refund_id"]]
        self.refunds[refund["refund_id"]] = copy.deepcopy(refund)
        return True

    def refund(self, refund_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.refunds.get(refund_id))

    def refunds_by_ids(self, refund_ids: list[str]) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.refunds[refund_id]) for refund_id in refund_ids if refund_id in self.refunds]

    def refunds_page(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        chosen = [r for r in self.refunds.values() if status is None or r["status"] == status]
        return copy.deepcopy(sorted(chosen, key=lambda r: r["requested_at"], reverse=True)[:limit]), None

    def approve_refund(self, refund_id: str, at: str) -> bool:
        refund = self.refunds.get(refund_id)
        if refund is None or refund["status"] != "PENDING":
            return False
        refund.update(status="APPROVED", decided_at=at)
        return True

    def reject_refund(self, refund: dict[str, Any], reason: str, at: str) -> bool:
        stored, order = self.refunds.get(refund["refund_id"]), self.orders.get(refund["order_id"])
        if (
            stored is None
            or stored["status"] != "PENDING"
            or order is None
            or order["refund_id"] != stored["refund_id"]
        ):
            return False
        if not self._move(order["order_id"], "REFUNDING", stored["from_status"], at):
            return False
        stored.update(status="REJECTED", decided_at=at, reject_reason=reason)
        return True

    def complete_refund(self, order: dict[str, Any], refund: dict[str, Any], at: str) -> bool:
        stored = self.refunds[refund["refund_id"]]
        current = self.orders[order["order_id"]]
        if stored["status"] != "APPROVED" or current["refund_id"] != stored["refund_id"]:
            return False
        if not self._move(order["order_id"], "REFUNDING", "REFUNDED", at):
            return False
        stored.update(status="REFUNDED", refunded_at=at)
        for line in order["items"]:
            self.stock_returned[line["sku_id"]] = self.stock_returned.get(line["sku_id"], 0) + line["quantity"]
        if order["points_used"]:
            self.points.post(
                order["user_id"], {"ref": f"order:{order['order_id']}:refund", "delta": order["points_used"]}
            )
        return True


class RecordingWorkflow:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        self.answers.append(("start", order_id, payload))

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        self.answers.append(("succeed", token, output))
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.answers.append(("fail", token, error))
        return True


def an_order(status: str = "PENDING_PAYMENT", **overrides: Any) -> dict[str, Any]:
    return {
        "order_id": ORDER_ID, "user_id": "u_1", "status": status, "coupon_id": "c_1", "points_used": 0,
        "items": [{"sku_id": "p_1-01", "product_id": "p_1", "quantity": 2}],
        "amounts": {"payable_fen": 19800, "shipping_fen": 0}, "timeline": [{"status": status, "at": "t0"}],
        "payment": None, "shipment": None, "payment_token": None, "shipment_token": None, "receipt_token": None,
        "window_token": None, "refund_token": None, "refund_id": None, "refund_from": None, "refund_ids": [],
        **overrides,
    }  # fmt: skip


class FakeChannelRefunds:
    """A paying channel that refunds each refund id once, answering `answers` in turn (then SUCCESS)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.refunded: dict[str, int] = {}
        self.answers: list[str | Exception] = []

    def refund(self, order: dict[str, Any], refund_id: str, amount_fen: int, reason: str) -> str:
        self.calls.append((order["order_id"], refund_id, amount_fen))
        answer = self.answers.pop(0) if self.answers else "SUCCESS"
        if isinstance(answer, Exception):
            raise answer
        if answer == "SUCCESS":
            self.refunded.setdefault(refund_id, amount_fen)
        return answer


@pytest.fixture
def orders(points: FakePoints) -> FakeOrdersRepository:
    repo = FakeOrdersRepository(points)
    repo.orders[ORDER_ID] = an_order()
    return repo


@pytest.fixture
def workflow() -> RecordingWorkflow:
    return RecordingWorkflow()


@pytest.fixture
def points() -> FakePoints:
    return FakePoints()


@pytest.fixture
def channel() -> FakeChannelRefunds:
    return FakeChannelRefunds()


@pytest.fixture
def shop(
    orders: FakeOrdersRepository, workflow: RecordingWorkflow, points: FakePoints, channel: FakeChannelRefunds
) -> Shop:
    unused: Any = None
    return Shop(orders=orders, catalog=unused, profile=unused, cart=unused, coupons=unused, points=cast(Any, points),
                workflow=workflow, refunds=channel)  # fmt: skip


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


def test_a_payment_answers_the_waiting_payment_task(shop: Shop, workflow: RecordingWorkflow) -> None:
    service.await_payment(shop, ORDER_ID, "tok-pay")

    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert workflow.answers == [("succeed", "tok-pay", {"status": "PAID", "payment_id": "pay_1"})]


def test_a_cancel_fails_the_waiting_payment_task_so_the_execution_compensates(
    shop: Shop, workflow: RecordingWorkflow
) -> None:
    service.await_payment(shop, ORDER_ID, "tok-pay")

    service.cancel_order(shop, "u_1", ORDER_ID)

    assert workflow.answers == [("fail", "tok-pay", "OrderCancelled")]


def test_the_payment_task_started_after_the_order_moved_on_says_which_way(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["status"] = "PAID"
    with pytest.raises(service.OrderPaidMeanwhile):
        service.await_payment(shop, ORDER_ID, "tok")
    orders.orders[ORDER_ID]["status"] = "CANCELLED"
    with pytest.raises(service.OrderCancelled):
        service.await_payment(shop, ORDER_ID, "tok")


def test_compensation_gives_everything_back_once_however_often_it_runs(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    first = service.compensate(shop, ORDER_ID)
    second = service.compensate(shop, ORDER_ID)

    assert first == second == {"status": "CANCELLED"}
    assert orders.stock_returned == {"p_1-01": 2}
    assert orders.coupons_released == ["c_1"]


def test_a_timeout_that_loses_to_a_payment_leaves_the_order_paid(shop: Shop, orders: FakeOrdersRepository) -> None:
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)

    assert service.compensate(shop, ORDER_ID) == {"status": "PAID"}
    assert orders.stock_returned == {}


def test_shipping_needs_a_paid_order_and_answers_the_waiting_shipment_task(
    shop: Shop, workflow: RecordingWorkflow
) -> None:
    write = ShipmentWrite(carrier="sf", tracking_no="SF1")
    with pytest.raises(InvalidState):
        service.ship_order(shop, ORDER_ID, write)
    service.confirm_payment(shop, ORDER_ID, "pay_1", 19800)
    service.await_shipment(shop, ORDER_ID, "tok-ship")

    shipped = service.ship_order(shop, ORDER_ID, write)

    assert shipped["status"] == "SHIPPED" and shipped["shipment"]["tracking_no"] == "SF1"
    assert ("succeed", "tok-ship", {"status": "SHIPPED"}) in workflow.answers


def test_settling_credits_points_and_counts_sales_once(
    shop: Shop, orders: FakeOrdersRepository, points: FakePoints
) -> None:
    orders.orders[ORDER_ID]["status"] = "RECEIVED"

    first = service.settle(shop, ORDER_ID)
    second = service.settle(shop, ORDER_ID)

    assert first == {"status": "COMPLETED", "points_earned": 198}
    assert second == {"status": "COMPLETED"}
    assert points.refs == {f"order:{ORDER_ID}:earn": 198}
    assert orders.sales == {"p_1": 2}


def test_automatic_receipt_receives_a_shipped_order_and_leaves_a_received_one(
    shop: Shop, orders: FakeOrdersRepository
) -> None:
    orders.orders[ORDER_ID]["status"] = "SHIPPED"

    assert service.auto_receive(shop, ORDER_ID) == {"status": "RECEIVED"}
    assert service.auto_receive(shop, ORDER_ID) == {"status": "RECEIVED"}
    assert [entry["status"] for entry in orders.orders[ORDER_ID]["timeline"]] == ["PENDING_PAYMENT", "RECEIVED"]


def test_another_users_order_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFound):
        service.get_order(shop, "u_2", ORDER_ID)
    with pytest.raises(NotFound):
        service.cancel_order(shop, "u_2", ORDER_ID)


def test_an_idempotency_key_is_required_and_limited_to_255_characters() -> None:
    for key in (None, "", "x" * 256):
        with pytest.raises(Exception, match="Idempotency-Key"):
            service.check_key(key)
    assert service.check_key("x" * 255) == "x" * 255


def test_a_replayed_key_returns_the_original_order_and_makes_sure_its_execution_runs(
    shop: Shop, orders: FakeOrdersRepository, workflow: RecordingWorkflow
) -> None:
    # GIVEN the order of key "k" was placed, and its address has been deleted since (the retry cannot be placed)
    shop = dataclasses.replace(shop, profile=FakeProfileRepository())
    body = OrderCreate(address_id="a_1", items=[{"sku_id": "p_1-01", "quantity": 2}])  # type: ignore[list-item]
    orders.keys[("u_1", "k")] = {"order_id": ORDER_ID, "body_hash": service.body_hash(body), "created_at": "t0"}

    replayed = service.create_order(shop, "u_1", "k", body, [])

    assert replayed["order_id"] == ORDER_ID and replayed["status"] == "PENDING_PAYMENT"
    assert [answer[:2] for answer in workflow.answers] == [("start", ORDER_ID)]
    with pytest.raises(Conflict):
        service.create_order(shop, "u_1", "k", body.model_copy(update={"remark": "other"}), [])
