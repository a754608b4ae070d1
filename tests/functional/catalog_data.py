"""A small catalog written through the admin API, for functional tests."""

from __future__ import annotations

from typing import Any

from tests.functional.conftest import ShopClient


def create_catalog(client: ShopClient, admin_token: str) -> None:
    for category in (
        {"category_id": "c_digital", "name": "手机数码"},
        {"category_id": "c_phone", "name": "手机", "parent_id": "c_digital"},
        {"category_id": "c_earphone", "name": "耳机", "parent_id": "c_digital"},
    ):
        status, body, _ = client.call("POST", "/admin/categories", category, token=admin_token)
        assert status == 201, body
    for brand in ({"brand_id": "b_huawei", "name": "华为"}, {"brand_id": "b_xiaomi", "name": "小米"}):
        status, body, _ = client.call("POST", "/admin/brands", brand, token=admin_token)
        assert status == 201, body


def product_body(title: str, category: str = "c_phone", brand: str = "b_huawei", stock: int = 10) -> dict[str, Any]:
    return {
        "title": title,
        "subtitle": "超可靠玄武架构",
        "category_id": category,
        "brand_id": brand,
        "images": ["https://img.shop.example/a.jpg", "https://img.shop.example/b.jpg"],
        "specs": [{"name": "颜色", "values": ["雅川青", "雅丹黑"]}],
        "skus": [
            {"attributes": {"颜色": "雅川青"}, "price_fen": 699900, "stock": stock},
            {"attributes": {"颜色": "雅丹黑"}, "price_fen": 689900, "stock": 0},
        ],
        "after_sales": ["七天无理由退货", "正品保障"],
    }


def create_product(client: ShopClient, admin_token: str, title: str, **kwargs: Any) -> dict[str, Any]:
    status, body, _ = client.call("POST", "/admin/products", product_body(title, **kwargs), token=admin_token)
    assert status == 201, body
    return dict(body)
