"""Searching the seeded demo over real HTTP: the catalog the seed wrote reaches the index through the stream, the
reindex queue and S3 on the embedded moto; Chinese and pinyin queries, filters, facets, sorts and suggestions."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.support import login

pytestmark = pytest.mark.xdist_group("e2e")
INDEX_WAIT_SECONDS = 60


def search(http: requests.Session, base_url: str, **params: Any) -> dict[str, Any]:
    response = http.get(f"{base_url}/search", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def indexed(http: requests.Session, base_url: str) -> None:
    """The demo's index is published a few seconds after start (debounced): wait for it, as a client would retry."""
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while search(http, base_url, category_id="c_phone")["total"] < 10:
        assert time.monotonic() < deadline, "the seeded catalog was not searchable within a minute of start"
        time.sleep(0.5)


def test_shouji_in_chinese_and_in_pinyin_finds_the_demo_phones(
    http: requests.Session, base_url: str, indexed: None
) -> None:
    chinese = search(http, base_url, q="手机", page_size=50)
    pinyin = search(http, base_url, q="shouji", page_size=50)

    assert chinese["total"] >= 10
    assert {item["category_id"] for item in pinyin["items"]} >= {"c_phone"}
    assert {f["id"] for f in chinese["facets"]["category"]} >= {"c_phone"}
    assert {item["product_id"] for item in pinyin["items"] if item["category_id"] == "c_phone"} <= {
        item["product_id"] for item in chinese["items"]
    }


def test_a_brand_filter_and_a_price_sort_shape_the_page(http: requests.Session, base_url: str, indexed: None) -> None:
    # Sorted by price, only products whose title, brand, category or keywords name 手机 are listed: the brand facet
    # of that same listing is what the filter narrows it to.
    everything = search(http, base_url, q="手机", sort="price_asc", page_size=50)
    brand = everything["facets"]["brand"][0]

    filtered = search(http, base_url, q="手机", brand_id=brand["id"], sort="price_asc", page_size=50)

    assert filtered["total"] == brand["count"]
    assert {item["brand_id"] for item in filtered["items"]} == {brand["id"]}
    prices = [item["price_fen"] for item in filtered["items"]]
    assert prices == sorted(prices)


def test_suggest_completes_initials_and_full_pinyin_to_chinese(
    http: requests.Session, base_url: str, indexed: None
) -> None:
    for prefix in ("sj", "shouji"):
        response = http.get(f"{base_url}/search/suggest", params={"q": prefix}, timeout=10)
        assert response.status_code == 200, response.text
        assert "手机" in [s["text"] for s in response.json()["suggestions"]], prefix


def test_a_signed_in_search_shows_up_in_the_users_history_through_the_search_log(
    http: requests.Session, base_url: str, indexed: None
) -> None:
    username, password = f"e2e_search_{uuid.uuid4().hex[:8]}", "search-password-1"
    registered = http.post(f"{base_url}/auth/register", json={"username": username, "password": password}, timeout=10)
    assert registered.status_code == 201, registered.text
    auth = {"Authorization": f"Bearer {login(http, base_url, username, password)['access_token']}"}
    assert http.get(f"{base_url}/search", params={"q": "华为 耳机"}, headers=auth, timeout=30).status_code == 200

    deadline = time.monotonic() + 30  # the search-log consumer gathers for up to 10 s
    history: list[str] = []
    while time.monotonic() < deadline:
        answer = http.get(f"{base_url}/me/search-history", headers=auth, timeout=10).json()
        history = [entry["keyword"] for entry in answer["items"]]
        if history:
            break
        time.sleep(0.5)

    assert history == ["华为 耳机"]
