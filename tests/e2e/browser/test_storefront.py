"""The H5 storefront in Chromium at a phone's 375x812: what a signed-out visitor loads, and a buyer's whole journey
(search in Chinese, cart, coupon, checkout, sandbox payment, cancel; then tracking, receipt, a review with a photo
and the points rules' Markdown)."""

from __future__ import annotations

import gzip
import re
import struct
import time
import uuid
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

HOME_BUDGET_BYTES = 250 * 1024  # gzipped JS + CSS of the home page's first load
TIMEOUT = 10


def shot(page: Any, screenshots: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / f"{name}.png"))


def wait_for_home_shelves(http: requests.Session, base_url: str) -> None:
    """The recommendations refresh fills the home page's shelves within seconds of the server's start."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        home = http.get(f"{base_url}/recommendations/home", timeout=TIMEOUT).json()
        if home["themes"] and home["hot"]:
            return
        time.sleep(1)
    pytest.fail("the home page's shelves stayed empty for 60 s")


def test_a_signed_out_first_load_of_home_stays_in_budget_calls_no_token_route_and_logs_no_error(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session, screenshots: Path
) -> None:
    page, watch = phone
    wait_for_home_shelves(http, base_url)
    scripts_and_styles: dict[str, bytes] = {}

    def keep(response: Any) -> None:
        if response.request.resource_type in ("script", "stylesheet") and response.ok:
            scripts_and_styles[response.url] = response.body()

    page.on("response", keep)
    # GIVEN a visitor who never signed in WHEN the home page loads
    page.goto(clients_url["storefront"])
    page.wait_for_load_state("networkidle")

    # THEN it shows the shop, its search box, themes and recommendations
    assert page.locator("input[type=search]").first.get_attribute("placeholder") == "搜索商品"
    assert page.locator("[data-test=theme]").count() >= 1
    assert page.locator("[data-test=product-card]").count() >= 4
    shot(page, screenshots, "storefront-home")
    # AND nothing failed, nothing was logged, no route needing a token was called, no other host was asked
    watch.expect_clean()
    origin = urlsplit(clients_url["storefront"]).netloc
    assert {urlsplit(url).netloc for url in watch.requests if url.startswith("http")} == {origin}
    assert not [url for url in watch.requests if re.search(r"/(me|cart|orders)(/|\?|$)", urlsplit(url).path)]
    # AND its scripts and styles fit the budget once gzipped
    gzipped = sum(len(gzip.compress(body, 9)) for body in scripts_and_styles.values())
    print(f"home first load: {len(scripts_and_styles)} JS/CSS files, {gzipped / 1024:.1f} KB gzipped")
    assert scripts_and_styles and gzipped <= HOME_BUDGET_BYTES, f"{gzipped} bytes gzipped"


def register(http: requests.Session, base_url: str) -> tuple[str, str]:
    username, password = f"h5_{uuid.uuid4().hex[:10]}", "buyer-password-7"
    answer = http.post(f"{base_url}/auth/register", json={"username": username, "password": password}, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    return username, password


def sign_in(page: Any, storefront: str, username: str, password: str) -> None:
    page.goto(f"{storefront}login?redirect=/me")
    page.get_by_placeholder("用户名或手机号").fill(username)
    page.get_by_placeholder("请输入密码").fill(password)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url("**/shop/me")
    assert page.locator("[data-test=me-name]").inner_text() == username


def test_a_buyer_searches_in_chinese_pays_with_a_coupon_in_the_sandbox_and_cancels_another_order(
    phone: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
    screenshots: Path,
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    username, password = register(http, base_url)

    # GIVEN a signed-in buyer
    sign_in(page, storefront, username, password)
    shot(page, screenshots, "storefront-me")

    # WHEN they claim the newcomer coupon in the coupon centre
    page.goto(f"{storefront}me/coupons")
    newcomer = page.locator("[data-test=claimable-coupon]", has_text="新人券 满99减10")
    newcomer.locator("[data-test=claim]").click()
    page.get_by_text("领取成功").wait_for()
    page.get_by_role("tab", name="未使用").click()
    expect(page.locator("[data-test=my-coupon]", has_text="新人券 满99减10")).to_have_count(1)

    # AND search in Chinese: suggestions while typing, then results with facets
    page.goto(f"{storefront}search")
    box = page.locator("input[type=search]")
    box.fill("手机")
    page.locator("[data-test=suggestions]").wait_for()
    box.press("Enter")
    page.locator("[data-test=product-card]").first.wait_for()
    assert int(re.sub(r"\D", "", page.locator("[data-test=search-total]").inner_text())) > 0
    assert page.locator("[data-test=facets]").get_by_text("分类").is_visible()
    titles = page.locator("[data-test=product-card] .title").all_inner_texts()
    assert any("手机" in t or "Phone" in t or "Mate" in t or "iPhone" in t for t in titles), titles
    shot(page, screenshots, "storefront-search")

    # AND open the first result (its title links to its own page), pick a SKU and add it to the cart
    page.locator("[data-test=product-card]").first.click()
    page.wait_for_url(re.compile(r".*/shop/product/[^/]+$"))
    title = page.locator("[data-test=product-title]").inner_text()
    expect(page.locator("[data-test=reviews]")).to_contain_text("商品评价")
    shot(page, screenshots, "storefront-product")
    page.locator("[data-test=add-to-cart]").click()
    page.locator("[data-test=sku-picker]").wait_for()
    assert page.locator("[data-test=spec-value]").count() >= 1
    page.locator("[data-test=confirm-sku]").click()
    page.get_by_text("已加入购物车").wait_for()

    # THEN the cart shows the line and applies the coupon
    page.goto(f"{storefront}cart")
    line = page.locator("[data-test=cart-line]")
    line.first.wait_for()
    assert title in line.first.inner_text()
    expect(page.locator("[data-test=best-coupon]")).to_have_text("新人券 满99减10 -¥10.00")
    shot(page, screenshots, "storefront-cart")

    # WHEN they check out without an address, the address form shows the API's field errors next to the fields
    page.locator("[data-test=checkout] button").click()
    page.wait_for_url("**/shop/checkout?from_cart=1")
    page.locator("[data-test=address]").click()
    page.wait_for_url("**/me/addresses/edit**")
    page.get_by_placeholder("姓名").fill("张三")
    page.get_by_placeholder("11 位手机号").fill("12345")
    page.locator("[data-test=save-address]").click()

    def error_of(placeholder: str) -> Any:
        field = page.locator(".van-field", has=page.get_by_placeholder(placeholder).first)
        return field.locator(".van-field__error-message")

    expect(error_of("11 位手机号")).not_to_be_empty()
    expect(error_of("如 浦东新区")).not_to_be_empty()  # left empty: the API names it too
    watch.forget()  # the 400 above was the point of that step
    page.get_by_placeholder("11 位手机号").fill("13800138000")
    page.get_by_placeholder("如 上海市").nth(0).fill("上海市")
    page.get_by_placeholder("如 上海市").nth(1).fill("上海市")
    page.get_by_placeholder("如 浦东新区").fill("浦东新区")
    page.get_by_placeholder("街道、楼牌号等").fill("世纪大道 100 号")
    page.locator("[data-test=save-address]").click()
    page.wait_for_url("**/shop/checkout?from_cart=1")

    # AND place the order with the coupon
    expect(page.locator("[data-test=address]")).to_contain_text("张三 13800138000")
    expect(page.locator("[data-test=coupon]")).to_contain_text("新人券 满99减10")
    shot(page, screenshots, "storefront-checkout")
    page.locator("[data-test=place-order] button").click()
    page.wait_for_url(re.compile(r".*/shop/pay/[^/]+$"))
    order_id = page.url.rsplit("/", 1)[1]

    # AND pay in the sandbox: its payer page opens in the cashier, the order turns paid once the notify lands
    page.locator("[data-test=pay]").click()
    page.frame_locator("[data-test=payer]").get_by_role("button", name="Pay").click()
    page.locator("[data-test=pay-result]").get_by_text("支付成功").wait_for(timeout=20_000)
    shot(page, screenshots, "storefront-paid")
    page.locator("[data-test=view-order]").click()
    expect(page.locator("[data-test=order-status]")).to_have_text("待发货")
    expect(page.locator("[data-test=coupon-discount]")).to_contain_text("-¥10.00")
    shot(page, screenshots, "storefront-order")
    page.goto(f"{storefront}orders")
    first_card = page.locator("[data-test=order-card]").first
    first_card.wait_for()
    expect(first_card.locator("[data-test=order-status]")).to_have_text("待发货")
    assert order_id in (first_card.get_attribute("href") or "")

    # AND buy the same product again at once, then cancel that order from its page
    page.goto(f"{storefront}orders/{order_id}")
    page.locator("[data-test=order-line] a").first.click()
    page.wait_for_url(re.compile(r".*/shop/product/[^/]+$"))
    page.get_by_text("立即购买").click()
    page.locator("[data-test=confirm-sku]").click()
    page.wait_for_url("**/shop/checkout?**")
    page.locator("[data-test=place-order] button").click()
    page.wait_for_url(re.compile(r".*/shop/pay/[^/]+$"))
    second = page.url.rsplit("/", 1)[1]
    assert second != order_id
    page.goto(f"{storefront}orders/{second}")
    expect(page.locator("[data-test=order-status]")).to_have_text("待付款")
    page.locator("[data-test=cancel-order]").click()
    page.get_by_role("button", name="确认").click()
    page.get_by_text("订单已取消").first.wait_for()
    page.locator("[data-test=order-status]", has_text="已取消").wait_for()

    # THEN the first order is still paid, the second cancelled, and nothing logged an error on the way
    mine = page.evaluate("(s) => JSON.parse(localStorage.getItem(s)).accessToken", "shop.storefront.session")
    orders = http.get(f"{base_url}/me/orders", headers={"Authorization": f"Bearer {mine}"}, timeout=TIMEOUT).json()
    statuses = {o["order_id"]: o["status"] for o in orders["items"]}
    assert statuses == {order_id: "PAID", second: "CANCELLED"}
    watch.expect_clean()


def small_png(width: int = 12, height: int = 12) -> bytes:
    """A real PNG (solid red, RGB) made here, for the photo of a review."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xee\x0a\x24" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def paid_order(http: requests.Session, base_url: str, username: str, password: str) -> dict[str, Any]:
    """The buyer's order of one 耳机, paid in the sandbox over HTTP (the journey above pays in the page)."""
    auth = {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}
    address = http.post(f"{base_url}/me/addresses", headers=auth, timeout=TIMEOUT, json={
        "receiver": "王五", "phone": "13700137000", "province": "上海市", "city": "上海市", "district": "浦东新区",
        "detail": "世纪大道 100 号"}).json()  # fmt: skip
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
    return dict(order.json())


