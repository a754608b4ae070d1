"""Inventory rules on in-memory fakes: reservations, restock texts exactly once, the low-stock list and alerts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.errors import ChangedMeanwhile, Conflict, InvalidState, NotFound
from chalicelib.inventory import service
from chalicelib.inventory.domain import MAX_RESERVATIONS, StockChange, StockState, padded_seq
from chalicelib.pagination import PageQuery

SKU = "p_1-02"


class FakeInventoryRepository:
    """InventoryRepository in memory, with the same conditions as the DynamoDB one."""

    def __init__(self) -> None:
        self.reservations_by_user: dict[str, dict[str, dict[str, Any]]] = {}
        self.waiters_by_sku: dict[str, dict[str, dict[str, Any]]] = {}
        self.states: dict[str, StockState] = {}
        self.low: dict[str, dict[str, Any]] = {}
        self.markers: set[tuple[str, str, str]] = set()
        self.before_advance: list[Any] = []  # callables run once before the next advance (a racing writer)

    def reservation(self, user_id: str, sku_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.reservations_by_user.get(user_id, {}).get(sku_id))

    def reservations(self, user_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.reservations_by_user.get(user_id, {}).values()))

    def reservation_count(self, user_id: str) -> int:
        return len(self.reservations_by_user.get(user_id, {}))

    def _waiter(self, user_id: str, reservation: dict[str, Any]) -> None:
        self.waiters_by_sku.setdefault(reservation["sku_id"], {})[user_id] = {
            "user_id": user_id,
            "sku_id": reservation["sku_id"],
            "reservation_id": reservation["reservation_id"],
            "reserved_at": reservation["reserved_at"],
        }

    def add_reservation(self, user_id: str, reservation: dict[str, Any], max_count: int) -> None:
        mine = self.reservations_by_user.setdefault(user_id, {})
        if len(mine) >= max_count or reservation["sku_id"] in mine:
            raise ChangedMeanwhile()
        mine[reservation["sku_id"]] = copy.deepcopy(reservation)
        self._waiter(user_id, reservation)

    def renew_reservation(self, user_id: str, reservation: dict[str, Any], notified: dict[str, Any]) -> None:
        current = self.reservations_by_user.get(user_id, {}).get(reservation["sku_id"])
        if current is None or current["reservation_id"] != notified["reservation_id"] or not current["notified_at"]:
            raise ChangedMeanwhile()
        self.reservations_by_user[user_id][reservation["sku_id"]] = copy.deepcopy(reservation)
        self._waiter(user_id, reservation)

    def remove_reservation(self, user_id: str, reservation: dict[str, Any]) -> None:
        current = self.reservations_by_user.get(user_id, {}).get(reservation["sku_id"])
        if current is None or current["reservation_id"] != reservation["reservation_id"]:
            raise ChangedMeanwhile()
        del self.reservations_by_user[user_id][reservation["sku_id"]]
        self.waiters_by_sku.get(reservation["sku_id"], {}).pop(user_id, None)

    def waiters(
        self, sku_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        ordered = sorted(self.waiters_by_sku.get(sku_id, {}).values(), key=lambda w: w["user_id"])
        after = [w for w in ordered if start is None or w["user_id"] > start["sk"]][:limit]
        more = len(after) == limit and after[-1]["user_id"] != ordered[-1]["user_id"]
        return copy.deepcopy(after), ({"sk": after[-1]["user_id"]} if more else None)

    def claim_notification(self, waiter: dict[str, Any], notified_at: str, result: str) -> bool:
        current = self.reservations_by_user.get(waiter["user_id"], {}).get(waiter["sku_id"])
        if current is None or current["reservation_id"] != waiter["reservation_id"] or current["notified_at"]:
            self.waiters_by_sku.get(waiter["sku_id"], {}).pop(waiter["user_id"], None)
            return False
        current.update(notified_at=notified_at, notify_result=result)
        self.waiters_by_sku[waiter["sku_id"]].pop(waiter["user_id"], None)
        return True

    def release_notification(self, waiter: dict[str, Any], notified_at: str) -> None:
        current = self.reservations_by_user.get(waiter["user_id"], {}).get(waiter["sku_id"])
        if current and current["reservation_id"] == waiter["reservation_id"] and current["notified_at"] == notified_at:
            current.update(notified_at=None, notify_result=None)
            self.waiters_by_sku.setdefault(waiter["sku_id"], {})[waiter["user_id"]] = copy.deepcopy(waiter)

    def stock_state(self, sku_id: str) -> StockState | None:
        return self.states.get(sku_id)

    def advance_stock_state(self, change: StockChange, seen: StockState | None, low_since: str | None) -> None:
        while self.before_advance:
            self.before_advance.pop(0)()
        if self.states.get(change.sku_id) != seen:
            raise ChangedMeanwhile()
        self.states[change.sku_id] = StockState(change.seq, change.new_stock, change.low_stock_threshold, low_since)
        if low_since is None:
            self.low.pop(change.sku_id, None)
        else:
            self.low[change.sku_id] = {
                "sku_id": change.sku_id,
                "product_id": change.product_id,
                "title": change.title,
                "stock": change.new_stock,
                "threshold": change.low_stock_threshold,
                "since": low_since,
            }

    def low_stock(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items = [self.low[k] for k in sorted(self.low) if start is None or k > start["sk"]][:limit]
        more = bool(items) and items[-1]["sku_id"] != max(self.low)
        return copy.deepcopy(items), ({"pk": "LOW_STOCK", "sk": items[-1]["sku_id"]} if more else None)

    def claim_event(self, sku_id: str, seq: str, what: str, at: str, expires_at: int) -> bool:
        if (sku_id, seq, what) in self.markers:
            return False
        self.markers.add((sku_id, seq, what))
        return True

    def release_event(self, sku_id: str, seq: str, what: str) -> None:
        self.markers.discard((sku_id, seq, what))

    def event_claimed(self, sku_id: str, seq: str, what: str) -> bool:
        return (sku_id, seq, what) in self.markers


class FakeCatalog:
    def __init__(self) -> None:
        self.skus: dict[str, dict[str, Any]] = {}

    def add_sku(self, sku_id: str, stock: int, title: str = "华为 Mate 60 Pro") -> None:
        self.skus[sku_id] = {
            "sku_id": sku_id, "product_id": sku_id.rsplit("-", 1)[0], "title": title, "image_url": None,
            "attributes": {"颜色": "雅丹黑"}, "price_fen": 689900, "stock": stock, "on_sale": True,
        }  # fmt: skip

    def skus_by_ids(self, sku_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {s: copy.deepcopy(self.skus[s]) for s in sku_ids if s in self.skus}


class FakeTexts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures_left = 0

    def send(self, phone: str, text: str) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("SNS is down")
        self.sent.append((phone, text))


class FakeAlerts:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self.failures_left = 0

    def publish(self, subject: str, message: str) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("SNS is down")
        self.published.append((subject, message))


class FakePhones:
    def __init__(self, phones: dict[str, str]) -> None:
        self.phones = phones

    def phone_of(self, user_id: str) -> str | None:
        return self.phones.get(user_id)


class Shop:
    """Everything the rules take, in memory; `change` hands a stock change to the consumer's rules."""

    def __init__(self) -> None:
        self.repo = FakeInventoryRepository()
        self.catalog = FakeCatalog()
        self.texts = FakeTexts()
        self.alerts = FakeAlerts()
        self.phones = FakePhones({"alice": "13900000001", "carol": "13900000003"})
        self.seq = 100

    def stock_change(self, sku_id: str, old: int, new: int, threshold: int = 10) -> StockChange:
        self.seq += 1
        return StockChange(sku_id, sku_id.rsplit("-", 1)[0], old, new, threshold, "2030-01-01T00:00:00Z",
                           padded_seq(str(self.seq)), title="华为 Mate 60 Pro")  # fmt: skip

    def handle(self, change: StockChange) -> dict[str, Any]:
        return service.handle_stock_change(self.repo, self.catalog, self.texts, self.phones, self.alerts, change)

    def texts_to(self, phone: str) -> list[str]:
        return [text for to, text in self.texts.sent if to == phone]


