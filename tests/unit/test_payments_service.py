"""Payment rules on fakes: starting payments, notifies (forged, wrong amount, unknown, duplicate, late) and refunds."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.errors import Conflict, DependencyUnavailable, DomainError, InvalidState, NotFound, ValidationError
from chalicelib.payments import service, starting
from chalicelib.payments.channels import (
    InvalidNotification,
    NotifyAck,
    PaymentChannel,
    PaymentNotice,
    PaymentRequest,
    RefundRefused,
    RefundResult,
)
from chalicelib.payments.service import Payments


class FakePaymentsRepository:
    """Payments in a dict; update() is conditional on the version, as the Dynamo one is."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.open: dict[tuple[str, str], str] = {}
        self.writes = 0

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        found = self.items.get(payment_id)
        return copy.deepcopy(found) if found else None

    def open_payment_id(self, order_id: str, channel: str) -> str | None:
        return self.open.get((order_id, channel))

    def create(self, payment: dict[str, Any]) -> bool:
        key = (payment["order_id"], payment["channel"])
        if key in self.open or payment["payment_id"] in self.items:
            return False
        self.items[payment["payment_id"]] = {**copy.deepcopy(payment), "refunds": {}, "version": 0}
        self.open[key] = payment["payment_id"]
        self.writes += 1
        return True

    def update(self, payment: dict[str, Any], changes: dict[str, Any], close: bool = False) -> bool:
        current = self.items[payment["payment_id"]]
        if current["version"] != payment["version"]:
            return False
        current.update(copy.deepcopy(changes))
        current["version"] += 1
        if close and self.open.get((current["order_id"], current["channel"])) == current["payment_id"]:
            del self.open[(current["order_id"], current["channel"])]
        self.writes += 1
        return True


@dataclass
class FakeChannel(PaymentChannel):
    """A provider whose notify is a dict with a 'signed' flag; refunds answer as told."""

    name = "sandbox"
    refund_answer: str = "SUCCESS"  # SUCCESS, PROCESSING, REFUSED, DOWN
    refunds_made: list[tuple[str, str, int]] = field(default_factory=list)
    started: list[PaymentRequest] = field(default_factory=list)

    def start(self, request: PaymentRequest) -> dict[str, Any]:
        self.started.append(request)
        return {"pay_url": f"http://gateway/pay?payment_id={request.payment_id}"}

    def verify_notify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        if headers.get("signed") != "yes":
            raise InvalidNotification("Bad signature")
        payment_id, amount, status = body.decode().split(":")
        return PaymentNotice("sandbox", payment_id, int(amount), "T" + payment_id, None, status == "SUCCESS", status)

    def notify_ack(self, error: DomainError | None = None) -> NotifyAck | None:
        return 200, "application/json", b"{}"

    def refund(self, payment_id: str, refund_id: str, amount_fen: int, total_fen: int) -> RefundResult:
        if self.refund_answer == "DOWN":
            raise DependencyUnavailable("down")
        if self.refund_answer == "REFUSED":
            raise RefundRefused("no")
        if refund_id not in {made[1] for made in self.refunds_made}:
            self.refunds_made.append((payment_id, refund_id, amount_fen))
        status = "PROCESSING" if self.refund_answer == "PROCESSING" else "SUCCESS"
        return RefundResult(refund_id, payment_id, amount_fen, status, "PR" + refund_id)  # type: ignore[arg-type]


@dataclass
class FakeOrders:
    """confirm_payment's answers: PAID once per order, the same again for the same payment, refund when cancelled."""

    cancelled: set[str] = field(default_factory=set)
    past_deadline: set[str] = field(default_factory=set)
    paid_by: dict[str, str] = field(default_factory=dict)
    down: bool = False

    def confirm(self, order_id: str, payment_id: str, amount_fen: int) -> dict[str, Any]:
        if self.down:
            raise DependencyUnavailable("orders down")
        if order_id in self.past_deadline:  # as orders answers a payment after the pay_deadline: never PAID
            return {"order_id": order_id, "status": "CANCELLED", "refund_required": True,
                    "reason": "PAID_AFTER_DEADLINE"}  # fmt: skip
        if order_id in self.cancelled:
            return {"order_id": order_id, "status": "CANCELLED", "refund_required": True}
        if self.paid_by.setdefault(order_id, payment_id) != payment_id:
            raise Conflict("This order was paid by another payment")
        return {"order_id": order_id, "status": "PAID", "refund_required": False}

    def buyers_order(self, user_id: str, order_id: str) -> dict[str, Any]:
        raise NotFound("the tests here hand start_payment the order itself")


@dataclass
class FakeQueue:
    queued: list[str] = field(default_factory=list)

    def enqueue(self, payment_id: str) -> None:
        self.queued.append(payment_id)


