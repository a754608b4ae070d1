"""Recommendations over real HTTP against `make run`: the demo behaviour and the first refresh fill the home page."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

WAIT_SECONDS = 60  # the refresh runs in the background right after the seed; the machine may be busy


def refreshed_home(http: requests.Session, base_url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = http.get(f"{base_url}/recommendations/home", headers=headers or {}, timeout=10)
        assert answer.status_code == 200, answer.text
        home = dict(answer.json())
        if home["generated_at"] is not None or time.monotonic() > deadline:
            return home
        time.sleep(0.5)


def test_soon_after_start_the_home_page_similar_items_and_the_admins_picks_are_filled(
    http: requests.Session, base_url: str
) -> None:
    home = refreshed_home(http, base_url)
    assert home["generated_at"] is not None, "no recommendations refresh within a minute of start"
    assert len(home["hot"]) == 10 and len(home["new"]) == 10 and home["promotions"] and home["themes"]
    assert all(shelf["items"] for shelf in home["themes"])
    assert home["for_you"] == home["hot"] and home["personal"] is False

    first = home["hot"][0]["product_id"]
    similar = http.get(f"{base_url}/products/{first}/similar", params={"limit": 5}, timeout=10)
    assert similar.status_code == 200, similar.text
    assert len(similar.json()["items"]) == 5 and first not in [p["product_id"] for p in similar.json()["items"]]

    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    mine = refreshed_home(http, base_url, admin)
    assert mine["personal"] is True and len(mine["for_you"]) == 10  # the demo behaviour includes the admin's
