"""The deterministic demo catalog: counts, integrity, SKU/spec consistency, prices, stock and determinism."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.demo import catalog as demo_catalog
from local.demo import taxonomy

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_DATE = datetime(2026, 11, 20, tzinfo=UTC)

# Where some well-known brands may legitimately show up (root category ids).
EXPECTED_BRAND_ROOTS = {
    "b_huawei": {"c_digital", "c_computer", "c_appliance"},
    "b_apple": {"c_digital", "c_computer"},
    "b_oppo": {"c_digital"},
    "b_vivo": {"c_digital"},
    "b_honor": {"c_digital"},
    "b_oneplus": {"c_digital"},
    "b_lenovo": {"c_digital", "c_computer"},
    "b_dell": {"c_computer"},
    "b_haier": {"c_appliance"},
    "b_gree": {"c_appliance"},
    "b_dyson": {"c_small_appliance"},
    "b_philips": {"c_small_appliance"},
    "b_nike": {"c_sports", "c_shoes_bags"},
    "b_adidas": {"c_sports", "c_shoes_bags"},
    "b_lining": {"c_sports"},
    "b_anta": {"c_sports"},
    "b_uniqlo": {"c_apparel"},
    "b_estee_lauder": {"c_beauty"},
    "b_lancome": {"c_beauty"},
    "b_loreal": {"c_beauty"},
    "b_three_squirrels": {"c_food"},
    "b_bestore": {"c_food"},
    "b_yili": {"c_food"},
    "b_mengniu": {"c_food"},
    "b_lego": {"c_baby_toys"},
    "b_pampers": {"c_baby_toys"},
}
PHONE_BRANDS = {"b_huawei", "b_xiaomi", "b_apple", "b_oppo", "b_vivo", "b_honor", "b_oneplus", "b_samsung"}


@pytest.fixture(scope="module")
def products() -> list[dict[str, Any]]:
    return demo_catalog.products()


@pytest.fixture(scope="module")
def categories() -> list[dict[str, Any]]:
    return demo_catalog.categories()


@pytest.fixture(scope="module")
def brands() -> list[dict[str, Any]]:
    return demo_catalog.brands()


def _roots(categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [category for category in categories if category["parent_id"] is None]


def _leaves(categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [category for category in categories if category["parent_id"] is not None]


def _parent_of(categories: list[dict[str, Any]]) -> dict[str, str | None]:
    return {category["category_id"]: category["parent_id"] for category in categories}


def _all_skus(products: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(product, sku) for product in products for sku in product["skus"]]


# --- counts -------------------------------------------------------------------------------------------------------


def test_given_the_demo_catalog_when_counting_products_then_there_are_at_least_200(
    products: list[dict[str, Any]],
) -> None:
    assert len(products) >= 200


def test_given_the_category_tree_when_counting_roots_then_there_are_at_least_10_with_2_to_5_leaves_each(
    categories: list[dict[str, Any]],
) -> None:
    roots = _roots(categories)
    leaves_per_root = Counter(leaf["parent_id"] for leaf in _leaves(categories))
    assert len(roots) >= 10
    assert all(2 <= leaves_per_root[root["category_id"]] <= 5 for root in roots), leaves_per_root


def test_given_the_category_tree_when_following_parents_then_it_has_exactly_two_levels(
    categories: list[dict[str, Any]],
) -> None:
    parent_of = _parent_of(categories)
    for leaf in _leaves(categories):
        assert leaf["parent_id"] in parent_of, leaf
        assert parent_of[leaf["parent_id"]] is None, f"{leaf['category_id']} hangs under a leaf"


def test_given_the_familiar_top_level_names_when_listing_roots_then_they_are_all_there(
    categories: list[dict[str, Any]],
) -> None:
    names = {root["name"] for root in _roots(categories)}
    expected = {
        "手机数码",
        "电脑办公",
        "家用电器",
        "服饰内衣",
        "鞋靴箱包",
        "美妆个护",
        "食品生鲜",
        "母婴玩具",
        "运动户外",
        "图书文娱",
    }
    assert expected <= names


def test_given_the_phone_category_when_counting_its_products_then_there_are_at_least_12_from_phone_makers(
    products: list[dict[str, Any]],
) -> None:
    phones = [product for product in products if product["category_id"] == "c_phone"]
    assert len(phones) >= 12
    assert {phone["brand_id"] for phone in phones} <= PHONE_BRANDS
    titles = " ".join(phone["title"] for phone in phones)
    for model in ("Mate 60 Pro", "小米14", "iPhone 15 Pro Max", "Find X7", "X100", "Magic6"):
        assert model in titles


def test_given_every_leaf_category_when_counting_its_products_then_it_has_at_least_3(
    categories: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    per_leaf = Counter(product["category_id"] for product in products)
    thin = {leaf["category_id"]: per_leaf[leaf["category_id"]] for leaf in _leaves(categories)}
    assert all(count >= 3 for count in thin.values()), {leaf: n for leaf, n in thin.items() if n < 3}


# --- referential integrity and uniqueness -------------------------------------------------------------------------


def test_given_products_when_resolving_their_category_then_it_exists_and_is_a_leaf(
    categories: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    leaf_ids = {leaf["category_id"] for leaf in _leaves(categories)}
    assert all(product["category_id"] in leaf_ids for product in products)


def test_given_products_when_resolving_their_brand_then_it_exists(
    brands: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    brand_ids = {brand["brand_id"] for brand in brands}
    assert all(product["brand_id"] in brand_ids for product in products)


def test_given_well_known_brands_when_looking_at_their_products_then_they_stay_in_their_trade(
    categories: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    parent_of = _parent_of(categories)
    for product in products:
        allowed = EXPECTED_BRAND_ROOTS.get(product["brand_id"])
        if allowed is not None:
            assert parent_of[product["category_id"]] in allowed, (product["brand_id"], product["title"])


def test_given_every_brand_when_looking_for_its_products_then_it_sells_at_least_one(
    brands: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    selling = {product["brand_id"] for product in products}
    assert [brand["brand_id"] for brand in brands if brand["brand_id"] not in selling] == []


def test_given_the_whole_catalog_when_comparing_ids_and_titles_then_none_repeats(
    categories: list[dict[str, Any]], brands: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    for values in (
        [category["category_id"] for category in categories],
        [brand["brand_id"] for brand in brands],
        [brand["name"] for brand in brands],
        [product["product_id"] for product in products],
        [product["title"] for product in products],
        [sku["sku_id"] for _product, sku in _all_skus(products)],
    ):
        assert [value for value, n in Counter(values).items() if n > 1] == []


def test_given_ids_when_checking_their_shape_then_they_are_short_stable_slugs(
    categories: list[dict[str, Any]], brands: list[dict[str, Any]], products: list[dict[str, Any]]
) -> None:
    assert all(re.fullmatch(r"c_[a-z0-9_]+", category["category_id"]) for category in categories)
    assert all(re.fullmatch(r"b_[a-z0-9_]+", brand["brand_id"]) for brand in brands)
    for product in products:
        assert re.fullmatch(r"p_[0-9a-f]{12}", product["product_id"])
        for number, sku in enumerate(product["skus"], start=1):
            assert sku["sku_id"] == f"{product['product_id']}-{number:02d}"


def test_given_categories_when_reading_sort_order_then_siblings_are_numbered_from_1_without_gaps(
    categories: list[dict[str, Any]],
) -> None:
    by_parent: dict[str | None, list[int]] = {}
    for category in categories:
        by_parent.setdefault(category["parent_id"], []).append(category["sort_order"])
    assert all(sorted(orders) == list(range(1, len(orders) + 1)) for orders in by_parent.values())


# --- specs and SKUs -----------------------------------------------------------------------------------------------


def test_given_each_product_when_counting_skus_then_it_has_1_to_6_with_distinct_attributes(
    products: list[dict[str, Any]],
) -> None:
    for product in products:
        combos = [tuple(sorted(sku["attributes"].items())) for sku in product["skus"]]
        assert 1 <= len(combos) <= 6, product["title"]
        assert len(set(combos)) == len(combos), product["title"]


def test_given_skus_when_compared_with_the_specs_then_attributes_use_exactly_the_spec_names_and_values(
    products: list[dict[str, Any]],
) -> None:
    for product in products:
        allowed = {spec["name"]: spec["values"] for spec in product["specs"]}
        assert len(allowed) == len(product["specs"]) >= 1, product["title"]
        for sku in product["skus"]:
            assert set(sku["attributes"]) == set(allowed), (product["title"], sku)
            assert all(value in allowed[name] for name, value in sku["attributes"].items()), (product["title"], sku)


def test_given_specs_when_compared_with_the_skus_then_every_listed_value_can_be_bought(
    products: list[dict[str, Any]],
) -> None:
    for product in products:
        for spec in product["specs"]:
            offered = {sku["attributes"][spec["name"]] for sku in product["skus"]}
            assert len(set(spec["values"])) == len(spec["values"]), product["title"]
            assert set(spec["values"]) == offered, (product["title"], spec["name"])


def test_given_large_variant_grids_when_skus_are_picked_then_some_products_offer_only_part_of_the_grid(
    products: list[dict[str, Any]],
) -> None:
    partial = [
        product
        for product in products
        if len(product["skus"]) < _grid_size(product["specs"]) and len(product["specs"]) > 1
    ]
    assert len(partial) >= 10


def _grid_size(specs: list[dict[str, Any]]) -> int:
    size = 1
    for spec in specs:
        size *= len(spec["values"])
    return size


def test_given_category_conventions_when_reading_spec_names_then_they_match_the_kind_of_goods(
    products: list[dict[str, Any]],
) -> None:
    expected = {
        "c_phone": {"颜色", "存储容量"},
        "c_mens_wear": {"颜色", "尺码"},
        "c_womens_wear": {"颜色", "尺码"},
        "c_sports_shoes": {"颜色", "尺码"},
        "c_casual_shoes": {"颜色", "尺码"},
    }
    for product in products:
        names = {spec["name"] for spec in product["specs"]}
        if product["category_id"] in expected:
            assert expected[product["category_id"]] <= names, product["title"]
        if product["category_id"] == "c_phone":
            assert names <= {"颜色", "存储容量", "版本"}, product["title"]
        if product["category_id"] == "c_snacks":
            assert names <= {"口味", "规格"}, product["title"]


# --- prices and stock ---------------------------------------------------------------------------------------------


def test_given_skus_when_reading_prices_then_they_are_positive_integers_in_fen(products: list[dict[str, Any]]) -> None:
    for _product, sku in _all_skus(products):
        assert type(sku["price_fen"]) is int and sku["price_fen"] > 0, sku


@pytest.mark.parametrize(
    ("category_id", "low_yuan", "high_yuan"),
    [("c_phone", 1000, 12000), ("c_socks", 19, 59), ("c_tv", 1500, 15000), ("c_snacks", 9, 300)],
)
def test_given_a_kind_of_goods_when_reading_its_prices_then_they_are_realistic(
    products: list[dict[str, Any]], category_id: str, low_yuan: int, high_yuan: int
) -> None:
    prices = [sku["price_fen"] for product, sku in _all_skus(products) if product["category_id"] == category_id]
    assert prices
    assert all(low_yuan * 100 <= price <= high_yuan * 100 for price in prices), (min(prices), max(prices))


def test_given_phones_with_several_capacities_when_comparing_prices_then_more_storage_costs_more(
    products: list[dict[str, Any]],
) -> None:
    for phone in (product for product in products if product["category_id"] == "c_phone"):
        capacities = next(spec["values"] for spec in phone["specs"] if spec["name"] == "存储容量")
        price_by_capacity: dict[str, set[int]] = {}
        for sku in phone["skus"]:
            if sku["attributes"].get("版本", "官方标配") == "官方标配":
                price_by_capacity.setdefault(sku["attributes"]["存储容量"], set()).add(sku["price_fen"])
        assert all(len(prices) == 1 for prices in price_by_capacity.values()), phone["title"]
        ordered = [price_by_capacity[c].pop() for c in capacities if c in price_by_capacity]
        assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered), phone["title"]


def test_given_skus_when_reading_stock_then_it_is_mostly_comfortable_with_a_few_sold_out_and_a_few_low(
    products: list[dict[str, Any]],
) -> None:
    skus = _all_skus(products)
    assert all(type(sku["stock"]) is int and 0 <= sku["stock"] <= 500 for _product, sku in skus)
    sold_out = [sku for _product, sku in skus if sku["stock"] == 0]
    low = [sku for product, sku in skus if 0 < sku["stock"] < product["low_stock_threshold"]]
    assert 1 <= len(sold_out) <= len(skus) // 10
    assert 1 <= len(low) <= len(skus) // 10


def test_given_products_when_reading_the_low_stock_threshold_then_it_is_a_small_positive_integer(
    products: list[dict[str, Any]],
) -> None:
    assert all(type(product["low_stock_threshold"]) is int for product in products)
    assert all(1 <= product["low_stock_threshold"] <= 50 for product in products)


# --- texts, images, after-sales, dates ------------------------------------------------------------------------------


def test_given_products_when_reading_texts_then_they_fit_the_api_limits_and_read_as_sentences(
    products: list[dict[str, Any]],
) -> None:
    for product in products:
        assert 1 <= len(product["title"]) <= 120
        assert 1 <= len(product["subtitle"]) <= 200
        assert product["description"].count("。") >= 2, product["title"]
        for spec in product["specs"]:
            assert 1 <= len(spec["name"]) <= 20 and all(1 <= len(value) <= 40 for value in spec["values"])


def test_given_products_when_reading_images_then_there_are_2_to_4_urls_under_the_product_id(
    products: list[dict[str, Any]],
) -> None:
    for product in products:
        expected = [f"/demo-media/{product['product_id']}/{n}.svg" for n in range(1, 5)]
        assert 2 <= len(product["images"]) <= 4
        assert product["images"] == expected[: len(product["images"])]


def test_given_brands_when_reading_logos_then_each_logo_is_drawn_by_the_local_stack(
    brands: list[dict[str, Any]],
) -> None:
    assert all(brand["logo_url"].startswith("/demo-media/brands/") for brand in brands)
    assert all(set(brand) == {"brand_id", "name", "logo_url"} for brand in brands)


def test_given_fresh_food_when_reading_after_sales_then_there_is_no_seven_day_return(
    products: list[dict[str, Any]],
) -> None:
    fresh = [product for product in products if product["category_id"] in {"c_fresh_fruit", "c_meat"}]
    assert fresh
    assert all("七天无理由退货" not in product["after_sales"] for product in fresh)
    phones = [product for product in products if product["category_id"] == "c_phone"]
    assert all({"七天无理由退货", "全国联保"} <= set(product["after_sales"]) for product in phones)


def test_given_created_at_when_parsed_then_it_falls_in_the_90_days_before_2026_11_20(
    products: list[dict[str, Any]],
) -> None:
    stamps = [
        datetime.strptime(product["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for product in products
    ]
    assert all(CATALOG_DATE - timedelta(days=90) <= stamp < CATALOG_DATE for stamp in stamps)
    assert len({stamp.date() for stamp in stamps}) >= 60, "listing dates should be spread out"


def test_given_products_when_reading_their_keys_then_they_are_exactly_the_documented_fields(
    products: list[dict[str, Any]],
) -> None:
    fields = {
        "product_id",
        "title",
        "subtitle",
        "description",
        "category_id",
        "brand_id",
        "images",
        "specs",
        "skus",
        "after_sales",
        "created_at",
        "low_stock_threshold",
    }
    assert all(set(product) == fields for product in products)
    assert all(set(sku) == {"sku_id", "attributes", "price_fen", "stock"} for _product, sku in _all_skus(products))


# --- determinism --------------------------------------------------------------------------------------------------


def test_given_two_calls_when_compared_then_the_catalog_is_identical() -> None:
    assert demo_catalog.categories() == demo_catalog.categories()
    assert demo_catalog.brands() == demo_catalog.brands()
    assert demo_catalog.products() == demo_catalog.products()


def test_given_a_caller_mutates_the_result_when_calling_again_then_it_gets_an_untouched_copy() -> None:
    first = demo_catalog.products()
    first[0]["skus"][0]["stock"] = -1
    first[0]["specs"][0]["values"].append("篡改")
    second = demo_catalog.products()
    assert second[0]["skus"][0]["stock"] >= 0
    assert "篡改" not in second[0]["specs"][0]["values"]


def test_given_different_hash_seeds_when_building_in_fresh_interpreters_then_the_catalog_is_byte_identical() -> None:
    script = (
        "import json; from local.demo import catalog as d; "
        "print(json.dumps([d.categories(), d.brands(), d.products()], ensure_ascii=False, sort_keys=True))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
            text=True,
            encoding="utf-8",
        ).stdout
        for seed in ("1", "4242")
    }
    assert len(outputs) == 1
    in_process = json.dumps(
        [demo_catalog.categories(), demo_catalog.brands(), demo_catalog.products()], ensure_ascii=False, sort_keys=True
    )
    assert outputs == {in_process + "\n"}


def test_given_the_module_source_when_listing_imports_then_only_the_standard_library_is_used() -> None:
    checked = {demo_catalog.__name__, taxonomy.__name__}  # the catalog and the taxonomy it reads
    modules: set[str] = set()
    for module in (demo_catalog, taxonomy):
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module is not None
                if {f"{node.module}.{alias.name}" for alias in node.names} <= checked:
                    continue
                modules.add(node.module.split(".")[0])
    assert modules - {"__future__"} <= sys.stdlib_module_names