@pytest.fixture
def shop() -> Shop:
    shop = Shop()
    shop.catalog.add_sku(SKU, stock=0)
    return shop


# ---------------------------------------------------------------- reservations


def test_reserving_twice_while_waiting_keeps_the_one_reservation(shop: Shop) -> None:
    first = service.reserve(shop.repo, shop.catalog, "alice", SKU)
    second = service.reserve(shop.repo, shop.catalog, "alice", SKU)

    assert (first["newly_reserved"], second["newly_reserved"]) == (True, False)
    assert second["reserved_at"] == first["reserved_at"]
    assert len(shop.repo.waiters_by_sku[SKU]) == 1


def test_an_unknown_sku_is_not_found_and_one_in_stock_cannot_be_reserved(shop: Shop) -> None:
    shop.catalog.add_sku("p_1-01", stock=3)

    with pytest.raises(NotFound):
        service.reserve(shop.repo, shop.catalog, "alice", "p_9-01")
    with pytest.raises(InvalidState):
        service.reserve(shop.repo, shop.catalog, "alice", "p_1-01")


def test_a_user_holds_at_most_the_reservation_limit(shop: Shop) -> None:
    for n in range(MAX_RESERVATIONS):
        shop.catalog.add_sku(f"p_{n}-01", stock=0)
        service.reserve(shop.repo, shop.catalog, "alice", f"p_{n}-01")

    with pytest.raises(Conflict):
        service.reserve(shop.repo, shop.catalog, "alice", SKU)


