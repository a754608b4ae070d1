"""Races over real HTTP against the local server: coupon claims within the total and per-user limit, and point
exchanges of one user that never overdraw."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login
from tests.e2e.test_orders_e2e import ADDRESS

pytestmark = pytest.mark.xdist_group("e2e")
TIMEOUT = 30


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def register(http: requests.Session, base_url: str) -> tuple[str, str]:
    """(user_id, access token) of a new customer."""
    username = f"race_{uuid.uuid4().hex[:10]}"
    answer = http.post(f"{base_url}/auth/register", json={"username": username, "password": "password-long"},
                       timeout=TIMEOUT)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()["user_id"], login(http, base_url, username, "password-long")["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


def test_many_users_claiming_at_once_get_exactly_the_total_and_nobody_passes_the_limit(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    template = {
        "name": "限量券 满300减30", "type": "amount_off", "amount_off_fen": 3000, "threshold_fen": 30000,
        "valid_from": iso(now - timedelta(hours=1)), "valid_to": iso(now + timedelta(days=7)),
        "per_user_limit": 2, "total": 10,
    }  # fmt: skip
    created = http.post(f"{base_url}/admin/coupons", json=template, headers=admin, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    template_id = created.json()["template_id"]
    users = [register(http, base_url)[1] for _ in range(12)]

    def claim(token: str) -> tuple[int, str]:
        answer = requests.post(f"{base_url}/coupons/{template_id}/claim", headers=bearer(token), timeout=TIMEOUT)
        return answer.status_code, answer.json().get("code", "")

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(claim, [token for token in users for _ in range(3)]))

    assert sorted(outcomes).count((201, "")) == 10, outcomes
    assert all(outcome in ((201, ""), (409, "CONFLICT")) for outcome in outcomes), outcomes
    held = [
        len(http.get(f"{base_url}/me/coupons", headers=bearer(token), timeout=TIMEOUT).json()["items"])
        for token in users
    ]
    assert sum(held) == 10 and max(held) <= 2, held
    templates = http.get(f"{base_url}/admin/coupons?page_size=100", headers=admin, timeout=TIMEOUT).json()["items"]
    [issued] = [t["issued"] for t in templates if t["template_id"] == template_id]
    assert issued == 10


def test_one_users_exchanges_at_once_never_overdraw_the_points(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    user_id, token = register(http, base_url)
    goods: dict[str, Any] = {"kind": "goods", "title": "定制帆布袋", "points": 300, "stock": 100}
    reward = http.post(f"{base_url}/admin/points/rewards", json=goods, headers=admin, timeout=TIMEOUT)
    assert reward.status_code == 201, reward.text
    grant = {"user_id": user_id, "points": 1000, "reason": "并发测试"}
    assert http.post(f"{base_url}/admin/points/grants", json=grant, headers=admin, timeout=TIMEOUT).status_code == 201

    address = http.post(f"{base_url}/me/addresses", json=ADDRESS, headers=bearer(token), timeout=TIMEOUT)
    assert address.status_code == 201, address.text  # goods ship to an address of mine

    def exchange(_: int) -> tuple[int, str]:
        body = {"reward_id": reward.json()["reward_id"], "address_id": address.json()["address_id"]}
        answer = requests.post(f"{base_url}/points/exchange", json=body, headers=bearer(token), timeout=TIMEOUT)
        return answer.status_code, answer.json().get("code", "")

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(exchange, range(8)))

    assert outcomes == [(201, "")] * 3 + [(409, "CONFLICT")] * 5, outcomes
    mine = http.get(f"{base_url}/me/points", headers=bearer(token), timeout=TIMEOUT).json()
    assert mine["balance"] == 100
    assert sorted(entry["delta"] for entry in mine["items"]) == [-300, -300, -300, 1000]
