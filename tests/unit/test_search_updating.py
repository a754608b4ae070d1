"""Changing an index file in place for a few changed products answers as a full build of the changed catalog."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from chalicelib.search.building import build_index
from chalicelib.search.documents import ProductDoc
from chalicelib.search.engine import SearchIndex, SearchQuery
from chalicelib.search.updating import apply_changes
from tests.search_relevance.demo_docs import demo_docs
from tests.search_relevance.evaluate import product_id_of

PHONE = product_id_of("huawei-mate60-pro")
DRESS = product_id_of("uniqlo-women-cotton-dress")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "index.sqlite"
    build_index(demo_docs(), str(path))
    return path


def changed_copy(built: Path, tmp_path: Path, docs: list[ProductDoc], removed: tuple[str, ...] = ()) -> Path:
    copy = tmp_path / "changed.sqlite"
    shutil.copy(built, copy)
    apply_changes(str(copy), docs, removed)
    return copy


def answers(path: Path, text: str, **options: object) -> tuple[int, list[str], dict]:
    with SearchIndex(str(path)) as index:
        result = index.search(SearchQuery(text=text, page_size=50, **options))  # type: ignore[arg-type]
    return result["total"], [item["product_id"] for item in result["items"]], result["facets"]


def doc(product_id: str) -> ProductDoc:
    return next(d for d in demo_docs() if d.product_id == product_id)


def test_a_changed_title_is_found_by_its_new_words_and_no_longer_by_its_old_ones(built: Path, tmp_path: Path) -> None:
    # GIVEN the index of the demo catalog WHEN a phone's title changes to name a 折叠屏 (no other product says it)
    renamed = dataclasses.replace(doc(PHONE), title="华为 Mate X5 折叠屏手机 典藏版")
    path = changed_copy(built, tmp_path, [renamed])
    # THEN the new word finds it, a word only its old title had does not, and the other phones are unchanged
    assert answers(path, "折叠屏")[1] == [PHONE]
    assert PHONE in answers(built, "雅川青", sort="price_asc")[1]
    assert PHONE not in answers(path, "雅川青", sort="price_asc")[1]
    assert answers(path, "手机")[0] == answers(built, "手机")[0]


def test_a_product_off_sale_leaves_the_index_and_its_facet_counts(built: Path, tmp_path: Path) -> None:
    path = changed_copy(built, tmp_path, [dataclasses.replace(doc(PHONE), on_sale=False)])
    total_before, _, facets_before = answers(built, "", category_id="c_phone")
    total, found, facets = answers(path, "", category_id="c_phone")
    assert PHONE not in found and total == total_before - 1
    phone_facet = {f["id"]: f["count"] for f in facets["category"]}["c_phone"]
    assert phone_facet == {f["id"]: f["count"] for f in facets_before["category"]}["c_phone"] - 1
    assert PHONE not in answers(path, "华为")[1]


def test_a_removed_id_leaves_the_index(built: Path, tmp_path: Path) -> None:
    path = changed_copy(built, tmp_path, [], (DRESS, "p_not_there"))
    assert DRESS not in answers(path, "连衣裙")[1]


def test_price_and_stock_changes_reach_filters_and_sorts(built: Path, tmp_path: Path) -> None:
    cheap = dataclasses.replace(doc(PHONE), price_fen=100, in_stock=False)
    path = changed_copy(built, tmp_path, [cheap])
    assert answers(path, "手机", sort="price_asc")[1][0] == PHONE
    assert PHONE not in answers(path, "手机", in_stock=True)[1]
    assert PHONE in answers(path, "手机", price_max_fen=100)[1]


def test_a_new_product_is_found_sorted_newest_and_counted(built: Path, tmp_path: Path) -> None:
    new = dataclasses.replace(
        doc(PHONE),
        product_id="p_brand_new",
        title="华为 Pura 80 Ultra 5G手机",
        sales=0,
        created_at="2030-01-01T00:00:00Z",
    )
    path = changed_copy(built, tmp_path, [new])
    total, found, _ = answers(path, "手机", sort="newest")
    assert found[0] == "p_brand_new" and total == answers(built, "手机", sort="newest")[0] + 1


def test_changes_keep_the_same_answers_as_a_full_build_of_the_changed_catalog(built: Path, tmp_path: Path) -> None:
    changed = [
        dataclasses.replace(doc(PHONE), title="华为 Mate X5 折叠屏手机 典藏版", price_fen=999_900),
        dataclasses.replace(doc(DRESS), on_sale=False),
    ]
    path = changed_copy(built, tmp_path, changed)
    by_id = {d.product_id: d for d in demo_docs()} | {d.product_id: d for d in changed}
    fresh = tmp_path / "fresh.sqlite"
    build_index(list(by_id.values()), str(fresh))
    for text, sort in [("手机", "price_asc"), ("折叠屏", "relevance"), ("连衣裙", "sales"), ("", "price_desc")]:
        assert answers(path, text, sort=sort)[:2] == answers(fresh, text, sort=sort)[:2], (text, sort)


def test_a_new_products_words_are_found_by_joined_pinyin_and_suggested(built: Path, tmp_path: Path) -> None:
    new = dataclasses.replace(doc(PHONE), product_id="p_new", title="华为 Mate X5 折叠屏手机", sales=0)
    path = changed_copy(built, tmp_path, [new])
    assert answers(path, "zhediepingshouji")[1] == answers(path, "折叠屏手机")[1] == ["p_new"]
    with SearchIndex(str(path)) as index:
        assert "折叠屏" in index.suggest("折叠") and "折叠屏" in index.suggest("zhedie")


@pytest.mark.parametrize("category_id", [None, "c_digital", "c_apparel"])  # the whole shop: price bands
@pytest.mark.parametrize(
    ("low", "high", "in_stock"), [(10_000, 510_000, None), (None, 50_000, True), (100_000, None, None), (0, 0, None)]
)
def test_a_browse_over_a_price_range_counts_exactly_what_it_lists(
    built: Path, tmp_path: Path, low: int | None, high: int | None, in_stock: bool | None, category_id: str | None
) -> None:
    # GIVEN the built index, and a copy where a phone got cheap and sold out and a dress left
    cheap = dataclasses.replace(doc(PHONE), price_fen=20_000, in_stock=False)
    changed = changed_copy(built, tmp_path, [cheap, dataclasses.replace(doc(DRESS), on_sale=False)])
    for path in (built, changed):
        options = {"price_min_fen": low, "price_max_fen": high, "in_stock": in_stock, "sort": "price_asc"}
        options["category_id"] = category_id
        total, _, facets = answers(path, "", **options)
        listed = []
        for page in range(1, 6):
            with SearchIndex(str(path)) as index:
                listed += index.search(SearchQuery(page=page, page_size=100, **options))["items"]  # type: ignore[arg-type]
        # THEN the total and the facet counts are those of the products the pages list
        assert total == len(listed)
        by_category: dict[str, int] = {}
        for item in listed:
            by_category[item["category_id"]] = by_category.get(item["category_id"], 0) + 1
        assert {f["id"]: f["count"] for f in facets["category"]} == dict(
            sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        )