@dataclass
class World:
    repo: FakePaymentsRepository = field(default_factory=FakePaymentsRepository)
    channel: FakeChannel = field(default_factory=FakeChannel)
    orders: FakeOrders = field(default_factory=FakeOrders)
    queue: FakeQueue = field(default_factory=FakeQueue)

    @property
    def payments(self) -> Payments:
        def channels(name: str) -> PaymentChannel:
            if name != "sandbox":
                raise NotFound("no such channel")
            return self.channel

        return Payments(self.repo, channels, self.orders.confirm, self.queue, self.orders.buyers_order)

    def start(self, order_id: str = "o1", payable: int = 1000, status: str = "PENDING_PAYMENT") -> dict[str, Any]:
        order = {"order_id": order_id, "status": status, "amounts": {"payable_fen": payable},
                 "items": [{"title": "茶叶", "quantity": 2}], "pay_deadline": "2030-01-01T00:00:00Z"}  # fmt: skip
        return starting.start_payment(self.payments, order, "u1", "sandbox")

    def notify(self, payment_id: str, amount: int, status: str = "SUCCESS", signed: bool = True) -> None:
        headers = {"signed": "yes" if signed else "no"}
        service.handle_notify(self.payments, "sandbox", headers, f"{payment_id}:{amount}:{status}".encode())


@pytest.fixture
def world() -> World:
    return World()


def test_a_payment_is_of_the_orders_payable_amount_and_a_second_pay_reuses_it(world: World) -> None:
    first = world.start(payable=1234)
    again = world.start(payable=1234)

    assert first["amount_fen"] == 1234 and first["pay_url"].endswith(first["payment_id"])
    assert again["payment_id"] == first["payment_id"]
    assert len(world.repo.items) == 1
    assert world.channel.started[0].subject == "茶叶 等2件"


def test_only_an_order_awaiting_payment_can_be_paid_and_only_through_a_known_channel(world: World) -> None:
    with pytest.raises(InvalidState):
        world.start(status="PAID")
    order = {"order_id": "o1", "status": "PENDING_PAYMENT", "amounts": {"payable_fen": 1}, "items": []}
    with pytest.raises(ValidationError):
        starting.start_payment(world.payments, order, "u1", "bitcoin")
    assert world.repo.items == {}


def test_a_notify_pays_the_order_and_a_duplicate_changes_nothing(world: World) -> None:
    payment_id = world.start()["payment_id"]

    world.notify(payment_id, 1000)
    writes = world.repo.writes
    world.notify(payment_id, 1000)

    assert world.repo.items[payment_id]["status"] == "PAID"
    assert world.orders.paid_by == {"o1": payment_id}
    assert world.repo.writes == writes


@pytest.mark.parametrize("case", ["forged", "wrong amount", "unknown payment"])
def test_a_forged_notify_one_of_another_amount_or_for_no_payment_is_refused_and_changes_nothing(
    world: World, case: str
) -> None:
    payment_id = world.start()["payment_id"]
    before = copy.deepcopy(world.repo.items)

    target, amount, signed = {
        "forged": (payment_id, 1000, False),
        "wrong amount": (payment_id, 1, True),
        "unknown payment": ("pay_unknown", 1000, True),
    }[case]

    with pytest.raises(InvalidNotification):
        world.notify(target, amount, signed=signed)

    assert world.repo.items == before
    assert world.orders.paid_by == {}


def test_a_closed_trade_frees_the_order_for_a_fresh_payment(world: World) -> None:
    first = world.start()["payment_id"]

    world.notify(first, 1000, status="CLOSED")
    second = world.start()["payment_id"]

    assert world.repo.items[first]["status"] == "CLOSED"
    assert second != first


def test_a_payment_after_the_order_was_cancelled_is_recorded_and_refunded_once(world: World) -> None:
    payment_id = world.start()["payment_id"]
    world.orders.cancelled.add("o1")

    world.notify(payment_id, 1000)
    world.notify(payment_id, 1000)

    payment = world.repo.items[payment_id]
    assert (payment["status"], payment["late_reason"], payment["refunded_fen"]) == (
        "REFUNDED", "ORDER_CANCELLED", 1000)  # fmt: skip
    assert world.channel.refunds_made == [(payment_id, service.late_refund_id(payment_id), 1000)]


def test_a_payment_after_the_pay_deadline_is_recorded_paid_late_and_refunded_once(world: World) -> None:
    payment_id = world.start()["payment_id"]
    world.orders.past_deadline.add("o1")

    world.notify(payment_id, 1000)
    world.notify(payment_id, 1000)

    payment = world.repo.items[payment_id]
    assert (payment["status"], payment["late_reason"], payment["refunded_fen"]) == (
        "REFUNDED", "PAID_AFTER_DEADLINE", 1000)  # fmt: skip
    assert world.channel.refunds_made == [(payment_id, service.late_refund_id(payment_id), 1000)]


def test_an_order_past_its_pay_deadline_cannot_start_a_payment(world: World) -> None:
    order = {"order_id": "o1", "status": "PENDING_PAYMENT", "amounts": {"payable_fen": 1000}, "items": [],
             "pay_deadline": "2020-01-01T00:00:00Z"}  # fmt: skip

    with pytest.raises(InvalidState, match="deadline"):
        starting.start_payment(world.payments, order, "u1", "sandbox")
    assert world.repo.items == {}