def test_a_buyer_tracks_the_parcel_receives_it_and_reviews_it_with_a_photo_the_product_page_shows(
    phone: tuple[Any, PageWatch],
    clients_url: dict[str, str],
    base_url: str,
    http: requests.Session,
    screenshots: Path,
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    username, password = register(http, base_url)
    order = paid_order(http, base_url, username, password)
    order_id, line = order["order_id"], order["items"][0]

    # GIVEN the paid order shipped by staff with SF, and two events the carrier pushed (in transit, then 签收)
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    tracking_no = f"SF{uuid.uuid4().int % 10**12:012d}"
    shipped = http.post(f"{base_url}/admin/orders/{order_id}/ship", headers=admin, timeout=TIMEOUT,
                        json={"carrier": "SF", "tracking_no": tracking_no})  # fmt: skip
    assert shipped.status_code == 200, shipped.text
    for state, context, location in (
        ("0", "快件已到达【上海浦东转运中心】", "上海市"),
        ("3", "已签收，签收人：本人，感谢使用顺丰", "上海市浦东新区"),
    ):
        event = {"tracking_no": tracking_no, "state": state, "context": context, "location": location}
        pushed = http.post(f"{base_url}/dev/logistics/push", json=event, timeout=TIMEOUT)
        assert pushed.status_code == 200 and pushed.json()["pushed"] is True, pushed.text

    # WHEN the buyer opens the order
    sign_in(page, storefront, username, password)
    page.goto(f"{storefront}orders/{order_id}")

    # THEN it is waiting for receipt and shows the parcel: carrier, number, state and the events, newest first
    expect(page.locator("[data-test=order-status]")).to_have_text("待收货")
    expect(page.locator("[data-test=tracking-parcel]")).to_contain_text(f"SF {tracking_no}")
    expect(page.locator("[data-test=tracking-state]")).to_have_text("签收")
    events = page.locator("[data-test=tracking-event]")
    expect(events).to_have_count(2)
    expect(events.nth(0)).to_contain_text("已签收，签收人：本人")
    expect(events.nth(0)).to_contain_text("上海市浦东新区")
    expect(events.nth(1)).to_contain_text("快件已到达【上海浦东转运中心】")
    shot(page, screenshots, "storefront-tracking")

    # WHEN they confirm receipt in the dialog
    page.locator("[data-test=receive-order]").click()
    page.get_by_role("button", name="确认", exact=True).click()

    # THEN the order is received and offers the review
    page.get_by_text("已确认收货").first.wait_for()
    expect(page.locator("[data-test=order-status]")).to_have_text("已收货")
    expect(page.locator("[data-test=receive-order]")).to_have_count(0)
    page.locator("[data-test=review-order]").click()
    page.wait_for_url(f"**/shop/orders/{order_id}/review")

    # WHEN they send it empty, the API's field error shows under the text
    page.locator("[data-test=submit-review]").click()
    expect(page.locator("[data-test=review-content] .van-field__error-message")).not_to_be_empty()
    watch.forget()  # the 400 above was the point of that step

    # WHEN they write a review and add a photo (uploaded at once through POST /uploads and the presigned PUT)
    content = f"音质清晰，佩戴舒适，物流很快 {uuid.uuid4().hex[:6]}"
    page.locator("[data-test=review-content] textarea").fill(content)
    page.locator("[data-test=review-photos] input[type=file]").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": small_png()}]
    )
    expect(page.locator("[data-test=review-photos] .van-uploader__preview")).to_have_count(1)
    expect(page.locator("[data-test=review-photos] .van-uploader__mask")).to_have_count(0)  # uploaded, not failed
    expect(page.locator(".van-toast:visible")).to_have_count(0)  # the receipt's toast, gone before the screenshot
    shot(page, screenshots, "storefront-review")
    page.locator("[data-test=submit-review]").click()

    # THEN the posted review shows on the page, published, with its photo served from its public URL
    page.get_by_text("评价成功").first.wait_for()
    posted = page.locator("[data-test=my-review]")
    expect(posted.locator("[data-test=my-review-content]")).to_have_text(content)
    expect(posted.locator("[data-test=my-review-status]")).to_have_text("已发布")
    photo = posted.locator("[data-test=my-review-image] img")
    expect(photo).to_have_count(1)
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 12", arg=photo.element_handle())
    expect(page.locator("[data-test=submit-review]")).to_have_count(0)

    # AND the product page lists it with its photo
    page.goto(f"{storefront}product/{line['product_id']}")
    review = page.locator("[data-test=review]", has_text=content)
    expect(review).to_have_count(1)
    expect(review.locator("[data-test=review-image]")).to_have_count(1)

    # AND the points page renders the rules' explanation from its Markdown (a heading and a list, no raw markup)
    page.goto(f"{storefront}me/points")
    page.get_by_role("tab", name="积分规则").click()
    rules = page.locator("[data-test=rules-content]")
    expect(rules.locator("h2")).to_have_text("积分规则说明")
    assert rules.locator("li").count() >= 3
    expect(rules).not_to_contain_text("## ")
    watch.expect_clean()
