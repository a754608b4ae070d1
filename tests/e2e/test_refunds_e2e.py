"""Refunds over real HTTP against `python -m local`: buy, pay through the sandbox pay_url, be shipped, receive, review,
return it within the window, the admin approves and the sandbox refunds it: REFUNDED with the stock back."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login
from tests.e2e.test_orders_e2e import TIMEOUT, bearer, buyer, product_with_stock, stock_of

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


def call(http: requests.Session, method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = http.request(method, url, json=body, headers=headers, timeout=TIMEOUT)
    assert answer.status_code in (200, 201), (method, url, answer.text)
    return answer.json()


def wait_for_status(http: requests.Session, url: str, headers: dict[str, str], wanted: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        order = call(http, "GET", url, headers)
        if order["status"] == wanted or time.monotonic() > deadline:
            assert order["status"] == wanted, order
            return order
        time.sleep(0.3)


def test_a_received_and_reviewed_order_is_returned_and_refunded_through_the_sandbox(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    sku_id = product_with_stock(http, base_url, admin, 5)
    customer = buyer(http, base_url)
    body = {"address_id": customer["address_id"], "items": [{"sku_id": sku_id, "quantity": 2}]}
    placed = call(http, "POST", f"{base_url}/orders", {**customer["headers"], "Idempotency-Key": f"r-{sku_id}"}, body)
    order_url = f"{base_url}/orders/{placed['order_id']}"
    started = call(http, "POST", f"{order_url}/pay", customer["headers"], {"channel": "sandbox"})
    assert http.post(started["pay_url"], timeout=TIMEOUT).json()["notify_status"] == 200
    wait_for_status(http, order_url, customer["headers"], "PAID")
    ship = {"carrier": "sf", "tracking_no": "SF100"}
    call(http, "POST", f"{base_url}/admin/orders/{placed['order_id']}/ship", admin, ship)
    call(http, "POST", f"{order_url}/receive", customer["headers"])
    review = {"items": [{"sku_id": sku_id, "rating": 4, "content": "还行"}]}
    call(http, "POST", f"{order_url}/reviews", customer["headers"], review)

    refund = call(
        http, "POST", f"{order_url}/refunds", customer["headers"], {"type": "return_refund", "reason": "退货"}
    )
    queue = call(http, "GET", f"{base_url}/admin/refunds?status=PENDING", admin)
    call(http, "POST", f"{base_url}/admin/refunds/{refund['refund_id']}/approve", admin)
    refunded = wait_for_status(http, order_url, customer["headers"], "REFUNDED")

    assert refund["status"] == "PENDING" and refund["amount_fen"] == placed["amounts"]["payable_fen"] - placed[
        "amounts"]["shipping_fen"]  # fmt: skip
    assert refund["refund_id"] in [item["refund_id"] for item in queue["items"]]
    statuses = [entry["status"] for entry in refunded["timeline"]]
    assert statuses == ["PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED", "REFUNDING", "REFUNDED"]
    mine = call(http, "GET", f"{order_url}/refunds", customer["headers"])["items"]
    assert [(item["refund_id"], item["status"]) for item in mine] == [(refund["refund_id"], "REFUNDED")]
    assert stock_of(http, base_url, sku_id) == 5
