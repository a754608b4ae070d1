"""The storefront's flash sales, members club and feedback in Chromium at a phone's 375x812: the home page's 限时秒杀
with a live countdown and a buyer winning one; check-in on the membership page; a feedback sent, listed and answered."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.browser.test_storefront import register, shot, sign_in, small_png
from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10
RUNNING_SALE = "今晚 8 点秒杀 · 手机"  # the local stage's demo: one sale running, one starting tomorrow
UPCOMING_SALE = "明日秒杀 · 耳机"
CLOCK = re.compile(r"^(\d+天 )?\d\d:\d\d:\d\d$")


def yuan_of(text: str) -> int:
    """¥1234.00 as fen."""
    whole, cents = re.sub(r"[^\d.]", "", text).split(".")
    return int(whole) * 100 + int(cents)


def add_address(http: requests.Session, base_url: str, username: str, password: str) -> None:
    auth = {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}
    answer = http.post(f"{base_url}/me/addresses", headers=auth, timeout=TIMEOUT, json={
        "receiver": "赵六", "phone": "13600136000", "province": "上海市", "city": "上海市", "district": "浦东新区",
        "detail": "世纪大道 200 号"})  # fmt: skip
    assert answer.status_code == 201, answer.text


def test_home_shows_the_running_flash_sale_with_a_ticking_countdown_and_a_buyer_wins_one_to_pay(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session, screenshots: Path
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]

    # GIVEN a visitor WHEN the home page loads
    page.goto(storefront)

    # THEN its 限时秒杀 shows the running sale: promo price below the struck-through list price, what remains,
    # and a countdown to its end that changes as time passes
    section = page.locator("[data-test=flash-sales]")
    expect(section).to_contain_text("限时秒杀")
    running = section.locator("[data-test=flash-session]", has_text=RUNNING_SALE)
    expect(running).to_contain_text("距结束")
    item = running.locator("[data-test=flash-item]").first
    promo = yuan_of(item.locator("[data-test=flash-price]").inner_text())
    listed = item.locator("s[data-test=flash-list-price]")
    assert 0 < promo < yuan_of(listed.inner_text())
    expect(item.locator("[data-test=flash-remaining]")).to_have_text(re.compile(r"^仅剩 \d+ 件$"))
    countdown = running.locator("[data-test=countdown]")
    before = countdown.inner_text()
    assert CLOCK.match(before), before
    page.wait_for_timeout(2_100)
    after = countdown.inner_text()
    assert CLOCK.match(after) and after != before, (before, after)
    # AND the sale starting tomorrow counts down to its start
    expect(section.locator("[data-test=flash-session]", has_text=UPCOMING_SALE)).to_contain_text("距开始")
    page.wait_for_load_state("networkidle")
    section.screenshot(path=str(screenshots / "storefront-flash-sales.png"))

    # WHEN they open it and tap 立即抢购 signed out, THEN sign-in comes first and leads back to the sale
    running.click()
    page.wait_for_url(re.compile(r".*/shop/flash-sale/[^/]+$"))
    sale_url = page.url
    expect(page.locator("[data-test=flash-title]")).to_have_text(RUNNING_SALE)
    expect(page.locator("[data-test=flash-status]")).to_contain_text("进行中")
    page.locator("[data-test=grab]").first.click()
    page.wait_for_url("**/shop/login?redirect=**")
    username, password = register(http, base_url)
    add_address(http, base_url, username, password)
    page.get_by_placeholder("用户名或手机号").fill(username)
    page.get_by_placeholder("请输入密码").fill(password)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url(sale_url)

    # WHEN the signed-in buyer taps 立即抢购
    remaining = page.locator("[data-test=flash-item]").first.inner_text()
    page.locator("[data-test=grab]").first.click()

    # THEN the attempt is queued, then won, and its order waits on the cashier at the promo price
    attempt = page.locator("[data-test=attempt]")
    expect(attempt).to_contain_text(re.compile("排队中|抢购成功"))
    expect(attempt).to_contain_text("抢购成功", timeout=30_000)
    expect(page.locator("[data-test=flash-item]").first).not_to_have_text(remaining)  # one fewer left
    page.locator("[data-test=go-pay]").click()
    page.wait_for_url(re.compile(r".*/shop/pay/[^/]+$"))
    auth = {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}
    order = http.get(f"{base_url}/orders/{page.url.rsplit('/', 1)[1]}", headers=auth, timeout=TIMEOUT).json()
    assert (order["kind"], order["status"]) == ("flash_sale", "PENDING_PAYMENT")
    assert order["items"][0]["unit_price_fen"] == promo
    payable = order["amounts"]["payable_fen"]
    expect(page.locator("[data-test=pay-amount]")).to_have_text(f"¥{payable // 100}.{payable % 100:02d}")

    # AND a second tap is refused at the per-buyer limit, shown as a message
    page.goto(sale_url)
    page.locator("[data-test=grab]").first.click()
    expect(page.locator("[data-test=refusal]")).to_have_text("已达每人限购数量")
    watch.forget()  # the 409 above was the point of that step
    watch.expect_clean()


def test_a_buyer_checks_in_once_a_day_and_sends_a_feedback_they_see_open_then_answered(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session, screenshots: Path
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    username, password = register(http, base_url)

    # GIVEN a signed-in buyer WHEN they open 会员中心 from 我的
    sign_in(page, storefront, username, password)
    page.locator("[data-test=go-membership]").click()
    page.wait_for_url("**/shop/me/membership")

    # THEN it shows their level, growth, the way to the next level, benefits and the level table
    expect(page.locator("[data-test=level-name]")).to_have_text("普通会员")
    expect(page.locator("[data-test=growth]")).to_have_text("0")
    expect(page.locator("[data-test=to-next]")).to_have_text("再得 500 成长值升级为 白银会员")
    expect(page.locator("[data-test=benefit]").first).to_be_visible()
    expect(page.locator("[data-test=level-row]")).to_have_count(4)

    # WHEN they check in
    page.locator("[data-test=checkin]").click()

    # THEN the points, growth and streak show, the button turns 今日已签到 and the growth history lists it
    expect(page.locator("[data-test=checkin-result]")).to_have_text("+5 积分 · +2 成长值 · 已连续签到 1 天")
    expect(page.locator("[data-test=checkin]")).to_have_text("今日已签到")
    expect(page.locator("[data-test=checkin]")).to_be_disabled()
    expect(page.locator("[data-test=growth]")).to_have_text("2")
    expect(page.locator("[data-test=growth-entry]")).to_have_count(1)
    expect(page.locator("[data-test=growth-entry]")).to_contain_text("签到")
    expect(page.locator("[data-test=growth-entry]")).to_contain_text("+2")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".van-toast:visible")).to_have_count(0)
    shot(page, screenshots, "storefront-membership")

    # WHEN they come back the same day
    page.reload()

    # THEN the page knows today's check-in is done before any tap: the button is disabled, the streak shows
    expect(page.locator("[data-test=checkin]")).to_have_text("今日已签到")
    expect(page.locator("[data-test=checkin]")).to_be_disabled()
    expect(page.locator("[data-test=checkin-done]")).to_have_text("已连续签到 1 天，明天再来")

    # WHEN they open 意见反馈 from 我的 and send the form empty
    page.goto(f"{storefront}me")
    page.locator("[data-test=go-feedback]").click()
    page.wait_for_url("**/shop/me/feedback")
    expect(page.locator("[data-test=feedback-item]")).to_have_count(0)
    page.locator("[data-test=new-feedback]").click()
    page.wait_for_url("**/shop/me/feedback/new")
    page.locator("[data-test=submit-feedback]").click()

    # THEN the API's field error shows beside the content
    expect(page.locator("[data-test=feedback-content] .van-field__error-message")).not_to_be_empty()
    watch.forget()  # the 400 above was the point of that step

    # WHEN they pick 投诉, write it, add a photo (the upload flow) and a contact, and send it
    content = f"快递包装破损，希望改进 {uuid.uuid4().hex[:6]}"
    page.locator("[data-test=type-complaint]").click()
    page.locator("[data-test=feedback-content] textarea").fill(content)
    page.locator("[data-test=feedback-photos] input[type=file]").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": small_png()}]
    )
    expect(page.locator("[data-test=feedback-photos] .van-uploader__preview")).to_have_count(1)
    expect(page.locator("[data-test=feedback-photos] .van-uploader__mask")).to_have_count(0)  # uploaded, not failed
    page.locator("[data-test=feedback-contact] input").fill("13800138000")
    page.locator("[data-test=submit-feedback]").click()

    # THEN their list shows it, OPEN (待处理)
    page.wait_for_url("**/shop/me/feedback")
    mine = page.locator("[data-test=feedback-item]")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-status", "OPEN")
    expect(mine.locator("[data-test=feedback-status]")).to_have_text("待处理")
    expect(mine.locator("[data-test=feedback-content]")).to_have_text(content)
    expect(mine).to_contain_text("投诉")

    # WHEN customer service replies, THEN its page shows the reply and the status 已回复
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    feedback_id = (mine.get_attribute("href") or "").rsplit("/", 1)[1]
    replied = http.post(f"{base_url}/admin/feedback/{feedback_id}/reply", headers=admin, timeout=TIMEOUT,
                        json={"content": "抱歉给你带来不便，已反馈仓库改进包装"})  # fmt: skip
    assert replied.status_code == 200, replied.text
    mine.click()
    page.wait_for_url(f"**/shop/me/feedback/{feedback_id}")
    expect(page.locator("[data-test=feedback-status]")).to_have_text("已回复")
    expect(page.locator("[data-test=feedback-content]")).to_have_text(content)
    expect(page.locator("[data-test=reply]")).to_contain_text("已反馈仓库改进包装")
    watch.expect_clean()
