"""Storefront lists read past their first page in Chromium at 375x812: 我的收藏 shows 20 favourites and the rest as
the list scrolls, and a product page's 收藏 heart is filled for a favourite that is not among the newest 100."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import PageWatch
from tests.e2e.browser.test_storefront import register, sign_in
from tests.e2e.support import login

pytestmark = pytest.mark.xdist_group("e2e")

TIMEOUT = 10


def on_sale_products(http: requests.Session, base_url: str, count: int) -> list[str]:
    """The ids of `count` products on sale, read from the catalog's pages."""
    ids: list[str] = []
    cursor: str | None = None
    while len(ids) < count:
        query: dict[str, Any] = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{base_url}/products", params=query, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        ids += [p["product_id"] for p in page.json()["items"] if p["product_id"] not in ids]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(ids) >= count, f"the catalog has {len(ids)} products on sale, the test needs {count}"
    return ids[:count]


def favourite_all(http: requests.Session, base_url: str, buyer: dict[str, str], product_ids: list[str]) -> None:
    for product_id in product_ids:
        done = http.put(f"{base_url}/me/favorites/{product_id}", headers=buyer, timeout=TIMEOUT)
        assert done.status_code == 200, done.text


def a_buyer(http: requests.Session, base_url: str) -> tuple[str, str, dict[str, str]]:
    username, password = register(http, base_url)
    return username, password, {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}


def test_my_favourites_show_twenty_then_the_rest_as_i_scroll(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    # GIVEN a buyer with 23 favourites (more than a page of 20)
    username, password, buyer = a_buyer(http, base_url)
    favourite_all(http, base_url, buyer, on_sale_products(http, base_url, 23))

    # WHEN they open 我的收藏
    sign_in(page, storefront, username, password)
    page.goto(f"{storefront}me/favorites")

    # THEN the first 20 show and the list is not finished
    cards = page.locator("[data-test=product-card]")
    expect(cards).to_have_count(20)
    expect(page.get_by_text("没有更多了")).to_have_count(0)

    # WHEN they scroll to the end of the list THEN all 23 show and the list says it is done
    for _ in range(10):
        cards.last.scroll_into_view_if_needed()
        page.mouse.wheel(0, 2000)
        if cards.count() == 23:
            break
        page.wait_for_timeout(300)
    expect(cards).to_have_count(23)
    expect(page.get_by_text("没有更多了")).to_be_visible()
    watch.expect_clean()


def test_the_heart_is_filled_for_a_favourite_older_than_a_hundred_others(
    phone: tuple[Any, PageWatch], clients_url: dict[str, str], base_url: str, http: requests.Session
) -> None:
    page, watch = phone
    storefront = clients_url["storefront"]
    # GIVEN a buyer who favourited one product and then 100 others (so it is 101st, newest first), and one product
    # they never favourited
    username, password, buyer = a_buyer(http, base_url)
    target, *others, never = on_sale_products(http, base_url, 102)
    favourite_all(http, base_url, buyer, [target, *others])
    listed = http.get(f"{base_url}/me/favorites", params={"page_size": 100}, headers=buyer, timeout=TIMEOUT).json()
    assert target not in {f["product_id"] for f in listed["items"]} and listed["next_cursor"]
    sign_in(page, storefront, username, password)

    # WHEN they open that product's page THEN its heart says 已收藏
    page.goto(f"{storefront}product/{target}")
    expect(page.locator("[data-test=favorite]")).to_contain_text("已收藏")

    # WHEN they open the product they never favourited THEN its heart says 收藏 once every favourite was read
    page.goto(f"{storefront}product/{never}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-test=favorite]")).to_have_text("收藏")
    watch.expect_clean()
