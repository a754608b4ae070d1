"""Admission on the request path, with fakes: what is refused at once (and never queued), what is queued before it
is written, the Idempotency-Key, and the snapshot that keeps the hot items' reads per container."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import iso
from chalicelib.errors import Conflict, ValidationError
from chalicelib.flashsale import service
from chalicelib.flashsale.domain import Attempt, FlashItem, LimitReached, NotStarted, Session, SoldOut
from chalicelib.flashsale.repository import FlashSaleRepository
from chalicelib.flashsale.schemas import AttemptWrite
from chalicelib.profile.domain import AddressBook
from tests.unit.fakes import FakeCatalogRepository

SKU = "p_1-01"


class FakeFlashSales(FlashSaleRepository):
    """The reads and the admission the request path uses, in memory."""

    def __init__(self, session: Session, remaining: int) -> None:
        self.sessions = {session.session_id: session}
        self.units = {(session.session_id, SKU): {0: remaining}}
        self.holdings: dict[tuple[str, str, str], int] = {}
        self.keys: dict[tuple[str, str], dict[str, Any]] = {}
        self.attempts: dict[str, Attempt] = {}
        self.session_reads = 0

    def session(self, session_id: str) -> Session | None:
        self.session_reads += 1
        return self.sessions.get(session_id)

    def remaining(self, sessions: list[Session], consistent: bool = False) -> dict[tuple[str, str], dict[int, int]]:
        return {key: dict(units) for key, units in self.units.items()}

    def held(self, session_id: str, sku_id: str, user_id: str) -> int:
        return self.holdings.get((session_id, sku_id, user_id), 0)

    def key_record(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self.keys.get((user_id, key))

    def admit(self, attempt: Attempt, key: str, body_hash: str, limit: int, expires_at: int) -> str:
        if (attempt.user_id, key) in self.keys:
            return "key_used"
        holding = (attempt.session_id, attempt.sku_id, attempt.user_id)
        if self.holdings.get(holding, 0) + attempt.quantity > limit:
            return "limit"
        self.keys[(attempt.user_id, key)] = {"attempt_id": attempt.attempt_id, "body_hash": body_hash}
        self.holdings[holding] = self.holdings.get(holding, 0) + attempt.quantity
        self.attempts[attempt.attempt_id] = attempt
        return "admitted"


class RecordingQueue:
    def __init__(self, flash_sales: FakeFlashSales) -> None:
        self.flash_sales = flash_sales
        self.sent: list[dict[str, Any]] = []
        self.written_when_sent: list[bool] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        self.written_when_sent.append(message["attempt_id"] in self.flash_sales.attempts)

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        raise AssertionError("the request path never retries a message")


class OneAddress:
    def address_book(self, user_id: str) -> AddressBook:
        return AddressBook(1, "a_1") if user_id != "u_homeless" else AddressBook()


def flash_sale(starts_in: int = -60, remaining: int = 3, snapshot: float = 0) -> tuple[Any, FakeFlashSales, Any]:
    now = datetime.now(UTC)
    item = FlashItem(SKU, "p_1", "手机", None, 5000, 3000, 3, 1, 1)
    session = Session("fs_1", "秒杀", iso(now + timedelta(seconds=starts_in)), iso(now + timedelta(hours=1)), (item,))
    repo = FakeFlashSales(session, remaining)
    queue = RecordingQueue(repo)
    fs = service.FlashSale(repo, FakeCatalogRepository(), OneAddress(), queue, snapshot=service.Snapshot(snapshot))  # type: ignore[arg-type]
    return fs, repo, queue


def attempt(fs: Any, user_id: str = "u_1", key: str = "k1", quantity: int = 1) -> dict[str, Any]:
    return service.attempt(fs, user_id, key, "fs_1", AttemptWrite(sku_id=SKU, quantity=quantity))


def test_an_attempt_is_queued_before_it_is_written_and_holds_the_buyers_unit() -> None:
    fs, repo, queue = flash_sale()
    answer = attempt(fs)
    assert answer["status"] == "QUEUED"
    assert [message["attempt_id"] for message in queue.sent] == [answer["attempt_id"]]
    assert queue.written_when_sent == [False]  # a request dying between the two leaves a message, never an attempt
    assert repo.held("fs_1", SKU, "u_1") == 1


def test_a_sold_out_or_not_started_sale_refuses_at_once_and_queues_nothing() -> None:
    fs, _, queue = flash_sale(remaining=0)
    with pytest.raises(SoldOut):
        attempt(fs)
    fs, _, queue_upcoming = flash_sale(starts_in=60)
    with pytest.raises(NotStarted):
        attempt(fs)
    assert queue.sent == [] and queue_upcoming.sent == []


def test_a_buyer_at_the_limit_is_refused_and_queues_nothing() -> None:
    fs, _, queue = flash_sale()
    attempt(fs, key="k1")
    with pytest.raises(LimitReached):
        attempt(fs, key="k2")
    with pytest.raises(LimitReached):
        attempt(fs, user_id="u_2", quantity=2)
    assert len(queue.sent) == 1


def test_the_same_key_answers_the_same_attempt_and_another_body_is_a_conflict() -> None:
    fs, _, queue = flash_sale()
    first = attempt(fs)
    assert attempt(fs) == first
    with pytest.raises(Conflict):
        attempt(fs, quantity=2)
    assert len(queue.sent) == 1


def test_a_buyer_without_an_address_is_told_to_add_one() -> None:
    fs, _, queue = flash_sale()
    with pytest.raises(ValidationError):
        attempt(fs, user_id="u_homeless")
    assert queue.sent == []


def test_the_snapshot_reads_the_session_once_per_period_per_container() -> None:
    fs, repo, _ = flash_sale(snapshot=60)
    for number in range(5):
        attempt(fs, user_id=f"u_{number}")
    assert repo.session_reads == 1
