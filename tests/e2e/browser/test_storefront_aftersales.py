"""The buyer journey's last step in Chromium at 375x812: a received order of two units of one line, one of them
returned for a refund from the order page; staff decide and take the parcel back through the API; the case page and
the order page show what the API did (status, the line's share, the refunded unit and amount)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10
PASSWORD = "buyer-password-7"


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def received_order_of_two_units(http: requests.Session, base_url: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A new buyer's order of 2 units of one SKU, paid in the sandbox, shipped by staff and received, all over HTTP."""
    username = f"as_{uuid.uuid4().hex[:10]}"
    registered = http.post(f"{base_url}/auth/register", json={"username": username, "password": PASSWORD},
                           timeout=TIMEOUT)  # fmt: skip
    assert registered.status_code == 201, registered.text
    buyer = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    address = http.post(f"{base_url}/me/addresses", headers=buyer, timeout=TIMEOUT, json={
        "receiver": "王五", "phone": "13700137000", "province": "江苏省", "city": "南京市", "district": "鼓楼区",
        "detail": "中山路 2 号"}).json()  # fmt: skip
    product = http.get(f"{base_url}/search", params={"q": "耳机"}, timeout=TIMEOUT).json()["items"][0]
    detail = http.get(f"{base_url}/products/{product['product_id']}", timeout=TIMEOUT).json()
    sku = next(s for s in detail["skus"] if s["available"] and s["stock"] >= 2)
    body = {"address_id": address["address_id"], "items": [{"sku_id": sku["sku_id"], "quantity": 2}], "coupon_id": None}
    placed = http.post(f"{base_url}/orders", headers={**buyer, "Idempotency-Key": uuid.uuid4().hex}, json=body,
                       timeout=TIMEOUT)  # fmt: skip
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    started = http.post(f"{base_url}/orders/{order_id}/pay", headers=buyer, json={"channel": "sandbox"},
                        timeout=TIMEOUT).json()  # fmt: skip
    assert http.post(started["pay_url"], timeout=TIMEOUT).json()["notify_status"] == 200
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    shipped = http.post(f"{base_url}/admin/orders/{order_id}/ship", headers=admin, timeout=TIMEOUT,
                        json={"carrier": "SF", "tracking_no": f"SF{uuid.uuid4().int % 10**12:012d}"})  # fmt: skip
    assert shipped.status_code == 200, shipped.text
    received = http.post(f"{base_url}/orders/{order_id}/receive", headers=buyer, timeout=TIMEOUT)
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "RECEIVED"
    return username, received.json(), admin


def sign_in(page: Any, storefront: str, username: str) -> None:
    page.goto(f"{storefront}login?redirect=/me")
    page.get_by_placeholder("用户名或手机号").fill(username)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url("**/shop/me")


