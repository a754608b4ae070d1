"""Themes (主题活动) through the HTTP API: curated and rule-based, shown only inside their window."""

from __future__ import annotations

from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient


def theme(title: str, **fields: object) -> dict[str, object]:
    return {"title": title, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z", **fields}


def test_a_curated_theme_shows_its_products_in_order_and_a_rule_theme_picks_by_rule(
    client: ShopClient, admin_token: str
) -> None:
    create_catalog(client, admin_token)
    mate = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    xiaomi = create_product(client, admin_token, "小米14", brand="b_xiaomi")["product_id"]
    curated = client.call(
        "POST", "/admin/themes", theme("双11 手机狂欢", product_ids=[xiaomi, mate]), token=admin_token
    )
    by_rule = client.call(
        "POST", "/admin/themes", theme("小米专场", rule={"brand_id": "b_xiaomi"}, sort_order=1), token=admin_token
    )

    status, listed, _ = client.call("GET", "/themes")
    curated_items = client.call("GET", f"/themes/{curated[1]['theme_id']}")[1]["items"]
    rule_items = client.call("GET", f"/themes/{by_rule[1]['theme_id']}")[1]["items"]

    assert (curated[0], by_rule[0], status) == (201, 201, 200)
    assert [t["title"] for t in listed["items"]] == ["双11 手机狂欢", "小米专场"]
    assert [p["product_id"] for p in curated_items] == [xiaomi, mate]
    assert [p["product_id"] for p in rule_items] == [xiaomi]


def test_only_running_themes_are_public_and_bad_themes_are_refused(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    mate = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    client.call(
        "POST", "/admin/themes",
        theme("往期活动", product_ids=[mate], starts_at="2020-01-01T00:00:00Z", ends_at="2020-02-01T00:00:00Z"),
        token=admin_token,
    )  # fmt: skip

    public = client.call("GET", "/themes")[1]["items"]
    admin = client.call("GET", "/admin/themes", token=admin_token)[1]["items"]
    refused = [
        client.call("POST", "/admin/themes", body, token=admin_token)[0]
        for body in (
            theme("两者都有", product_ids=[mate], rule={"brand_id": "b_huawei"}),
            theme("都没有"),
            theme("未知商品", product_ids=["p_nothing"]),
            theme("倒序", product_ids=[mate], starts_at="2030-01-01T00:00:00Z", ends_at="2029-01-01T00:00:00Z"),
        )
    ]

    assert public == []
    assert [(t["title"], t["active"]) for t in admin] == [("往期活动", False)]
    assert refused == [400, 400, 400, 400]
    assert client.call("GET", "/themes/t_nothing")[0] == 404
