"""The search engine over the demo catalog: matching, filters, sorts, facets, relaxing, suggest, hostile input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chalicelib.search import building, engine
from chalicelib.search.building import build_index
from chalicelib.search.engine import SearchIndex, SearchQuery
from tests.search_relevance.demo_docs import demo_docs

POPULAR = [("手机壳", 30), ("iphone15", 50), ("羽绒服 女", 12)]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    path = tmp_path_factory.mktemp("search") / "index.sqlite"
    build_index(demo_docs(), str(path), POPULAR)
    with SearchIndex(str(path)) as opened:
        yield opened


def search(index: SearchIndex, text: str = "", **filters: object) -> dict:
    return index.search(SearchQuery(text=text, **filters))  # type: ignore[arg-type]


def titles(result: dict) -> list[str]:
    return [item["title"] for item in result["items"]]


def test_a_chinese_word_finds_products_whose_titles_contain_it(index: SearchIndex) -> None:
    result = search(index, "手机")
    assert result["total"] >= 10 and not result["relaxed"]
    assert all(item["category_id"] == "c_phone" for item in result["items"][:5])


def test_full_pinyin_finds_the_chinese_word(index: SearchIndex) -> None:
    found = {item["product_id"] for item in search(index, "shouji", page_size=50)["items"]}
    assert found and found <= {item["product_id"] for item in search(index, "手机", page_size=50)["items"]}


def test_latin_with_digits_is_matched_whole_or_spaced(index: SearchIndex) -> None:
    joined = search(index, "iPhone15")
    assert joined["total"] >= 1
    assert all("iPhone 15" in title for title in titles(joined))
    assert titles(search(index, "ｉＰｈｏｎｅ １５")) == titles(search(index, "iphone 15"))


def test_a_brand_latin_alias_finds_the_chinese_brand(index: SearchIndex) -> None:
    result = search(index, "huawei")
    assert result["total"] >= 3 and all(item["brand_id"] == "b_huawei" for item in result["items"])


def test_a_homophone_typo_is_answered_by_a_relaxed_query(index: SearchIndex) -> None:
    result = search(index, "华维")
    assert result["relaxed"] is True
    assert result["items"] and result["items"][0]["brand_id"] == "b_huawei"


def test_nothing_matching_gives_suggestions_instead_of_results(index: SearchIndex) -> None:
    result = search(index, "zzzqqqxxx")
    assert result["total"] == 0 and result["items"] == [] and result["suggestions"]
    assert result["recommendations"], "a dead end still shows best sellers"


def test_category_filter_includes_sub_categories(index: SearchIndex) -> None:
    result = search(index, category_id="c_digital", page_size=50)
    leaves = {facet["id"] for facet in result["facets"]["category"]}
    assert leaves >= {"c_phone", "c_earphone"}
    assert result["total"] == sum(facet["count"] for facet in result["facets"]["category"])


def test_facets_count_the_whole_result_set_not_the_page(index: SearchIndex) -> None:
    result = search(index, "手机", page_size=2)
    assert len(result["items"]) == 2
    assert sum(facet["count"] for facet in result["facets"]["brand"]) == result["total"] > 2


def test_brand_price_and_stock_filters_hold_for_every_item(index: SearchIndex) -> None:
    result = search(
        index, "手机", brand_id="b_xiaomi", price_min_fen=200_000, price_max_fen=500_000, in_stock=True, page_size=50
    )
    assert result["items"]
    for item in result["items"]:
        assert item["brand_id"] == "b_xiaomi" and 200_000 <= item["price_fen"] <= 500_000 and item["in_stock"]


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [("sales", "sales", True), ("price_asc", "price_fen", False), ("price_desc", "price_fen", True)],
)
def test_sorts_order_the_items(index: SearchIndex, sort: str, key: str, descending: bool) -> None:
    values = [item[key] for item in search(index, "耳机", sort=sort, page_size=50)["items"]]
    assert len(values) > 3 and values == sorted(values, reverse=descending)


def test_pages_do_not_overlap(index: SearchIndex) -> None:
    first = search(index, category_id="c_digital", sort="newest", page=1, page_size=5)
    second = search(index, category_id="c_digital", sort="newest", page=2, page_size=5)
    assert second["page"] == 2 and not set(titles(first)) & set(titles(second))


def test_recommendations_are_best_sellers_of_the_best_matching_category_not_on_the_page(index: SearchIndex) -> None:
    result = search(index, "羽绒服")
    shown = {item["product_id"] for item in result["items"]}
    assert result["recommendations"]
    assert not shown & {card["product_id"] for card in result["recommendations"]}
    top_category = result["items"][0]["category_id"]
    assert all(card["category_id"] == top_category for card in result["recommendations"])


@pytest.mark.parametrize(
    "hostile",
    ['"', '手机"', "*", "手机*", "NEAR(手机 耳机)", "手机 AND", "AND OR NOT", "-手机", "^手机", "title:手机",
     "(手机", ")", "手机 ) OR (", "🎧📱", "耳机🎧", "\x00", "'; DROP TABLE products; --", "手" * 10_000,
     "iphone15 " * 2_000],
)  # fmt: skip
def test_fts_syntax_in_user_input_never_breaks_a_query(index: SearchIndex, hostile: str) -> None:
    result = index.search(SearchQuery(text=hostile))
    assert set(result) >= {"items", "total", "page", "facets", "recommendations", "relaxed", "suggestions"}
    index.suggest(hostile)


def test_fts_operators_in_input_are_searched_as_words(index: SearchIndex) -> None:
    assert titles(search(index, "NEAR(耳机")) == titles(search(index, "near 耳机"))
    assert search(index, "耳机 AND")["total"] == search(index, "耳机 and")["total"]


def test_an_empty_query_with_filters_browses_in_the_chosen_sort(index: SearchIndex) -> None:
    result = search(index, "", category_id="c_phone", sort="price_asc", page_size=50)
    prices = [item["price_fen"] for item in result["items"]]
    assert result["total"] == len(prices) > 5 and prices == sorted(prices)


def test_off_sale_products_are_not_indexed(tmp_path: Path) -> None:
    docs = list(demo_docs()[:5])
    docs[0] = dataclasses.replace(docs[0], on_sale=False)
    stats = build_index(docs, str(tmp_path / "i.sqlite"))
    assert (stats.products, stats.skipped_off_sale) == (4, 1)
    with SearchIndex(str(tmp_path / "i.sqlite")) as small:
        listed = {item["product_id"] for item in small.search(SearchQuery(page_size=50))["items"]}
    assert docs[0].product_id not in listed and len(listed) == 4


@pytest.mark.parametrize("prefix", ["手", "手机", "shouji", "shou", "sj"])
def test_suggest_completes_chinese_pinyin_and_initials(index: SearchIndex, prefix: str) -> None:
    assert "手机" in index.suggest(prefix)


def test_suggest_offers_popular_past_queries(index: SearchIndex) -> None:
    assert "iphone15" in index.suggest("iph")
    assert "羽绒服 女" in index.suggest("羽绒服")


def test_suggest_ranks_the_more_popular_first(index: SearchIndex) -> None:
    # 手机数码 (the root: every digital product's sales) outsells 手机 (one of its leaves).
    found = index.suggest("手机")
    assert found.index("手机数码") < found.index("手机")


def test_relevance_over_a_broad_word_scores_only_the_best_selling_matches_but_counts_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "i.sqlite")
    build_index(demo_docs(), path)
    with SearchIndex(path) as small:
        full = small.search(SearchQuery(text="手机", page_size=50))
        monkeypatch.setattr(engine, "RANK_WINDOW", 5)
        windowed = small.search(SearchQuery(text="手机", page_size=5))
    assert windowed["total"] == full["total"] > 5 and windowed["facets"] == full["facets"]
    best_sellers = sorted(full["items"], key=lambda item: -item["sales"])[:5]
    assert {item["product_id"] for item in windowed["items"]} == {item["product_id"] for item in best_sellers}


def test_hot_long_prefixes_suggest_the_same_as_a_full_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scanned, precomputed = str(tmp_path / "scan.sqlite"), str(tmp_path / "hot.sqlite")
    build_index(demo_docs(), scanned)
    monkeypatch.setattr(building, "SUGGEST_SCAN", 2)  # nearly every prefix becomes hot
    build_index(demo_docs(), precomputed)
    monkeypatch.undo()
    with SearchIndex(scanned) as by_scan, SearchIndex(precomputed) as by_tops:
        for prefix in ("huawei", "华为", "xiaomi", "shouji", "sanxing"):
            assert by_tops.suggest(prefix) == by_scan.suggest(prefix), prefix
