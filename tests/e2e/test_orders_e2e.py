"""Orders over real HTTP against the local server: 16 buyers racing for 5 units, 8 concurrent posts with one key."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")
TIMEOUT = 60
ADDRESS = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
           "detail": "科技园南区 1 栋 101"}  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(url: str, body: Any, headers: dict[str, str]) -> requests.Response:
    with requests.Session() as session:  # one session per thread
        session.trust_env = False
        return session.post(url, json=body, headers=headers, timeout=TIMEOUT)


def buyer(http: requests.Session, base_url: str) -> dict[str, Any]:
    """A new customer with an address: their auth headers and address id."""
    username = f"buyer_{uuid.uuid4().hex[:10]}"
    answer = http.post(f"{base_url}/auth/register", json={"username": username, "password": "password-long"},
                       timeout=TIMEOUT)  # fmt: skip
    assert answer.status_code == 201, answer.text
    headers = bearer(login(http, base_url, username, "password-long")["access_token"])
    address = http.post(f"{base_url}/me/addresses", json=ADDRESS, headers=headers, timeout=TIMEOUT)
    assert address.status_code == 201, address.text
    return {"headers": headers, "address_id": address.json()["address_id"]}


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


def product_with_stock(http: requests.Session, base_url: str, admin: dict[str, str], stock: int) -> str:
    """A new product whose first SKU has `stock` units; its sku_id."""
    categories = http.get(f"{base_url}/categories", timeout=TIMEOUT).json()["items"]
    category_id = next(c["category_id"] for c in categories if c.get("parent_id"))
    brand_id = http.get(f"{base_url}/brands", timeout=TIMEOUT).json()["items"][0]["brand_id"]
    body = {
        "title": f"抢购测试 {uuid.uuid4().hex[:6]}", "category_id": category_id, "brand_id": brand_id,
        "images": ["https://img.shop.example/a.jpg"], "specs": [{"name": "颜色", "values": ["黑"]}],
        "skus": [{"attributes": {"颜色": "黑"}, "price_fen": 19900, "stock": stock}],
    }  # fmt: skip
    created = http.post(f"{base_url}/admin/products", json=body, headers=admin, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    return str(created.json()["skus"][0]["sku_id"])


def stock_of(http: requests.Session, base_url: str, sku_id: str) -> int:
    product = http.get(f"{base_url}/products/{sku_id.rsplit('-', 1)[0]}", timeout=TIMEOUT).json()
    return int(next(sku["stock"] for sku in product["skus"] if sku["sku_id"] == sku_id))


def test_sixteen_buyers_racing_for_five_units_make_exactly_five_orders_and_leave_no_stock(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    sku_id = product_with_stock(http, base_url, admin, 5)
    buyers = [buyer(http, base_url) for _ in range(16)]

    def order(one: dict[str, Any]) -> requests.Response:
        body = {"address_id": one["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]}
        return post(f"{base_url}/orders", body, {**one["headers"], "Idempotency-Key": uuid.uuid4().hex})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(order, buyers))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 5 + [409] * 11, [answer.text for answer in answers]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {"OUT_OF_STOCK"}
    assert stock_of(http, base_url, sku_id) == 0


def test_eight_concurrent_posts_with_one_key_make_one_order(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    sku_id = product_with_stock(http, base_url, admin, 10)
    one = buyer(http, base_url)
    body = {"address_id": one["address_id"], "items": [{"sku_id": sku_id, "quantity": 2}]}
    headers = {**one["headers"], "Idempotency-Key": f"once-{uuid.uuid4().hex}"}

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(f"{base_url}/orders", body, headers), range(8)))

    assert [answer.status_code for answer in answers] == [201] * 8, [answer.text for answer in answers]
    assert len({answer.json()["order_id"] for answer in answers}) == 1
    assert stock_of(http, base_url, sku_id) == 8
    mine = http.get(f"{base_url}/me/orders", headers=one["headers"], timeout=TIMEOUT).json()
    assert [order["order_id"] for order in mine["items"]] == [answers[0].json()["order_id"]]
