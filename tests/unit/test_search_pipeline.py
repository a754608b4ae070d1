"""The search pipeline on fakes: which changes matter, debounce, build -> publish -> pointer, the warm index holder,
the search log, hot words. The engine is stood in for by a builder that writes the product ids to the file."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest

from chalicelib.search import indexer, service
from chalicelib.search.repository import CatalogRead, IndexPointer
from chalicelib.search.schemas import SearchLogged, SearchParams
from chalicelib.search.store import KEEP_PUBLISHED, IndexHolder
from tests.unit.profile_fakes import FakeProfileRepository

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeSearchRepository:
    def __init__(self) -> None:
        self.pointer: IndexPointer | None = None
        self.counts: dict[str, dict[str, int]] = {}
        self.top: tuple[list[dict[str, Any]], int] = ([], 0)
        self.claimed: dict[tuple[str, str], set[str]] = {}

    def index_pointer(self) -> IndexPointer | None:
        return self.pointer

    def move_index_pointer(self, pointer: IndexPointer, replaces: str | None) -> bool:
        current = self.pointer
        if (current.version if current else None) != replaces:
            return False
        if current is not None and current.catalog_as_of > pointer.catalog_as_of:
            return False
        self.pointer = pointer
        return True

    def add_hot_counts(self, day: str, counts: dict[str, int], expires_at: int) -> None:
        day_counts = self.counts.setdefault(day, {})
        for keyword, count in counts.items():
            day_counts[keyword] = day_counts.get(keyword, 0) + count

    def hot_counts(self, days: list[str]) -> dict[str, dict[str, int]]:
        return {day: dict(self.counts[day]) for day in days if day in self.counts}

    def claim_hot_count(self, day: str, source: str, keyword: str, cap: int, expires_at: int) -> bool:
        counted = self.claimed.setdefault((day, source), set())
        if keyword in counted or len(counted) >= cap:
            return False
        counted.add(keyword)
        return True

    def hot_top(self) -> tuple[list[dict[str, Any]], int]:
        return self.top

    def save_hot_top(self, items: list[dict[str, Any]], refreshed_at: int) -> bool:
        if self.top[1] > refreshed_at:
            return False
        self.top = (items, refreshed_at)
        return True


class FakeStorage:
    """An S3 bucket as a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.downloads = 0

    def upload(self, path: str, key: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

    def download(self, key: str, path: str) -> None:
        self.downloads += 1
        shutil.copyfile(self.root / key, path)

    def keys(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.sqlite"))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)


class FakeCatalog:
    def __init__(self, titles: dict[str, str], off_sale: tuple[str, ...] = ()) -> None:
        self.products = {
            pid: {"product_id": pid, "title": t, "on_sale": pid not in off_sale} for pid, t in titles.items()
        }
        self.full_reads = 0
        self.product_reads: list[list[str]] = []

    def read_catalog(self) -> CatalogRead:
        self.full_reads += 1
        return CatalogRead(products=[(p, []) for p in self.products.values()], categories={}, brands={})

    def read_products(self, product_ids: list[str]) -> CatalogRead:
        self.product_reads.append(list(product_ids))
        found = [(self.products[pid], []) for pid in product_ids if pid in self.products]
        return CatalogRead(products=found, categories={}, brands={})


def fake_build(docs: Any, path: str, popular: Any) -> None:
    Path(path).write_text(json.dumps({"docs": list(docs), "popular": list(popular)}), encoding="utf-8")


def fake_doc(product: dict[str, Any], skus: Any, categories: Any, brands: Any) -> str:
    return str(product["product_id"])


class FakeIndex:
    """Opens what fake_build wrote; finds products whose id contains the text."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.docs = json.loads(Path(path).read_text(encoding="utf-8"))["docs"]
        self.closed = False

    def search(self, query: Any) -> dict[str, Any]:
        items = [{"product_id": d, "title": d, "price_fen": 1} for d in self.docs if query in d]
        return {"items": items, "total": len(items), "facets": {"category": [], "brand": []}, "recommendations": []}

    def suggest(self, prefix: str, limit: int) -> list[str]:
        return [d for d in self.docs if d.startswith(prefix)][:limit]

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ticker:
    """A UTC clock that moves one millisecond per reading, so every build reads the catalog later than the last."""

    def __init__(self, start: datetime = NOON) -> None:
        self._moments = (start + timedelta(milliseconds=n) for n in itertools.count())

    def __call__(self) -> datetime:
        return next(self._moments)


@pytest.fixture
def bucket(tmp_path: Path) -> FakeStorage:
    return FakeStorage(tmp_path / "bucket")


def rebuild(
    catalog: FakeCatalog, repo: FakeSearchRepository, bucket: FakeStorage, now: Any = None
) -> indexer.RebuildOutcome:
    return indexer.rebuild_index(catalog, repo, bucket, fake_build, fake_doc, [("手机", 3)], now or Ticker())


def holder_for(repo: FakeSearchRepository, bucket: FakeStorage, tmp_path: Path, clock: Clock) -> IndexHolder:
    directory = tmp_path / "container-tmp"
    directory.mkdir(exist_ok=True)
    return IndexHolder(lambda: repo, lambda: bucket, FakeIndex, lambda: 30.0, clock, str(directory))


def stream_record(kind: str, event: str = "MODIFY", old: dict[str, Any] | None = None, **new: Any) -> dict[str, Any]:
    base = {"kind": {"S": kind}, "title": {"S": "华为 Mate 60"}, "view_count": {"N": "1"}, "stock": {"N": "3"}}
    old_image = {**base, **(old or {})}
    new_image = {**base, **new}
    images = {"OldImage": old_image, "NewImage": new_image}
    if event == "INSERT":
        images.pop("OldImage")
    if event == "REMOVE":
        images.pop("NewImage")
    return {"eventName": event, "dynamodb": images}


# -- which changes matter ---------------------------------------------------------------------------------------


def test_a_new_title_a_new_product_a_removed_sku_and_any_category_change_matter_to_search() -> None:
    assert indexer.is_search_relevant(stream_record("product", title={"S": "华为 Mate 70"}))
    assert indexer.is_search_relevant(stream_record("product", event="INSERT"))
    assert indexer.is_search_relevant(stream_record("sku", event="REMOVE"))
    assert indexer.is_search_relevant(stream_record("category"))
    assert indexer.is_search_relevant(stream_record("brand", event="INSERT"))


def test_view_counts_sales_ratings_and_stock_that_stays_above_zero_do_not_set_off_a_rebuild() -> None:
    assert not indexer.is_search_relevant(stream_record("product", view_count={"N": "2"}))
    assert not indexer.is_search_relevant(stream_record("product", sales={"N": "7"}, rating_avg={"N": "4.5"}))
    assert not indexer.is_search_relevant(stream_record("sku", stock={"N": "2"}))
    assert not indexer.is_search_relevant(stream_record("review", event="INSERT"))


def test_a_sku_selling_out_or_coming_back_matters_because_in_stock_filters_on_it() -> None:
    assert indexer.is_search_relevant(stream_record("sku", stock={"N": "0"}))
    assert indexer.is_search_relevant(stream_record("sku", old={"stock": {"N": "0"}}, stock={"N": "5"}))


def test_a_change_is_covered_only_by_an_index_whose_catalog_read_started_after_it() -> None:
    pointer = IndexPointer("v", "index/v.sqlite", "2026-11-24T12:00:00.500000Z", "2026-11-24T12:00:01Z")

    assert indexer.needs_rebuild(None, "2026-11-24T12:00:00.000000Z")
    assert not indexer.needs_rebuild(pointer, "2026-11-24T12:00:00.400000Z")
    assert indexer.needs_rebuild(pointer, "2026-11-24T12:00:00.600000Z")


# -- build, publish, pointer ------------------------------------------------------------------------------------


def test_a_rebuild_publishes_the_on_sale_products_under_a_new_key_and_points_readers_at_it(
    bucket: FakeStorage,
) -> None:
    repo = FakeSearchRepository()
    catalog = FakeCatalog({"p_phone": "手机", "p_gone": "下架"}, off_sale=("p_gone",))

    outcome = rebuild(catalog, repo, bucket)

    assert outcome.published and outcome.documents == 1
    assert repo.pointer is not None and repo.pointer.key == f"index/{outcome.version}.sqlite"
    published = json.loads((bucket.root / repo.pointer.key).read_text(encoding="utf-8"))
    assert published == {"docs": ["p_phone"], "popular": [["手机", 3]]}


def test_a_build_that_read_the_catalog_earlier_never_replaces_a_newer_one_and_its_file_is_dropped(
    bucket: FakeStorage,
) -> None:
    repo = FakeSearchRepository()
    later = rebuild(FakeCatalog({"p_new": "新"}), repo, bucket, Ticker(NOON + timedelta(seconds=5)))

    earlier = rebuild(FakeCatalog({"p_old": "旧"}), repo, bucket, Ticker(NOON))

    assert later.published and not earlier.published
    assert repo.pointer is not None and repo.pointer.version == later.version
    assert bucket.keys() == [f"index/{later.version}.sqlite"]


def test_old_index_files_are_dropped_but_the_newest_few_stay(bucket: FakeStorage) -> None:
    repo = FakeSearchRepository()
    ticker = Ticker()
    versions = [rebuild(FakeCatalog({"p": "x"}), repo, bucket, ticker).version for _ in range(KEEP_PUBLISHED + 3)]

    assert bucket.keys() == [f"index/{v}.sqlite" for v in versions[-KEEP_PUBLISHED:]]


# -- the warm container's index -----------------------------------------------------------------------------------


def test_before_any_index_is_published_a_search_answers_an_empty_page_not_an_error(
    bucket: FakeStorage, tmp_path: Path
) -> None:
    holder = holder_for(FakeSearchRepository(), bucket, tmp_path, Clock())
    log = RecordingLog()

    page = service.search(holder, SearchParams(q="手机"), str, log, None, "2026-11-24T12:00:00Z")

    assert page == service.empty_page(1)
    assert log.searches == [("手机", None, "2026-11-24T12:00:00Z", 0)]
    assert log.sources == [(False, service.ANONYMOUS_SOURCE)]


def test_a_newer_index_is_picked_up_only_once_the_check_interval_has_passed(
    bucket: FakeStorage, tmp_path: Path
) -> None:
    repo = FakeSearchRepository()
    ticker = Ticker()
    rebuild(FakeCatalog({"p_phone_1": "手机"}), repo, bucket, ticker)
    clock = Clock()
    holder = holder_for(repo, bucket, tmp_path, clock)
    with holder.use() as index:
        assert index.docs == ["p_phone_1"]
        first = index
    rebuild(FakeCatalog({"p_phone_1": "手机", "p_phone_2": "手机"}), repo, bucket, ticker)

    clock.now += 29
    with holder.use() as index:
        assert index.docs == ["p_phone_1"]
    clock.now += 1
    with holder.use() as index:
        assert index.docs == ["p_phone_1", "p_phone_2"]
    assert first.closed and not os.path.exists(first.path)
    assert bucket.downloads == 2


def test_a_failed_download_keeps_the_index_in_hand(bucket: FakeStorage, tmp_path: Path) -> None:
    repo = FakeSearchRepository()
    ticker = Ticker()
    rebuild(FakeCatalog({"p_one": "x"}), repo, bucket, ticker)
    clock = Clock()
    holder = holder_for(repo, bucket, tmp_path, clock)
    with holder.use() as index:
        assert index.docs == ["p_one"]
    rebuild(FakeCatalog({"p_two": "x"}), repo, bucket, ticker)
    assert repo.pointer is not None
    bucket.delete([repo.pointer.key])  # e.g. S3 answering 403 for a moment

    clock.now += 60
    with holder.use() as index:
        assert index is not None and index.docs == ["p_one"]


# -- searching, suggesting, logging -------------------------------------------------------------------------------


class RecordingLog:
    def __init__(self) -> None:
        self.searches: list[tuple[str, str | None, str, int]] = []
        self.sources: list[tuple[bool, str]] = []

    def searched(self, keyword: str, user_id: str | None, at: str, total: int, relaxed: bool, source: str) -> None:
        self.searches.append((keyword, user_id, at, total))
        self.sources.append((relaxed, source))


class StaticIndexSource:
    def __init__(self, index: Any) -> None:
        self.index = index

    @contextmanager
    def use(self) -> Any:
        yield self.index


def test_the_first_page_of_a_worded_search_is_logged_with_its_spacing_collapsed_but_later_pages_and_browsing_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "i.sqlite"
    fake_build(["p_phone_1", "p_phone_2", "p_tv"], str(path), [])
    source = StaticIndexSource(FakeIndex(str(path)))
    log = RecordingLog()

    first = service.search(source, SearchParams(q="  phone  "), lambda p: p.q.strip(), log, "u_1", "t1")
    service.search(source, SearchParams(q="phone", page=2), lambda p: p.q, log, "u_1", "t2")
    service.search(source, SearchParams(category_id="c_tv"), lambda p: p.q, log, None, "t3")

    assert first["total"] == 2 and first["relaxed"] is False and first["suggestions"] == []
    assert log.searches == [("phone", "u_1", "t1", 2)]


def test_suggestions_come_as_text_objects_and_a_blank_prefix_suggests_nothing(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite"
    fake_build(["shouji-1", "shouji-2", "dianshi"], str(path), [])
    source = StaticIndexSource(FakeIndex(str(path)))

    assert service.suggest(source, "shou") == {"suggestions": [{"text": "shouji-1"}, {"text": "shouji-2"}]}
    assert service.suggest(source, "   ") == {"suggestions": []}


def test_a_price_range_upside_down_an_unknown_sort_and_a_page_past_the_last_are_refused() -> None:
    for bad in ({"price_min_fen": 500, "price_max_fen": 100}, {"sort": "cheapest"}, {"page": 51}, {"page_size": 0}):
        with pytest.raises(pydantic.ValidationError):
            SearchParams.model_validate(bad)
    assert SearchParams.model_validate({"q": "手机", "in_stock": "true", "page": "2"}).in_stock is True


# -- hot words and history ----------------------------------------------------------------------------------------


SEARCHERS = itertools.count()


def logged(
    keyword: str,
    at: datetime = NOON,
    user_id: str | None = None,
    total: int = 5,
    source: str | None = None,
    relaxed: bool = False,
) -> SearchLogged:
    """One logged search; by default each by another anonymous searcher (another address)."""
    return SearchLogged(
        keyword=keyword,
        user_id=user_id,
        at=at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        total=total,
        relaxed=relaxed,
        source=source or (f"u:{user_id}" if user_id else f"ip:{next(SEARCHERS)}"),
    )


def test_hot_words_count_searches_case_and_spacing_aside_and_rank_recent_ones_higher() -> None:
    repo = FakeSearchRepository()
    week_ago = NOON - timedelta(days=5)
    searches = [logged("华为 手机", week_ago) for _ in range(3)] + [
        logged("iPhone"),
        logged(" iphone "),
        logged("华为  手机"),
    ]

    service.record_searches(repo, FakeProfileRepository(), searches, NOON, refresh_seconds=0)

    # 华为 手机: 4 searches, 3 of them five days old (0.7**5 each): 1.5; iphone: 2 today: 2.0.
    assert service.hot_words(repo) == {
        "items": [{"keyword": "iphone", "count": 2}, {"keyword": "华为 手机", "count": 4}]
    }


def test_searches_older_than_the_window_and_searches_that_found_nothing_do_not_trend() -> None:
    repo = FakeSearchRepository()
    searches = [logged("旧货", NOON - timedelta(days=service.HOT_DAYS)) for _ in range(5)] + [
        logged("asdfgh", total=0) for _ in range(5)
    ]

    service.record_searches(repo, FakeProfileRepository(), searches, NOON, refresh_seconds=0)
    service.refresh_hot_words(repo, NOON)

    assert service.hot_words(repo) == {"items": []}


def test_the_hot_list_is_folded_at_most_once_per_interval() -> None:
    repo = FakeSearchRepository()
    profiles = FakeProfileRepository()
    service.record_searches(repo, profiles, [logged("手机")], NOON, refresh_seconds=60)

    service.record_searches(
        repo, profiles, [logged("耳机"), logged("耳机")], NOON + timedelta(seconds=30), refresh_seconds=60
    )
    assert [i["keyword"] for i in service.hot_words(repo)["items"]] == ["手机"]
    service.record_searches(repo, profiles, [], NOON + timedelta(seconds=61), refresh_seconds=60)
    assert [i["keyword"] for i in service.hot_words(repo)["items"]] == ["手机"]  # nothing new counted: no fold
    service.record_searches(repo, profiles, [logged("手机")], NOON + timedelta(seconds=61), refresh_seconds=60)
    assert service.hot_words(repo)["items"] == [{"keyword": "手机", "count": 2}, {"keyword": "耳机", "count": 2}]


def test_a_signed_in_users_searches_go_to_their_history_newest_first_and_anonymous_ones_nowhere() -> None:
    profiles = FakeProfileRepository()
    searches = [
        logged("手机", NOON, "u_1"),
        logged("耳机", NOON + timedelta(seconds=1), "u_1", total=0),
        logged("电视", NOON + timedelta(seconds=2)),
        logged("   ", NOON, "u_1"),
    ]

    outcome = service.record_searches(FakeSearchRepository(), profiles, searches, NOON, refresh_seconds=0)

    from chalicelib.profile import service as profile_service

    history = profile_service.list_search_history(profiles, "u_1")["items"]
    assert [entry["keyword"] for entry in history] == ["耳机", "手机"]
    assert outcome["histories"] == 2 and outcome["counted"] == 2


def test_one_searcher_repeating_junk_counts_once_a_day_and_within_a_cap_so_it_cannot_trend() -> None:
    """GIVEN real searches by a few people WHEN one client repeats a junk query hundreds of times, and a script sends
    hundreds of distinct junk queries from one address THEN each counts once for that searcher that day, the script
    adds at most the cap, and neither outranks what several people searched."""
    repo = FakeSearchRepository()
    people = [logged("手机", source=f"u:person{n}") for n in range(3)]
    repeater = [logged("zz刷榜", source="ip:bot") for _ in range(500)]
    script = [logged(f"junk{n}", source="ip:script") for n in range(500)]

    outcome = service.record_searches(repo, FakeProfileRepository(), people + repeater + script, NOON, 0)

    counts = {item["keyword"]: item["count"] for item in service.hot_words(repo, limit=1000)["items"]}
    assert counts["手机"] == 3 and counts["zz刷榜"] == 1
    assert sum(1 for keyword in counts if keyword.startswith("junk")) == service.HOT_KEYWORDS_PER_SOURCE_PER_DAY
    assert service.hot_words(repo)["items"][0] == {"keyword": "手机", "count": 3}
    assert outcome["counted"] == 3 + 1 + service.HOT_KEYWORDS_PER_SOURCE_PER_DAY


def test_a_query_found_only_through_relaxed_matching_does_not_count_and_a_new_shanghai_day_counts_again() -> None:
    repo = FakeSearchRepository()
    before_midnight = datetime(2026, 11, 24, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    after_midnight = datetime(2026, 11, 24, 16, 1, tzinfo=UTC)  # 00:01 the next day there
    searches = [
        logged("红色 不存在的词 手机", relaxed=True, source="u:a"),
        logged("耳机", before_midnight, source="u:a"),
        logged("耳机", before_midnight, source="u:a"),
        logged("耳机", after_midnight, source="u:a"),
    ]

    service.record_searches(repo, FakeProfileRepository(), searches, after_midnight, refresh_seconds=0)

    assert repo.counts == {"2026-11-24": {"耳机": 1}, "2026-11-25": {"耳机": 1}}