def test_cancelling_a_reservation_the_user_does_not_hold_is_not_found(shop: Shop) -> None:
    service.reserve(shop.repo, shop.catalog, "alice", SKU)

    service.cancel_reservation(shop.repo, "alice", SKU)

    with pytest.raises(NotFound):
        service.cancel_reservation(shop.repo, "alice", SKU)
    assert shop.repo.waiters_by_sku[SKU] == {}


def test_a_reservation_of_a_sku_gone_from_the_catalog_is_listed_unavailable_with_its_stored_card(shop: Shop) -> None:
    service.reserve(shop.repo, shop.catalog, "alice", SKU)
    del shop.catalog.skus[SKU]

    (item,) = service.list_reservations(shop.repo, shop.catalog, "alice")["items"]

    assert (item["title"], item["stock"], item["available"], item["price_fen"]) == ("华为 Mate 60 Pro", 0, False, None)


# ---------------------------------------------------------------- restock texts


def test_a_restock_texts_every_waiter_with_a_phone_once_and_marks_those_without_one(shop: Shop) -> None:
    for user in ("alice", "bob", "carol"):
        service.reserve(shop.repo, shop.catalog, user, SKU)
    restock = shop.stock_change(SKU, 0, 5)

    outcome = shop.handle(restock)
    again = shop.handle(restock)  # redelivered

    assert (outcome["texted"], again["texted"]) == (2, 0)
    assert len(shop.texts_to("13900000001")) == len(shop.texts_to("13900000003")) == 1
    bob = shop.repo.reservation("bob", SKU)
    assert bob is not None and bob["notified_at"] and bob["notify_result"] == "no_phone"
    assert shop.repo.waiters_by_sku[SKU] == {}


def test_stock_bouncing_back_and_forth_texts_a_waiter_only_once(shop: Shop) -> None:
    service.reserve(shop.repo, shop.catalog, "alice", SKU)

    for old, new in ((0, 5), (5, 0), (0, 5), (5, 0), (0, 2)):
        shop.handle(shop.stock_change(SKU, old, new))

    assert len(shop.texts_to("13900000001")) == 1


def test_a_text_that_fails_is_sent_when_the_event_comes_back_and_the_others_are_not_repeated(shop: Shop) -> None:
    for user in ("alice", "carol"):
        service.reserve(shop.repo, shop.catalog, user, SKU)
    restock = shop.stock_change(SKU, 0, 5)
    shop.texts.failures_left = 1  # alice's text fails (waiters go by user id)

    with pytest.raises(RuntimeError):
        shop.handle(restock)
    alice_after_failure = shop.repo.reservation("alice", SKU)
    shop.handle(restock)

    assert alice_after_failure is not None and alice_after_failure["notified_at"] is None
    assert len(shop.texts_to("13900000001")) == 1
    assert len(shop.texts_to("13900000003")) == 1