def test_a_second_payment_of_a_paid_order_is_refunded_and_the_first_stays(world: World) -> None:
    first = world.start()["payment_id"]
    world.notify(first, 1000)
    world.repo.open.clear()  # as if paid on another channel: a second open payment
    second = world.start()["payment_id"]

    world.notify(second, 1000)

    assert world.repo.items[first]["status"] == "PAID"
    assert world.repo.items[second]["late_reason"] == "PAID_BY_ANOTHER_PAYMENT"
    assert world.repo.items[second]["status"] == "REFUNDED"


def test_a_late_refund_the_provider_cannot_take_now_is_queued_and_finished_by_the_queue(world: World) -> None:
    payment_id = world.start()["payment_id"]
    world.orders.cancelled.add("o1")
    world.channel.refund_answer = "DOWN"

    world.notify(payment_id, 1000)
    assert world.queue.queued == [payment_id]
    assert world.repo.items[payment_id]["status"] == "REFUNDING"

    world.channel.refund_answer = "SUCCESS"
    assert service.refund_late_payment(world.payments, payment_id) == "SUCCESS"
    assert world.repo.items[payment_id]["status"] == "REFUNDED"
    assert len(world.channel.refunds_made) == 1


def test_a_notify_that_fails_after_verification_can_be_repeated_safely(world: World) -> None:
    payment_id = world.start()["payment_id"]
    world.orders.down = True

    with pytest.raises(DependencyUnavailable):
        world.notify(payment_id, 1000)
    assert world.repo.items[payment_id]["status"] == "CREATED"

    world.orders.down = False
    world.notify(payment_id, 1000)
    assert world.repo.items[payment_id]["status"] == "PAID"


def _paid(world: World) -> str:
    payment_id: str = world.start()["payment_id"]
    world.notify(payment_id, 1000)
    return payment_id


def test_a_refund_is_made_once_per_refund_id(world: World) -> None:
    payment_id = _paid(world)

    assert service.refund_payment(world.payments, payment_id, "r1", 400) == "SUCCESS"
    assert service.refund_payment(world.payments, payment_id, "r1", 400) == "SUCCESS"

    assert world.channel.refunds_made == [(payment_id, "r1", 400)]
    assert world.repo.items[payment_id]["status"] == "PARTIALLY_REFUNDED"
    assert world.repo.items[payment_id]["refunded_fen"] == 400


def test_refunds_never_add_up_to_more_than_was_paid(world: World) -> None:
    payment_id = _paid(world)
    service.refund_payment(world.payments, payment_id, "r1", 600)

    with pytest.raises(RefundRefused):
        service.refund_payment(world.payments, payment_id, "r2", 401)
    assert service.refund_payment(world.payments, payment_id, "r3", 400) == "SUCCESS"

    assert world.repo.items[payment_id]["status"] == "REFUNDED"
    assert sum(made[2] for made in world.channel.refunds_made) == 1000


def test_a_processing_refund_reports_its_new_state_when_asked_again(world: World) -> None:
    payment_id = _paid(world)
    world.channel.refund_answer = "PROCESSING"

    assert service.refund_payment(world.payments, payment_id, "r1", 1000) == "PROCESSING"
    assert world.repo.items[payment_id]["status"] == "REFUNDING"
    world.channel.refund_answer = "SUCCESS"

    assert service.refund_payment(world.payments, payment_id, "r1", 1000) == "SUCCESS"
    assert world.repo.items[payment_id]["status"] == "REFUNDED"


def test_a_refused_refund_frees_its_amount_and_stays_refused(world: World) -> None:
    payment_id = _paid(world)
    world.channel.refund_answer = "REFUSED"

    with pytest.raises(RefundRefused):
        service.refund_payment(world.payments, payment_id, "r1", 1000)
    world.channel.refund_answer = "SUCCESS"
    with pytest.raises(RefundRefused):
        service.refund_payment(world.payments, payment_id, "r1", 1000)

    assert world.repo.items[payment_id]["refunded_fen"] == 0
    assert world.repo.items[payment_id]["status"] == "PAID"
    assert service.refund_payment(world.payments, payment_id, "r2", 1000) == "SUCCESS"


def test_an_unreachable_provider_is_retryable_and_the_retry_refunds_once(world: World) -> None:
    payment_id = _paid(world)
    world.channel.refund_answer = "DOWN"

    with pytest.raises(DependencyUnavailable):
        service.refund_payment(world.payments, payment_id, "r1", 300)
    world.channel.refund_answer = "SUCCESS"

    assert service.refund_payment(world.payments, payment_id, "r1", 300) == "SUCCESS"
    assert world.channel.refunds_made == [(payment_id, "r1", 300)]


def test_an_unpaid_payment_or_another_orders_payment_is_not_refunded(world: World) -> None:
    payment_id = world.start()["payment_id"]
    with pytest.raises(InvalidState):
        service.refund_payment(world.payments, payment_id, "r1", 100)
    world.notify(payment_id, 1000)
    with pytest.raises(NotFound):
        service.refund_payment(world.payments, payment_id, "r1", 100, order_id="o-other")
    assert world.channel.refunds_made == []
