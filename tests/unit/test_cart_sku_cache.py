"""The SKU cache of adds to the cart: kept for its time to live, bounded, and what adds see of staff changes."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.cart import service
from chalicelib.cart.domain import QuantityLimit
from chalicelib.cart.sku_cache import SkuCache
from chalicelib.dynamo import PendingRead
from chalicelib.errors import InvalidState
from tests.unit.test_cart_service import FakeCartRepository, SkuCatalog, U


class FakeClock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingCatalog(SkuCatalog):
    """The catalog, counting the SKU reads of adds."""

    def __init__(self) -> None:
        super().__init__()
        self.sku_reads = 0

    def sku_read(self, sku_id: str) -> PendingRead[dict[str, Any] | None]:
        self.sku_reads += 1
        return PendingRead(None, None, lambda _: self.skus_by_ids([sku_id]).get(sku_id))


def sku(sku_id: str, stock: int = 10) -> dict[str, Any]:
    return {"sku_id": sku_id, "on_sale": True, "stock": stock, "price_fen": 100, "title": "t", "attributes": {},
            "image_url": None, "category_id": "c_phone"}  # fmt: skip


def test_a_cached_sku_is_given_until_its_time_to_live_has_passed() -> None:
    # GIVEN a 5-second cache holding a SKU
    clock = FakeClock()
    cache = SkuCache(5, clock=clock)
    cache.put("p_a-01", sku("p_a-01"))

    # WHEN it is asked for 4.9 seconds later, then at 5 seconds
    clock.now += 4.9
    within = cache.get("p_a-01")
    clock.now += 0.1
    after = cache.get("p_a-01")

    # THEN it is given, then it is not (read it again), and only what adds need is kept
    assert within is not None and within["stock"] == 10 and "category_id" not in within
    assert after is None


def test_a_zero_second_cache_keeps_nothing_and_a_full_one_forgets_the_least_recently_used() -> None:
    # GIVEN a disabled cache and a cache of two SKUs
    disabled, small = SkuCache(0), SkuCache(5, size=2)
    disabled.put("p_a-01", sku("p_a-01"))
    small.put("p_a-01", sku("p_a-01"))
    small.put("p_b-01", sku("p_b-01"))

    # WHEN the first is used and a third comes in
    small.get("p_a-01")
    small.put("p_c-01", sku("p_c-01"))

    # THEN the disabled cache has nothing, and the small one lost the SKU unused the longest
    assert disabled.get("p_a-01") is None
    assert [small.get(s) is not None for s in ("p_a-01", "p_b-01", "p_c-01")] == [True, False, True]


def test_adds_within_the_ttl_do_not_read_the_sku_and_see_a_staff_change_once_it_has_passed() -> None:
    # GIVEN a line of a SKU added once through a 5-second cache
    clock = FakeClock()
    cache, repo, catalog = SkuCache(5, clock=clock), FakeCartRepository(), CountingCatalog()
    sku_id = catalog.add("p_a-01", 100)
    service.add_item(repo, catalog, U, sku_id, 1, cache)

    # WHEN staff takes it off sale, and it is added again at once, then after the time to live
    catalog.sku_records[sku_id]["on_sale"] = False
    soon = service.add_item(repo, catalog, U, sku_id, 2, cache)
    reads_within = catalog.sku_reads
    clock.now += 5
    with pytest.raises(InvalidState):
        service.add_item(repo, catalog, U, sku_id, 1, cache)

    # THEN the add within the TTL took the cached SKU (the stock check is advisory), the one after read it again
    assert soon["quantity"] == 3 and reads_within == 1
    assert catalog.sku_reads == 2 and repo.line(U, sku_id)["quantity"] == 3  # type: ignore[index]


def test_a_cached_sku_still_keeps_a_line_within_999_and_starts_new_lines() -> None:
    # GIVEN a cached SKU with a line of 998
    cache, repo, catalog = SkuCache(5, clock=FakeClock()), FakeCartRepository(), CountingCatalog()
    sku_id, other = catalog.add("p_a-01", 100), catalog.add("p_b-01", 100)
    service.add_item(repo, catalog, U, sku_id, 998, cache)
    service.add_item(repo, catalog, U, other, 1, cache)
    repo.carts[U].pop(other)  # the other line removed meanwhile; its SKU stays cached

    # WHEN 2 more of the first are added, and the other SKU again
    with pytest.raises(QuantityLimit):
        service.add_item(repo, catalog, U, sku_id, 2, cache)
    again = service.add_item(repo, catalog, U, other, 4, cache)

    # THEN the first line stays at 998 and the other starts anew at 4, neither SKU read again
    assert repo.line(U, sku_id)["quantity"] == 998  # type: ignore[index]
    assert again["quantity"] == 4 and catalog.sku_reads == 2
