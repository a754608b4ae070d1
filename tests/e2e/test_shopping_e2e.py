"""A customer shops the seeded demo over real HTTP: a promoted phone, a claimed coupon, the cart's best offer."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")


def test_the_cart_prices_a_promoted_phone_and_picks_the_best_claimed_coupon(
    http: requests.Session, base_url: str, customer_token: str
) -> None:
    auth = {"Authorization": f"Bearer {customer_token}"}
    promotions = http.get(f"{base_url}/promotions", params={"active": "true"}, timeout=10).json()["items"]
    flash = next(p for p in promotions if p["kind"] == "flash_price")
    sku_id = flash["sku_prices"][0]["sku_id"]
    detail = http.get(f"{base_url}/products/{sku_id.rsplit('-', 1)[0]}", timeout=10).json()
    promoted = next(s for s in detail["skus"] if s["sku_id"] == sku_id)
    claimable = {t["template_id"] for t in http.get(f"{base_url}/coupons", timeout=10).json()["items"]}

    claimed = http.post(f"{base_url}/coupons/demo_all_300_30/claim", headers=auth, timeout=10)
    added = http.post(f"{base_url}/cart/items", json={"sku_id": sku_id, "quantity": 1}, headers=auth, timeout=10)
    cart = http.get(f"{base_url}/cart", headers=auth, timeout=10).json()

    assert promoted["price_fen"] < promoted["list_price_fen"]
    assert "demo_all_300_30" in claimable
    assert claimed.status_code == 201
    assert added.status_code == 201
    line = cart["items"][0]
    assert (line["sku_id"], line["price_fen"], line["available"]) == (sku_id, promoted["price_fen"], True)
    assert cart["coupons"]["best"]["coupon_id"] == claimed.json()["coupon_id"]
    assert cart["summary"]["payable_fen"] < cart["summary"]["subtotal_fen"]


def test_the_demo_admin_can_spend_seeded_points_in_the_exchange_store(http: requests.Session, base_url: str) -> None:
    auth = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    before = http.get(f"{base_url}/me/points", headers=auth, timeout=10).json()["balance"]
    rewards = http.get(f"{base_url}/points/rewards", timeout=10).json()["items"]
    cheapest = min((r for r in rewards if r["kind"] == "coupon"), key=lambda r: r["points"])  # goods need an address

    exchanged = http.post(
        f"{base_url}/points/exchange", json={"reward_id": cheapest["reward_id"]}, headers=auth, timeout=10
    )
    after = http.get(f"{base_url}/me/points", headers=auth, timeout=10).json()["balance"]

    assert before >= cheapest["points"]
    assert exchanged.status_code == 201
    assert after == before - cheapest["points"]


def test_demo_skus_seeded_under_their_threshold_show_on_the_low_stock_list(
    http: requests.Session, base_url: str
) -> None:
    auth = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    deadline = time.monotonic() + 30
    items: list[dict] = []
    while time.monotonic() < deadline and not items:  # the seed's writes reach the list through stream and queue
        items = http.get(f"{base_url}/admin/inventory/low-stock", headers=auth, timeout=10).json()["items"]
        time.sleep(0.5)

    assert items
    assert all(item["stock"] < item["threshold"] for item in items)