def test_a_user_who_reserves_again_after_being_told_is_told_at_the_next_restock_but_not_by_an_old_copy(
    shop: Shop,
) -> None:
    service.reserve(shop.repo, shop.catalog, "alice", SKU)
    first_restock = shop.stock_change(SKU, 0, 5)
    shop.handle(first_restock)
    shop.handle(shop.stock_change(SKU, 5, 0))

    renewed = service.reserve(shop.repo, shop.catalog, "alice", SKU)
    shop.handle(first_restock)  # a late copy of the first restock
    told_before_next = len(shop.texts_to("13900000001"))
    shop.handle(shop.stock_change(SKU, 0, 7))

    assert (renewed["newly_reserved"], renewed["notified_at"]) == (True, None)
    assert told_before_next == 1
    assert len(shop.texts_to("13900000001")) == 2


def test_a_restock_reaches_waiters_across_many_pages(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "WAITERS_PAGE", 2)
    users = [f"user{n}" for n in range(5)]
    shop.phones.phones.update({user: f"1380000000{n}" for n, user in enumerate(users)})
    for user in users:
        service.reserve(shop.repo, shop.catalog, user, SKU)

    outcome = shop.handle(shop.stock_change(SKU, 0, 1))

    assert outcome["texted"] == 5


# ---------------------------------------------------------------- low stock


def test_falling_under_the_threshold_lists_the_sku_and_alerts_once_and_recovering_unlists_it(shop: Shop) -> None:
    fell = shop.stock_change("p_1-01", 10, 4)

    shop.handle(fell)
    shop.handle(fell)  # redelivered
    listed = service.list_low_stock(shop.repo, PageQuery())["items"]
    shop.handle(shop.stock_change("p_1-01", 4, 2))
    lower = service.list_low_stock(shop.repo, PageQuery())["items"]
    shop.handle(shop.stock_change("p_1-01", 2, 10))

    assert [(i["sku_id"], i["stock"], i["threshold"]) for i in listed] == [("p_1-01", 4, 10)]
    assert [(i["stock"], i["since"]) for i in lower] == [(2, listed[0]["since"])]
    assert service.list_low_stock(shop.repo, PageQuery())["items"] == []
    assert [subject for subject, _ in shop.alerts.published] == ["Low stock: SKU p_1-01 has 4 left (threshold 10)"]


def test_an_alert_that_fails_to_publish_is_published_when_the_event_comes_back(shop: Shop) -> None:
    fell = shop.stock_change("p_1-01", 12, 3)
    shop.alerts.failures_left = 1

    with pytest.raises(RuntimeError):
        shop.handle(fell)
    shop.handle(fell)
    shop.handle(fell)

    assert len(shop.alerts.published) == 1


def test_changes_arriving_out_of_order_leave_the_newest_state_and_a_stale_fall_raises_no_alert(shop: Shop) -> None:
    fell = shop.stock_change("p_1-01", 10, 3)
    recovered = shop.stock_change("p_1-01", 3, 20)

    shop.handle(recovered)
    outcome = shop.handle(fell)

    assert outcome["applied"] is False
    assert service.list_low_stock(shop.repo, PageQuery())["items"] == []
    assert shop.alerts.published == []


def test_a_stale_fall_while_the_sku_is_still_low_is_alerted(shop: Shop) -> None:
    fell = shop.stock_change("p_1-01", 10, 3)
    lower = shop.stock_change("p_1-01", 3, 1)

    shop.handle(lower)
    shop.handle(fell)

    assert len(shop.alerts.published) == 1
    assert [i["stock"] for i in service.list_low_stock(shop.repo, PageQuery())["items"]] == [1]


def test_a_concurrent_writer_of_the_stock_state_makes_the_change_read_again_and_retry(shop: Shop) -> None:
    other = shop.stock_change("p_1-01", 10, 8)
    mine = shop.stock_change("p_1-01", 8, 2)
    shop.repo.before_advance.append(lambda: shop.handle(other))

    outcome = shop.handle(mine)

    assert outcome["applied"] is True
    assert [i["stock"] for i in service.list_low_stock(shop.repo, PageQuery())["items"]] == [2]


def test_a_removed_sku_leaves_the_low_stock_list(shop: Shop) -> None:
    shop.handle(shop.stock_change("p_1-01", 10, 3))
    removed = StockChange("p_1-01", "p_1", 3, 0, 10, "2030-01-01T00:00:01Z", padded_seq("999"), type="sku_removed")

    shop.handle(removed)

    assert service.list_low_stock(shop.repo, PageQuery())["items"] == []
    assert len(shop.alerts.published) == 1
