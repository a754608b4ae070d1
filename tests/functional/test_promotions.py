"""Promotions through the HTTP API on moto: admin writes and their checks, the public list, prices they give."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import iso, utcnow
from chalicelib.promotions.repository import DynamoPromotionsRepository
from chalicelib.promotions.service import effective_prices, promotion_cache
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient

PRICE = 699900


@pytest.fixture(autouse=True)
def no_cached_promotions() -> Iterator[None]:
    promotion_cache.forget()  # the table is emptied before each test; the container's cache must forget it too
    yield
    promotion_cache.forget()


@pytest.fixture
def sku_id(client: ShopClient, admin_token: str) -> str:
    create_catalog(client, admin_token)
    return str(create_product(client, admin_token, "华为 Mate 60")["skus"][0]["sku_id"])


def window(start_minutes: int = -1, end_minutes: int = 60) -> dict[str, str]:
    now = utcnow()
    return {
        "starts_at": iso(now + timedelta(minutes=start_minutes)),
        "ends_at": iso(now + timedelta(minutes=end_minutes)),
    }


def flash(sku_id: str, price_fen: int = 599900, **overrides: Any) -> dict[str, Any]:
    prices = [{"sku_id": sku_id, "price_fen": price_fen}]
    return {"name": "限时直降", "kind": "flash_price", **window(), "sku_prices": prices, **overrides}


def threshold(**overrides: Any) -> dict[str, Any]:
    return {"name": "满300减30", "kind": "threshold", **window(),
            "tiers": [{"threshold_fen": 30000, "off_fen": 3000}, {"threshold_fen": 50000, "off_fen": 6000}],
            **overrides}  # fmt: skip


def create(client: ShopClient, admin_token: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created, _ = client.call("POST", "/admin/promotions", body, token=admin_token)
    assert status == 201, created
    return dict(created)


def test_a_created_promotion_is_listed_for_admins_and_the_public(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    created = create(client, admin_token, flash(sku_id))

    admin_list = client.call("GET", "/admin/promotions", token=admin_token)[1]["items"]
    status, public, _ = client.call("GET", "/promotions?active=true")

    assert created.items() >= {"kind": "flash_price", "status": "running", "version": 1,
                               "sku_prices": [{"sku_id": sku_id, "price_fen": 599900}]}.items()  # fmt: skip
    assert [p["promotion_id"] for p in admin_list] == [created["promotion_id"]]
    assert status == 200
    assert [(p["promotion_id"], p["status"]) for p in public["items"]] == [(created["promotion_id"], "running")]
    assert "version" not in public["items"][0]


def test_a_scheduled_promotion_is_listed_only_without_active_and_prices_nothing_yet(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    later = create(client, admin_token, flash(sku_id, **window(60, 120)))

    running = client.call("GET", "/promotions")[1]["items"]
    upcoming = client.call("GET", "/promotions?active=false")[1]["items"]
    invalid = client.call("GET", "/promotions?active=maybe")

    assert running == []
    assert [(p["promotion_id"], p["status"]) for p in upcoming] == [(later["promotion_id"], "scheduled")]
    assert invalid[0] == 400
    assert effective_prices(DynamoPromotionsRepository(), [sku_id], list_prices={sku_id: PRICE}) == {
        sku_id: (PRICE, None)
    }


def test_effective_prices_give_the_lowest_running_promotional_price(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    cheaper = create(client, admin_token, flash(sku_id, 500000))
    create(client, admin_token, flash(sku_id, 650000))
    list_prices = {sku_id: PRICE, "p_other-01": 100}

    assert effective_prices(DynamoPromotionsRepository(), [sku_id, "p_other-01"]) == {
        sku_id: (500000, cheaper["promotion_id"])
    }
    priced = effective_prices(DynamoPromotionsRepository(), [sku_id, "p_other-01"], list_prices=list_prices)
    assert priced == {sku_id: (500000, cheaper["promotion_id"]), "p_other-01": (100, None)}


def test_invalid_flash_promotions_are_refused_with_the_field(client: ShopClient, admin_token: str, sku_id: str) -> None:
    cases = [
        (flash(sku_id, **window(30, 10)), "(body)"),  # ends before it starts
        (flash(sku_id, 0), "sku_prices.0.price_fen"),
        (flash(sku_id, starts_at="2030-01-01T00:00:00"), "starts_at"),  # no zone
        (flash(sku_id, **window(-120, -60)), "ends_at"),  # already ended
        (flash(sku_id, tiers=[{"threshold_fen": 30000, "off_fen": 3000}]), "(body)"),
        (flash(sku_id, sku_prices=[{"sku_id": sku_id, "price_fen": 1}, {"sku_id": sku_id, "price_fen": 2}]), "(body)"),
    ]

    for body, field in cases:
        status, answer, _ = client.call("POST", "/admin/promotions", body, token=admin_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), body
        assert field in [error["field"] for error in answer["errors"]], answer
    assert client.call("GET", "/admin/promotions", token=admin_token)[1]["items"] == []


def test_promotional_prices_must_be_below_the_list_price_of_skus_that_exist(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    at_list = client.call("POST", "/admin/promotions", flash(sku_id, PRICE), token=admin_token)
    unknown = client.call("POST", "/admin/promotions", flash("p_nothing-01"), token=admin_token)

    assert at_list[0] == 400 and at_list[1]["errors"] == [
        {"field": "sku_prices.0.price_fen", "message": "Must be below the list price."}]  # fmt: skip
    assert unknown[0] == 400
    assert unknown[1]["errors"] == [{"field": "sku_prices.0.sku_id", "message": "No SKU has this id."}]
    assert client.call("GET", "/admin/promotions", token=admin_token)[1]["items"] == []


def test_threshold_tiers_must_ascend_and_scopes_must_name_what_exists(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    descending = threshold(tiers=[{"threshold_fen": 50000, "off_fen": 6000}, {"threshold_fen": 30000, "off_fen": 3000}])
    off_too_big = threshold(tiers=[{"threshold_fen": 3000, "off_fen": 3000}])
    unknown_category = threshold(scope="category", scope_ids=["c_nothing"])
    unknown_product = threshold(scope="product", scope_ids=["p_nothing"])
    scope_without_ids = threshold(scope="category")
    root_category = threshold(scope="category", scope_ids=["c_digital"])
    product = threshold(scope="product", scope_ids=[sku_id.rsplit("-", 1)[0]])

    for body in (descending, off_too_big, unknown_category, unknown_product, scope_without_ids):
        status, answer, _ = client.call("POST", "/admin/promotions", body, token=admin_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), body
    assert client.call("POST", "/admin/promotions", root_category, token=admin_token)[0] == 201
    assert client.call("POST", "/admin/promotions", product, token=admin_token)[0] == 201


def test_replacing_and_deleting_a_promotion_change_prices_at_once(
    client: ShopClient, admin_token: str, customer_token: str, sku_id: str
) -> None:
    client.call("POST", "/cart/items", {"sku_id": sku_id, "quantity": 1}, token=customer_token)
    created = create(client, admin_token, flash(sku_id, 599900))
    path = f"/admin/promotions/{created['promotion_id']}"

    status, replaced, _ = client.call("PUT", path, flash(sku_id, 588800, name="再降"), token=admin_token)
    replaced_price = client.call("GET", "/cart", token=customer_token)[1]["items"][0]["price_fen"]
    deleted = client.call("DELETE", path, token=admin_token)
    deleted_price = client.call("GET", "/cart", token=customer_token)[1]["items"][0]["price_fen"]

    assert (status, replaced["name"], replaced["version"]) == (200, "再降", 2)
    assert (replaced_price, deleted[0], deleted_price) == (588800, 204, PRICE)
    assert client.call("DELETE", path, token=admin_token)[0] == 404
    assert client.call("PUT", path, flash(sku_id), token=admin_token)[0] == 404
    assert client.call("GET", "/promotions")[1]["items"] == []


def test_product_detail_shows_a_running_promotional_price_beside_the_list_price(
    client: ShopClient, admin_token: str, sku_id: str
) -> None:
    product_id = sku_id.rsplit("-", 1)[0]
    promotion = create(client, admin_token, flash(sku_id, 599900))
    promotion_cache.forget()  # other warm containers see it within the cache's 30 s

    detail = client.call("GET", f"/products/{product_id}")[1]

    promoted = next(s for s in detail["skus"] if s["sku_id"] == sku_id)
    other = next(s for s in detail["skus"] if s["sku_id"] != sku_id)
    assert (promoted["price_fen"], promoted["list_price_fen"]) == (599900, 699900)
    assert promoted["promotion_id"] == promotion["promotion_id"]
    assert (other["price_fen"], other["promotion_id"]) == (other["list_price_fen"], None)
    assert detail["price_fen"] == min(599900, other["price_fen"])
