"""Two storefront pages in Chromium at 375x812: 意见反馈 lists a buyer's feedback 20 at a time and the rest as they
scroll, until the API's last page; 申请售后 uploads its photos (purpose after_sales) and the case keeps them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.browser.test_storefront import register, sign_in, small_png
from tests.e2e.browser.test_storefront_aftersales import PASSWORD, received_order_of_two_units
from tests.e2e.support import login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10


def test_my_feedback_list_shows_twenty_then_the_rest_as_i_scroll_newest_first(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    # GIVEN a buyer who filed 23 feedback (more than a page of 20)
    username, password = register(http, base_url)
    buyer = {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}
    tag = uuid.uuid4().hex[:6]
    for n in range(23):
        filed = http.post(f"{base_url}/feedback", headers=buyer, timeout=TIMEOUT,
                          json={"type": "suggestion", "content": f"建议 {tag} 第 {n + 1} 条"})  # fmt: skip
        assert filed.status_code == 201, filed.text

    # WHEN they open 意见反馈
    sign_in(page, storefront, username, password)
    page.goto(f"{storefront}me/feedback")

    # THEN the first 20 show, newest first, and the list is not finished
    mine = page.locator("[data-test=feedback-item]")
    expect(mine).to_have_count(20)
    expect(mine.first.locator("[data-test=feedback-content]")).to_have_text(f"建议 {tag} 第 23 条")
    expect(page.get_by_text("没有更多了")).to_have_count(0)

    # WHEN they scroll to the end of the list THEN the last 3 come in, the oldest last, and the list says it is done
    for _ in range(10):
        mine.last.scroll_into_view_if_needed()
        page.mouse.wheel(0, 2000)
        if mine.count() == 23:
            break
        page.wait_for_timeout(300)
    expect(mine).to_have_count(23)
    expect(mine.last.locator("[data-test=feedback-content]")).to_have_text(f"建议 {tag} 第 1 条")
    expect(page.get_by_text("没有更多了")).to_be_visible()
    watch.expect_clean()


def test_a_case_photo_is_uploaded_for_after_sales_and_kept_on_the_case(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    # GIVEN a buyer's received order, and its after-sales form for the line
    username, order, _ = received_order_of_two_units(http, base_url)
    order_id, sku_id = order["order_id"], order["items"][0]["sku_id"]
    sign_in(page, storefront, username, PASSWORD)
    page.goto(f"{storefront}orders/{order_id}/after-sales/new?sku={sku_id}")
    expect(page.locator("[data-test=case-type]")).to_be_visible()

    # WHEN they add a photo (uploaded at once) and send a return with a reason
    page.locator("[data-test=case-photos] input[type=file]").set_input_files(
        files=[{"name": "scratch.png", "mimeType": "image/png", "buffer": small_png()}]
    )
    expect(page.locator("[data-test=case-photos] .van-uploader__preview")).to_have_count(1)
    expect(page.locator("[data-test=case-photos] .van-uploader__mask")).to_have_count(0)  # uploaded, not failed
    page.locator("[data-test=case-reason] textarea").fill("外壳有划痕")
    page.locator("[data-test=submit-case]").click()
    page.wait_for_url(re.compile(r".*/shop/orders/[^/]+/after-sales/rf[^/]*$"))

    # THEN the case the API keeps names the photo (the API takes only the buyer's own uploads for after_sales, or
    # feedback, there; Chromium does not show Playwright the body of the page's `POST /uploads` to check its purpose)
    refund_id = page.url.rsplit("/", 1)[1]
    token = page.evaluate("(s) => JSON.parse(localStorage.getItem(s)).accessToken", "shop.storefront.session")
    case = http.get(f"{base_url}/orders/{order_id}/refunds/{refund_id}", timeout=TIMEOUT,
                    headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert len(case["images"]) == 1 and case["status"] == "PENDING", case
    watch.expect_clean()
