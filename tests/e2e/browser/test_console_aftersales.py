"""The console's after-sales cases (售后处理) in Chromium: the list by status and type, and a case's drawer taking a
returned unit from approval to the refund."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.browser.test_console import paid_order
from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10


def test_staff_find_a_return_by_status_and_type_approve_it_and_receive_the_parcel_in_the_case_drawer(
    desktop: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
    screenshots: Path,
) -> None:
    page, watch = desktop
    console = clients_url["admin console"]
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    # GIVEN a received order whose buyer asks to return its unit
    order = paid_order(http, base_url)
    order_id, buyer, line = order["order_id"], order["buyer"], order["items"][0]
    ship = {"carrier": "SF", "tracking_no": f"SF{uuid.uuid4().int % 10**12:012d}"}
    assert http.post(f"{base_url}/admin/orders/{order_id}/ship", headers=admin, json=ship,
                     timeout=TIMEOUT).status_code == 200  # fmt: skip
    assert http.post(f"{base_url}/orders/{order_id}/receive", headers=buyer, timeout=TIMEOUT).status_code == 200
    reason = f"尺寸不合适 {uuid.uuid4().hex[:6]}"
    asked = http.post(f"{base_url}/orders/{order_id}/refunds", headers=buyer, timeout=TIMEOUT, json={
        "type": "return_refund", "reason": reason, "items": [{"sku_id": line["sku_id"], "quantity": 1}]})  # fmt: skip
    assert asked.status_code == 201, asked.text
    refund_id = asked.json()["refund_id"]

    # WHEN staff sign in, open 售后处理 and narrow the pending cases to 退货退款
    page.goto(console)
    page.wait_for_url("**/console/login**")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/dashboard")
    page.locator("[data-test=menu]").get_by_text("售后处理").click()
    page.wait_for_url("**/console/refunds")
    page.locator("[data-test=type-filter]").click()
    page.locator(".el-select-dropdown__item", has_text="退货退款").click()
    row = page.locator("[data-test=refunds-table] .el-table__row", has_text=reason)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("退货退款")
    expect(row).to_contain_text("待审核")

    # AND approve it in its drawer
    row.locator("[data-test=open-case]").click()
    drawer = page.locator(".el-drawer")
    expect(drawer).to_contain_text(refund_id)
    expect(drawer.locator("[data-test=case-status]")).to_have_text("待审核")
    drawer.locator("[data-test=approve]").click()
    page.locator(".el-popconfirm .el-button--primary").click()

    # THEN the drawer shows it approved by staff, and it leaves the pending list
    expect(drawer.locator("[data-test=case-status]")).to_have_text("已同意")
    expect(drawer).to_contain_text("已同意 · 商家")
    expect(row).to_have_count(0)

    # WHEN the buyer sends the unit back and staff open the case from the 已寄回 list
    sent = http.post(f"{base_url}/orders/{order_id}/refunds/{refund_id}/return-shipment", headers=buyer,
                     json={"carrier": "YTO", "tracking_no": "YT9876543210"}, timeout=TIMEOUT)  # fmt: skip
    assert sent.status_code == 200, sent.text
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    page.locator("[data-test=status-filter]").get_by_text("已寄回").click()
    expect(row).to_have_count(1)
    row.locator("[data-test=open-case]").click()
    expect(drawer).to_contain_text("YTO YT9876543210")
    drawer.locator("[data-test=receive-return]").click()

    # THEN the console says the unit is back in stock, and the case goes on to its refund
    expect(page.get_by_text("已确认收到退货，商品已入库")).to_be_visible()
    expect(drawer.locator("[data-test=case-status]")).to_have_text("商家已收货")
    page.screenshot(path=str(screenshots / "console-after-sales.png"))
    deadline = time.monotonic() + 60
    case: dict[str, Any] = {}
    while time.monotonic() < deadline:
        case = http.get(f"{base_url}/orders/{order_id}/refunds/{refund_id}", headers=buyer, timeout=TIMEOUT).json()
        if case["status"] == "REFUNDED":
            break
        time.sleep(1)
    assert case["status"] == "REFUNDED" and case["amount_fen"] == line["payable_fen"], case
    watch.expect_clean()
