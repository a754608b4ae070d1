"""Personal center rules on an in-memory repository, including writes that race with another request."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.errors import ChangedMeanwhile, Conflict, NotFound, ValidationError
from chalicelib.pagination import PageQuery
from chalicelib.profile import service
from chalicelib.profile.domain import AddressBook
from chalicelib.profile.schemas import AddressWrite
from tests.unit.profile_fakes import FakeProfileRepository

ALICE = "u_alice"
BOB = "u_bob"


def address(receiver: str = "张三", **overrides: Any) -> AddressWrite:
    data: dict[str, Any] = {
        "receiver": receiver,
        "phone": "13800138000",
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "detail": "科技园南区 1 栋 101",
    }
    data.update(overrides)
    return AddressWrite.model_validate(data)


@pytest.fixture
def repo() -> FakeProfileRepository:
    return FakeProfileRepository()


def create_in_order(repo: FakeProfileRepository, *writes: AddressWrite) -> list[dict[str, Any]]:
    """Create addresses a few milliseconds apart: ids order by the millisecond, and newest means latest id."""
    created = []
    for write in writes:
        time.sleep(0.002)
        created.append(service.create_address(repo, ALICE, write))
    return created


def defaults(repo: FakeProfileRepository, user_id: str = ALICE) -> list[str]:
    return [a["receiver"] for a in service.list_addresses(repo, user_id)["items"] if a["is_default"]]


class RacingProfileRepository(FakeProfileRepository):
    """Lets another request's address write land between this request's read and its conditional write, once."""

    def __init__(self, other_write: AddressWrite, user_id: str = ALICE) -> None:
        super().__init__()
        self.other_write = other_write
        self.user_id = user_id
        self.raced = False

    def add_address(self, user_id: str, address: dict[str, Any], seen: AddressBook, max_count: int) -> None:
        if not self.raced:
            self.raced = True
            service.create_address(self, self.user_id, self.other_write)
        super().add_address(user_id, address, seen, max_count)


# -- addresses ---------------------------------------------------------------------------------------------------


def test_given_no_address_when_one_is_added_then_it_is_the_default(repo: FakeProfileRepository) -> None:
    created = service.create_address(repo, ALICE, address(phone="+8613800138000"))

    assert created["is_default"] is True
    assert created["phone"] == "13800138000"
    assert service.get_address(repo, ALICE, created["address_id"]) == created


def test_given_a_default_when_another_is_added_as_default_then_only_the_new_one_is(
    repo: FakeProfileRepository,
) -> None:
    create_in_order(repo, address("张三"), address("李四"), address("王五", is_default=True))

    assert defaults(repo) == ["王五"]
    assert [a["receiver"] for a in service.list_addresses(repo, ALICE)["items"]] == ["王五", "李四", "张三"]


def test_given_20_addresses_when_a_21st_is_added_then_it_is_a_conflict(repo: FakeProfileRepository) -> None:
    for n in range(20):
        service.create_address(repo, ALICE, address(f"收件人{n}"))

    with pytest.raises(Conflict, match="At most 20"):
        service.create_address(repo, ALICE, address("第二十一"))
    assert len(service.list_addresses(repo, ALICE)["items"]) == 20
    assert service.create_address(repo, BOB, address())["is_default"] is True


def test_when_a_default_is_set_concurrently_then_the_retry_still_leaves_one_default() -> None:
    repo = RacingProfileRepository(other_write=address("并发", is_default=True))

    service.create_address(repo, ALICE, address("我的", is_default=True))

    assert defaults(repo) == ["我的"]
    assert len(service.list_addresses(repo, ALICE)["items"]) == 2


def test_when_two_first_addresses_race_then_only_one_becomes_the_default() -> None:
    repo = RacingProfileRepository(other_write=address("并发"))

    service.create_address(repo, ALICE, address("我的"))

    assert defaults(repo) == ["并发"]


def test_when_the_20th_address_is_taken_concurrently_then_the_write_is_a_conflict() -> None:
    repo = RacingProfileRepository(other_write=address("并发"))
    repo.raced = True
    for n in range(19):
        service.create_address(repo, ALICE, address(f"收件人{n}"))
    repo.raced = False

    with pytest.raises(Conflict, match="At most 20"):
        service.create_address(repo, ALICE, address("第二十"))
    assert len(service.list_addresses(repo, ALICE)["items"]) == 20


def test_when_the_book_keeps_changing_then_the_write_gives_up_with_a_conflict(repo: FakeProfileRepository) -> None:
    class AlwaysRacing(FakeProfileRepository):
        def add_address(self, user_id: str, address: dict[str, Any], seen: AddressBook, max_count: int) -> None:
            raise ChangedMeanwhile()

    with pytest.raises(ChangedMeanwhile) as raised:
        service.create_address(AlwaysRacing(), ALICE, address())
    assert raised.value.status == 409


def test_a_replacement_without_is_default_keeps_it_and_false_clears_it(repo: FakeProfileRepository) -> None:
    created = service.create_address(repo, ALICE, address())

    kept = service.replace_address(repo, ALICE, created["address_id"], address("赵六"))
    cleared = service.replace_address(repo, ALICE, created["address_id"], address("赵六", is_default=False))

    assert kept["is_default"] is True and kept["receiver"] == "赵六" and kept["created_at"] == created["created_at"]
    assert cleared["is_default"] is False
    assert defaults(repo) == []


def test_a_replacement_as_default_moves_the_default(repo: FakeProfileRepository) -> None:
    service.create_address(repo, ALICE, address("张三"))
    other = service.create_address(repo, ALICE, address("李四"))

    service.replace_address(repo, ALICE, other["address_id"], address("李四", is_default=True))

    assert defaults(repo) == ["李四"]


def test_deleting_the_default_promotes_the_newest_and_deleting_the_last_leaves_none(
    repo: FakeProfileRepository,
) -> None:
    first, second, third = create_in_order(repo, address("张三"), address("李四"), address("王五"))

    service.delete_address(repo, ALICE, first["address_id"])
    assert defaults(repo) == ["王五"]
    service.delete_address(repo, ALICE, third["address_id"])
    assert defaults(repo) == ["李四"]
    service.delete_address(repo, ALICE, second["address_id"])
    assert service.list_addresses(repo, ALICE)["items"] == []
    assert repo.address_book(ALICE) == AddressBook(0, None)


def test_another_users_address_is_not_found(repo: FakeProfileRepository) -> None:
    mine = service.create_address(repo, ALICE, address())

    with pytest.raises(NotFound):
        service.get_address(repo, BOB, mine["address_id"])
    with pytest.raises(NotFound):
        service.replace_address(repo, BOB, mine["address_id"], address("鲍勃"))
    with pytest.raises(NotFound):
        service.delete_address(repo, BOB, mine["address_id"])
    assert service.get_address(repo, ALICE, mine["address_id"])["receiver"] == "张三"


@pytest.mark.parametrize(
    "change",
    [{"receiver": " "}, {"phone": "10000000000"}, {"detail": "址" * 121}, {"is_default": 1}, {"note": "x"}],
)
def test_an_address_breaking_a_field_rule_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        address(**change)


# -- favorites ---------------------------------------------------------------------------------------------------


def test_favoriting_twice_counts_once_and_removing_twice_uncounts_once(repo: FakeProfileRepository) -> None:
    repo.add_product("p_1")

    first = service.add_favorite(repo, ALICE, "p_1")
    again = service.add_favorite(repo, ALICE, "p_1")

    assert (first["newly_added"], again["newly_added"]) == (True, False)
    assert again["favorited_at"] == first["favorited_at"]
    assert repo.favorite_counts["p_1"] == 1
    service.remove_favorite(repo, ALICE, "p_1")
    service.remove_favorite(repo, ALICE, "p_1")
    assert repo.favorite_counts["p_1"] == 0


def test_favoriting_a_missing_product_is_not_found(repo: FakeProfileRepository) -> None:
    with pytest.raises(NotFound):
        service.add_favorite(repo, ALICE, "p_missing")


def test_when_a_favorite_is_removed_between_the_add_and_the_read_then_it_is_added_again() -> None:
    class RemovedMeanwhile(FakeProfileRepository):
        calls = 0

        def add_favorite(self, user_id: str, product_id: str, favorited_at: str, order_key: str) -> bool:
            self.calls += 1
            if self.calls == 1:
                return False  # it was there when we wrote ...
            return super().add_favorite(user_id, product_id, favorited_at, order_key)

    repo = RemovedMeanwhile()
    repo.add_product("p_1")

    assert service.add_favorite(repo, ALICE, "p_1")["newly_added"] is True  # ... and gone when we read
    assert repo.favorite_counts["p_1"] == 1


def test_favorites_list_newest_first_in_pages_leaving_out_deleted_products(repo: FakeProfileRepository) -> None:
    for product_id in ("p_1", "p_2", "p_3", "p_4"):
        repo.add_product(product_id, title=product_id, on_sale=product_id != "p_2")
        service.add_favorite(repo, ALICE, product_id)
    del repo.products["p_4"]

    first = service.list_favorites(repo, ALICE, PageQuery(page_size=2))
    second = service.list_favorites(repo, ALICE, PageQuery(page_size=2, cursor=first["next_cursor"]))

    assert [item["product_id"] for item in first["items"]] == ["p_3"]  # p_4 is gone from the catalog
    assert [(item["product_id"], item["available"]) for item in second["items"]] == [("p_2", False), ("p_1", True)]
    assert second["next_cursor"] is None
    assert first["items"][0]["image_url"] == "https://img.shop.example/1.jpg"
    with pytest.raises(ValidationError, match="cursor"):
        service.list_favorites(repo, BOB, PageQuery(page_size=2, cursor=first["next_cursor"]))


# -- footprints --------------------------------------------------------------------------------------------------


def test_footprints_keep_the_latest_view_per_product_newest_first(repo: FakeProfileRepository) -> None:
    for product_id in ("p_1", "p_2"):
        repo.add_product(product_id)
    start = utcnow() - timedelta(hours=1)
    views = [
        (ALICE, "p_1", iso(start + timedelta(minutes=5))),
        (ALICE, "p_2", iso(start + timedelta(minutes=3))),
        (ALICE, "p_1", iso(start)),
        (BOB, "p_2", iso(start)),
    ]

    service.record_footprints(repo, views)
    service.record_footprints(repo, views)  # a redelivered batch

    mine = service.list_footprints(repo, ALICE)["items"]
    assert [(f["product_id"], f["viewed_at"]) for f in mine] == [
        ("p_1", iso(start + timedelta(minutes=5))),
        ("p_2", iso(start + timedelta(minutes=3))),
    ]
    assert [f["product_id"] for f in service.list_footprints(repo, BOB)["items"]] == ["p_2"]


def test_footprints_are_capped_at_100_and_expire_after_90_days(repo: FakeProfileRepository) -> None:
    start = utcnow() - timedelta(days=2)
    for n in range(105):
        repo.add_product(f"p_{n:03d}")
    service.record_footprints(repo, [(ALICE, f"p_{n:03d}", iso(start + timedelta(minutes=n))) for n in range(105)])
    service.record_footprints(repo, [(ALICE, "p_000", iso(utcnow() - timedelta(days=91)))])

    items = service.list_footprints(repo, ALICE)["items"]

    assert len(items) == 100 and len(repo.footprints(ALICE)) == 100
    assert items[0]["product_id"] == "p_104" and items[-1]["product_id"] == "p_005"


def test_a_footprint_past_its_expiry_is_not_listed_even_while_still_stored(repo: FakeProfileRepository) -> None:
    repo.add_product("p_1")
    service.record_footprints(repo, [(ALICE, "p_1", iso(utcnow()))])
    repo.footprint_items[ALICE]["p_1"]["expires_at"] = 0

    assert service.list_footprints(repo, ALICE)["items"] == []


def test_malformed_views_are_dropped_and_the_rest_kept(repo: FakeProfileRepository) -> None:
    repo.add_product("p_1")
    views: list[Any] = [(ALICE, "p_1", "yesterday"), (ALICE, "", iso(utcnow())), (None, "p_1", iso(utcnow()))]
    views.append((ALICE, "p_1", iso(utcnow())))

    assert service.record_footprints(repo, views) == 1
    assert len(service.list_footprints(repo, ALICE)["items"]) == 1
    service.clear_footprints(repo, ALICE)
    assert service.list_footprints(repo, ALICE)["items"] == []


# -- search history ----------------------------------------------------------------------------------------------


def test_search_history_deduplicates_keywords_ignoring_case_and_spacing(repo: FakeProfileRepository) -> None:
    start = utcnow() - timedelta(hours=1)
    service.record_search(repo, ALICE, "华为 Mate", iso(start))
    service.record_search(repo, ALICE, "手机", iso(start + timedelta(seconds=1)))
    service.record_search(repo, ALICE, "  华为   MATE ", iso(start + timedelta(seconds=2)))
    service.record_search(repo, ALICE, "华为 mate", iso(start - timedelta(seconds=9)))  # a late, older one
    service.record_search(repo, ALICE, "   ", iso(start))

    items = service.list_search_history(repo, ALICE)["items"]

    assert items == [
        {"keyword": "华为 MATE", "searched_at": iso(start + timedelta(seconds=2))},
        {"keyword": "手机", "searched_at": iso(start + timedelta(seconds=1))},
    ]
    assert service.list_search_history(repo, BOB)["items"] == []


def test_search_history_keeps_the_last_20(repo: FakeProfileRepository) -> None:
    start = utcnow() - timedelta(hours=1)
    for n in range(25):
        service.record_search(repo, ALICE, f"keyword {n}", start + timedelta(seconds=n))

    items = service.list_search_history(repo, ALICE)["items"]

    assert [item["keyword"] for item in items] == [f"keyword {n}" for n in range(24, 4, -1)]
    assert len(repo.searches(ALICE)) == 20
    service.clear_search_history(repo, ALICE)
    assert service.list_search_history(repo, ALICE)["items"] == []


def test_a_search_with_a_malformed_time_is_dropped(repo: FakeProfileRepository) -> None:
    service.record_search(repo, ALICE, "华为", "not a time")

    assert service.list_search_history(repo, ALICE)["items"] == []


# -- account deletion --------------------------------------------------------------------------------------------


def test_erasing_a_user_removes_addresses_favorites_footprints_and_searches_and_uncounts_favorites(
    repo: FakeProfileRepository,
) -> None:
    repo.add_product("p_1")
    service.create_address(repo, ALICE, address())
    service.add_favorite(repo, ALICE, "p_1")
    service.add_favorite(repo, BOB, "p_1")
    service.record_footprints(repo, [(ALICE, "p_1", iso(utcnow()))])
    service.record_search(repo, ALICE, "华为", iso(utcnow()))

    service.erase_user(repo, ALICE)
    service.erase_user(repo, ALICE)  # again: nothing left, nothing fails

    assert service.list_addresses(repo, ALICE)["items"] == [] and repo.address_book(ALICE) == AddressBook()
    assert service.list_favorites(repo, ALICE, PageQuery())["items"] == [] and repo.favorite_counts["p_1"] == 1
    assert service.list_footprints(repo, ALICE)["items"] == []
    assert service.list_search_history(repo, ALICE)["items"] == []


def test_footprints_and_searches_of_a_deleted_account_that_arrive_late_are_dropped(
    repo: FakeProfileRepository,
) -> None:
    repo.add_product("p_1")
    repo.closed_accounts.add(ALICE)

    kept = service.record_footprints(repo, [(ALICE, "p_1", iso(utcnow())), (BOB, "p_1", iso(utcnow()))])
    service.record_search(repo, ALICE, "华为", iso(utcnow()))

    assert kept == 1 and repo.footprints(ALICE) == [] and len(repo.footprints(BOB)) == 1
    assert repo.searches(ALICE) == []