def test_a_buyer_returns_one_unit_of_a_two_unit_line_and_sees_the_case_and_the_refunded_unit_and_amount(
    phone: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
    screenshots: Path,
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    # GIVEN a buyer's received order of 2 units of one line
    username, order, admin = received_order_of_two_units(http, base_url)
    order_id, line = order["order_id"], order["items"][0]
    share = line["payable_fen"] * 1 // 2
    sign_in(page, storefront, username)

    # WHEN they open the order and ask for after-sales on that line
    page.goto(f"{storefront}orders/{order_id}")
    expect(page.locator("[data-test=order-status]")).to_have_text("已收货")
    page.locator("[data-test=line-after-sales]").click()
    page.wait_for_url(re.compile(r".*/shop/orders/[^/]+/after-sales/new\?sku=.+"))

    # THEN the order's status offers 退货退款, 换货 and 维修 (not 仅退款), and at most the line's 2 units
    expect(page.locator("[data-test=case-type] .van-cell__title")).to_have_text(["退货退款", "换货", "维修"])
    expect(page.get_by_text("最多 2 件")).to_be_visible()

    # WHEN they send it without a reason THEN the API's field error shows beside the reason
    page.locator("[data-test=submit-case]").click()
    expect(page.locator("[data-test=case-reason] .van-field__error-message")).not_to_be_empty()
    watch.forget()  # that 400 was the point of the step

    # WHEN they return ONE unit with a reason
    page.locator("[data-test=case-reason] textarea").fill("其中一副耳机左耳没有声音")
    expect(page.locator("[data-test=case-quantity] input")).to_have_value("1")
    page.locator("[data-test=submit-case]").click()
    page.wait_for_url(re.compile(r".*/shop/orders/[^/]+/after-sales/rf[^/]*$"))
    refund_id = page.url.rsplit("/", 1)[1]

    # THEN the case page shows it waiting for staff, for the line's share of one unit
    expect(page.locator("[data-test=case-status]")).to_have_text("待审核")
    expect(page.locator("[data-test=case-amount]")).to_have_text(yuan(share))
    expect(page.locator("[data-test=case-line]")).to_contain_text("×1")

    # WHEN staff approve it through the API
    approved = http.post(f"{base_url}/admin/refunds/{refund_id}/approve", headers=admin, timeout=TIMEOUT)
    assert approved.status_code == 200, approved.text
    page.reload()

    # THEN the case is approved and asks for the return parcel, which the buyer sends
    expect(page.locator("[data-test=case-status]")).to_have_text("已同意")
    expect(page.locator("[data-test=case-timeline]")).to_contain_text("已同意 · 商家")
    form = page.locator("[data-test=return-form]")
    form.get_by_placeholder("如 顺丰 / SF").fill("SF")
    form.get_by_placeholder("请输入运单号").fill("SF0012345678")
    page.locator("[data-test=send-return]").click()
    expect(page.locator("[data-test=case-status]")).to_have_text("已寄回")
    expect(page.locator("[data-test=return-shipment]")).to_contain_text("SF0012345678")

    # WHEN staff receive the returned unit through the API, and the refund goes through
    received = http.post(f"{base_url}/admin/refunds/{refund_id}/receive-return", headers=admin, timeout=TIMEOUT)
    assert received.status_code == 200, received.text
    buyer = page.evaluate("(s) => JSON.parse(localStorage.getItem(s)).accessToken", "shop.storefront.session")
    case_url = f"{base_url}/orders/{order_id}/refunds/{refund_id}"
    deadline = time.monotonic() + 60  # the refund's execution pays it back through the sandbox
    while time.monotonic() < deadline:
        case = http.get(case_url, headers={"Authorization": f"Bearer {buyer}"}, timeout=TIMEOUT).json()
        if case["status"] == "REFUNDED":
            break
        time.sleep(1)
    assert case["status"] == "REFUNDED", case

    # THEN the case page shows it refunded, with who did what
    page.reload()
    expect(page.locator("[data-test=case-status]")).to_have_text("已退款")
    expect(page.locator("[data-test=case-amount]")).to_have_text(yuan(share))
    timeline = page.locator("[data-test=case-timeline]")
    for step in ("待审核 · 买家", "已同意 · 商家", "已寄回 · 买家", "商家已收货 · 商家", "已退款"):
        expect(timeline).to_contain_text(step)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "storefront-after-sales.png"), full_page=True)

    # AND the order page keeps its status, shows the line's refunded unit and the refunded amount
    page.goto(f"{storefront}orders/{order_id}")
    expect(page.locator("[data-test=order-status]")).to_have_text("已收货")
    expect(page.locator("[data-test=line-refunded]")).to_have_text("已退 1 件")
    expect(page.locator("[data-test=order-refunded]")).to_contain_text(yuan(share))
    expect(page.locator("[data-test=order-case]")).to_contain_text(f"退货退款 {yuan(share)}")
    expect(page.locator("[data-test=order-case]")).to_contain_text("已退款")
    # AND the other unit can still be asked for
    expect(page.locator("[data-test=line-after-sales]")).to_be_visible()
    watch.expect_clean()
