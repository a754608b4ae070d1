"""Search precision over the demo catalog: sorted lists name the words, junk finds nothing (with did_you_mean and
recommendations), relaxed results keep half of the words, joined pinyin finds what the Chinese finds, suggestions
complete words inside titles."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.search.building import build_index
from chalicelib.search.engine import SearchIndex, SearchQuery
from chalicelib.search.matching import words_of_pinyin
from tests.search_relevance.demo_docs import demo_docs


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    path = tmp_path_factory.mktemp("quality") / "index.sqlite"
    build_index(demo_docs(), str(path), [("xyz不存在的东西", 90)])
    with SearchIndex(str(path)) as opened:
        yield opened


def search(index: SearchIndex, text: str, **options: object) -> dict:
    return index.search(SearchQuery(text=text, page_size=50, **options))  # type: ignore[arg-type]


def ids(result: dict) -> set[str]:
    return {item["product_id"] for item in result["items"]}


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "sales", "newest", "rating"])
def test_a_sort_other_than_relevance_lists_only_products_the_words_name(index: SearchIndex, sort: str) -> None:
    # GIVEN printers whose description or subtitle mentions 手机, and watches under the 手机数码 department
    # WHEN 手机 is searched sorted by something else than relevance
    result = search(index, "手机", sort=sort)
    # THEN only phones are listed
    assert result["total"] >= 10
    assert {item["category_id"] for item in result["items"]} == {"c_phone"}


def test_relevance_still_finds_a_word_only_a_description_holds(index: SearchIndex) -> None:
    result = search(index, "平板加热")
    assert result["total"] >= 1 and not result["relaxed"]


@pytest.mark.parametrize("junk", ["xyz不存在的东西", "qwertyuiop", "不存在的商品", "的了不"])
def test_a_query_none_of_whose_words_matches_finds_nothing_but_offers_recommendations(
    index: SearchIndex, junk: str
) -> None:
    result = search(index, junk)
    assert result["total"] == 0 and result["items"] == [] and result["facets"] == {"category": [], "brand": []}
    assert result["recommendations"], "a dead end still shows products"
    assert "did_you_mean" in result
    if result["did_you_mean"] is not None:
        assert search(index, result["did_you_mean"])["total"] > 0


def test_did_you_mean_is_a_query_that_finds_something_on_its_own_terms(index: SearchIndex) -> None:
    # GIVEN a query of three content words of which only 手机 is in any product: too few for a relaxed match
    result = search(index, "手机 qwerty asdfg")
    # THEN nothing is listed, and did_you_mean proposes the words that do find something
    assert result["total"] == 0
    assert result["did_you_mean"] == "手机"
    meant = search(index, result["did_you_mean"])
    assert meant["total"] > 0 and not meant["relaxed"]


def test_relaxed_results_match_at_least_half_of_the_content_words(index: SearchIndex) -> None:
    half = search(index, "手机 qwerty")
    assert half["relaxed"] and half["total"] > 0
    assert all(item["category_id"] == "c_phone" for item in half["items"][:5])
    assert search(index, "手机 qwerty asdfg")["total"] == 0


def test_stop_words_do_not_count_as_content_words(index: SearchIndex) -> None:
    assert ids(search(index, "华为的手机")) == ids(search(index, "华为 手机"))


@pytest.mark.parametrize(
    ("pinyin", "chinese"),
    [
        ("saodijiqiren", "扫地机器人"),
        ("sao di ji qi ren", "扫地机器人"),
        ("lianyiqun", "连衣裙"),
        ("xiaomishouji", "小米手机"),
        ("shouji", "手机"),
    ],
)
def test_full_pinyin_finds_what_the_chinese_finds(index: SearchIndex, pinyin: str, chinese: str) -> None:
    by_pinyin, by_chinese = search(index, pinyin), search(index, chinese)
    assert by_chinese["total"] > 0
    assert [item["product_id"] for item in by_pinyin["items"]] == [item["product_id"] for item in by_chinese["items"]]
    assert by_pinyin["total"] == by_chinese["total"]


def test_a_latin_word_the_catalog_holds_is_not_read_as_pinyin(index: SearchIndex) -> None:
    assert all(item["brand_id"] == "b_huawei" for item in search(index, "huawei")["items"])


def test_joined_pinyin_is_split_into_the_fewest_most_common_words() -> None:
    table = {"xiaomi": ("小米", 9), "shouji": ("手机", 20), "shou": ("手", 3), "ji": ("机", 1)}
    assert words_of_pinyin("xiaomishouji", table.get) == ["小米", "手机"]
    assert words_of_pinyin("xiaomiqq", table.get) is None


@pytest.mark.parametrize(("prefix", "word"), [("连衣", "连衣裙"), ("扫地", "扫地机器人"), ("saodi", "扫地机器人")])
def test_suggest_completes_words_inside_titles(index: SearchIndex, prefix: str, word: str) -> None:
    assert word in index.suggest(prefix)


def test_suggestions_of_words_rank_by_the_sales_of_the_products_holding_them(tmp_path: Path) -> None:
    docs = list(demo_docs())
    path = tmp_path / "index.sqlite"
    build_index(docs, str(path))
    with SearchIndex(str(path)) as opened:
        found = opened.suggest("手")
    assert found[0] in {"手机", "手机数码"}


def test_a_bare_number_left_alone_by_relaxing_finds_nothing(index: SearchIndex) -> None:
    assert search(index, "5 qwertyx")["total"] == 0
    assert search(index, "5G")["total"] > 0
