"""The admin console in Chromium: sign in, the dashboard's charts with the day's figures, shipping a paid order,
moderating a review held for a sensitive word."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10
SHANGHAI = timezone(timedelta(hours=8))


def paid_order(http: requests.Session, base_url: str) -> dict[str, Any]:
    """A customer's order, paid through the sandbox gateway over HTTP."""
    username = f"ship_{uuid.uuid4().hex[:10]}"
    http.post(f"{base_url}/auth/register", json={"username": username, "password": "buyer-password-7"}, timeout=TIMEOUT)
    token = login(http, base_url, username, "buyer-password-7")["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    address = http.post(f"{base_url}/me/addresses", headers=auth, timeout=TIMEOUT, json={
        "receiver": "李四", "phone": "13900139000", "province": "浙江省", "city": "杭州市", "district": "西湖区",
        "detail": "文三路 1 号"}).json()  # fmt: skip
    product = http.get(f"{base_url}/search", params={"q": "耳机"}, timeout=TIMEOUT).json()["items"][0]
    detail = http.get(f"{base_url}/products/{product['product_id']}", timeout=TIMEOUT).json()
    sku = next(s for s in detail["skus"] if s["available"])
    body = {"address_id": address["address_id"], "items": [{"sku_id": sku["sku_id"], "quantity": 1}]}
    order = http.post(f"{base_url}/orders", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json=body,
                      timeout=TIMEOUT)  # fmt: skip
    assert order.status_code == 201, order.text
    started = http.post(f"{base_url}/orders/{order.json()['order_id']}/pay", headers=auth, json={"channel": "sandbox"},
                        timeout=TIMEOUT).json()  # fmt: skip
    assert http.post(started["pay_url"], timeout=TIMEOUT).json()["notify_status"] == 200
    return {**order.json(), "buyer": auth}


def test_staff_sign_in_see_the_days_figures_in_the_dashboards_charts_and_ship_an_order(
    desktop: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
    screenshots: Path,
) -> None:
    page, watch = desktop
    console = clients_url["admin console"]
    order = paid_order(http, base_url)
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    today = datetime.now(SHANGHAI).date().isoformat()

    def todays_figures() -> dict[str, Any]:
        summary = http.get(f"{base_url}/admin/analytics/summary", params={"from": today, "to": today}, headers=admin,
                           timeout=TIMEOUT).json()  # fmt: skip
        return dict(summary)

    deadline = time.monotonic() + 60  # the paid order reaches analytics through its event pipeline
    while todays_figures()["paid_orders"] < 1 and time.monotonic() < deadline:
        time.sleep(1)

    # GIVEN the console's sign-in page WHEN staff sign in with a username, a password and 登录
    page.goto(console)
    page.wait_for_url("**/console/login**")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.screenshot(path=str(screenshots / "console-login.png"))
    page.get_by_role("button", name="登录").click()

    # THEN the dashboard opens, its menu follows the role, and its charts carry the day's figures
    page.wait_for_url("**/console/dashboard")
    menu = page.locator("[data-test=menu]")
    for entry in ("数据看板", "订单管理", "售后处理", "商品与库存", "优惠券", "积分兑换"):
        expect(menu).to_contain_text(entry)
    page.goto(f"{console}dashboard?from={today}&to={today}")  # the date range is in the address
    expect(page.locator(".el-date-editor input").first).to_have_value(today)
    figures = todays_figures()
    expect(page.locator("[data-test=kpi-orders]")).to_contain_text(str(figures["orders"]))
    gmv = f"¥{figures['gmv_fen'] // 100}.{figures['gmv_fen'] % 100:02d}"
    expect(page.locator("[data-test=kpi-gmv]")).to_contain_text(gmv)
    daily = page.locator("[data-test=chart-daily]")
    expect(daily.locator("canvas")).to_have_count(1)
    expect(daily).to_have_attribute("aria-label", re.compile(today))
    expect(daily).to_have_attribute("aria-label", re.compile(str(figures["gmv_fen"] / 100).removesuffix(".0")))
    funnel = page.locator("[data-test=chart-funnel]")
    expect(funnel).to_have_attribute("aria-label", re.compile(f"支付.*{figures['funnel']['payments']}"))
    expect(page.locator("[data-test=chart-top] canvas")).to_have_count(1)
    page.wait_for_timeout(800)  # the charts' entry animation
    page.screenshot(path=str(screenshots / "console-dashboard.png"), full_page=True)

    # WHEN they open the paid orders and ship ours, a bad tracking number shows the API's field error first
    page.locator("[data-test=menu]").get_by_text("订单管理").click()
    page.wait_for_url("**/console/orders")
    row = page.locator("[data-test=orders-table] .el-table__row", has_text=order["order_no"])
    expect(row).to_have_count(1)
    page.screenshot(path=str(screenshots / "console-orders.png"))
    row.locator("[data-test=ship]").click()
    page.locator("[data-test=tracking-no]").fill("单号 有空格!")
    page.locator("[data-test=confirm-ship]").click()
    field = page.locator(".el-form-item", has=page.locator("[data-test=tracking-no]"))
    expect(field.locator(".el-form-item__error")).to_be_visible()
    watch.forget()  # that 400 was the point of the step
    page.locator("[data-test=tracking-no]").fill("SF1234567890")
    page.locator("[data-test=confirm-ship]").click()

    # THEN the console says so, the order leaves the paid list, and the buyer's order is shipped
    expect(page.get_by_text(f"订单 {order['order_no']} 已发货")).to_be_visible()
    expect(row).to_have_count(0)
    shipped = http.get(f"{base_url}/admin/orders/{order['order_id']}", headers=admin, timeout=TIMEOUT).json()
    assert shipped["status"] == "SHIPPED" and shipped["shipment"]["tracking_no"] == "SF1234567890"
    watch.expect_clean()


def test_staff_approve_a_review_held_for_a_sensitive_word_and_it_shows_on_the_product(
    desktop: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
) -> None:
    # GIVEN a word on the list and a received order whose review names it (so it waits for moderation)
    page, watch = desktop
    console = clients_url["admin console"]
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    word = f"违禁{uuid.uuid4().hex[:6]}"
    assert http.post(f"{base_url}/admin/review-words", headers=admin, json={"words": [word]},
                     timeout=TIMEOUT).status_code == 201  # fmt: skip
    order = paid_order(http, base_url)
    ship = {"carrier": "SF", "tracking_no": f"SF{uuid.uuid4().int % 10**12:012d}"}
    assert http.post(f"{base_url}/admin/orders/{order['order_id']}/ship", headers=admin, json=ship,
                     timeout=TIMEOUT).status_code == 200  # fmt: skip
    assert http.post(f"{base_url}/orders/{order['order_id']}/receive", headers=order["buyer"],
                     timeout=TIMEOUT).status_code == 200  # fmt: skip
    line = order["items"][0]
    content = f"音质很好，就是包装上写着{word}"
    review = http.post(f"{base_url}/orders/{order['order_id']}/reviews", headers=order["buyer"], timeout=TIMEOUT,
                       json={"items": [{"sku_id": line["sku_id"], "rating": 5, "content": content}]})  # fmt: skip
    assert review.status_code == 201 and review.json()["items"][0]["status"] == "PENDING", review.text

    # WHEN staff sign in, open 评价审核 and approve it
    page.goto(console)
    page.wait_for_url("**/console/login**")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/dashboard")
    page.locator("[data-test=menu]").get_by_text("评价审核").click()
    page.wait_for_url("**/console/reviews")
    row = page.locator("[data-test=reviews-table] .el-table__row", has_text=content)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(word)  # the matched word is shown beside the text
    row.locator("[data-test=approve-review]").click()

    # THEN the console says so, the review leaves the queue, and the product page shows it
    expect(page.get_by_text("已通过并发布")).to_be_visible()
    expect(row).to_have_count(0)
    published = http.get(f"{base_url}/products/{line['product_id']}/reviews", timeout=TIMEOUT).json()
    assert content in [item["content"] for item in published["items"]]
    watch.expect_clean()


def test_the_points_rules_explanation_previews_its_markdown_beside_the_textarea_without_raw_html(
    desktop: tuple[Any, PageWatch], clients_url: dict[str, str]
) -> None:
    page, watch = desktop
    console = clients_url["admin console"]
    page.goto(console)
    page.wait_for_url("**/console/login**")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/dashboard")

    # GIVEN the points rules page, whose preview shows the rules in force
    page.goto(f"{console}points-rules")
    preview = page.locator("[data-test=rules-preview] .markdown")
    expect(preview.locator("h2")).to_have_text("积分规则说明")

    # WHEN staff type Markdown with raw HTML and a javascript: link into the explanation
    page.locator("textarea[name=content]").fill(
        "## 新规则\n\n- 签到 **5** 积分\n- 评价 10 积分\n\n<img src=x onerror=alert(1)> [看这里](javascript:alert(1))"
    )

    # THEN the preview follows as they type: a heading and a list, the HTML shown as text, the link not a link
    expect(preview.locator("h2")).to_have_text("新规则")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview.locator("li strong")).to_have_text("5")
    expect(preview).to_contain_text("<img src=x onerror=alert(1)>")
    expect(preview.locator("img")).to_have_count(0)
    expect(preview.locator("a")).to_have_count(0)
    watch.expect_clean()
