"""Checkout and account deletion over real HTTP against the local server: the preview and the order charge the
same, one customer's orders racing for one coupon, and sign-ins racing the deletion of the account."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login
from tests.e2e.test_orders_e2e import ADDRESS, TIMEOUT, bearer, buyer, post, product_with_stock, stock_of

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def admin(http: requests.Session, base_url: str) -> dict[str, str]:
    return bearer(login(http, base_url, "admin", ADMIN_PASSWORD)["access_token"])


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def claimed_coupon(http: requests.Session, base_url: str, admin: dict[str, str], headers: dict[str, str]) -> str:
    now = datetime.now(UTC)
    template = {"name": "满100减20", "type": "amount_off", "amount_off_fen": 2000, "threshold_fen": 10000,
                "valid_from": iso(now - timedelta(hours=1)), "valid_to": iso(now + timedelta(days=7)),
                "per_user_limit": 1, "total": 10}  # fmt: skip
    created = http.post(f"{base_url}/admin/coupons", json=template, headers=admin, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    claimed = http.post(f"{base_url}/coupons/{created.json()['template_id']}/claim", headers=headers, timeout=TIMEOUT)
    assert claimed.status_code == 201, claimed.text
    return str(claimed.json()["coupon_id"])


def test_one_customers_orders_racing_for_one_coupon_give_it_to_exactly_one(
    http: requests.Session, base_url: str, admin: dict[str, str]
) -> None:
    # GIVEN a customer with one coupon and a SKU of 199 yuan with 20 in stock
    sku_id = product_with_stock(http, base_url, admin, 20)
    customer = buyer(http, base_url)
    coupon_id = claimed_coupon(http, base_url, admin, customer["headers"])
    body = {"address_id": customer["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]}
    shown = http.post(f"{base_url}/orders/preview", json=body, headers=customer["headers"], timeout=TIMEOUT).json()

    # WHEN six orders naming no coupon (so each takes the best one: that coupon) are placed at once
    def place(n: int) -> requests.Response:
        headers = {**customer["headers"], "Idempotency-Key": f"race-{uuid.uuid4().hex}-{n}"}
        return post(f"{base_url}/orders", body, headers)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(place, range(6)))

    # THEN the order placed with the coupon charges what the preview showed; the others took no stock
    placed = [a.json() for a in answers if a.status_code == 201]
    refused = [a.json()["code"] for a in answers if a.status_code != 201]
    with_coupon = [order for order in placed if order["coupon_id"] == coupon_id]
    assert shown["coupon_id"] == coupon_id and shown["amounts"]["coupon_discount_fen"] == 2000
    assert len(with_coupon) == 1, answers
    assert with_coupon[0]["amounts"] == shown["amounts"]
    assert all(code in ("INVALID_STATE", "CONFLICT") for code in refused), refused
    assert all(order["coupon_id"] in (coupon_id, None) for order in placed)
    assert stock_of(http, base_url, sku_id) == 20 - len(placed)


def test_sign_ins_racing_the_deletion_of_the_account_end_with_every_token_dead(
    http: requests.Session, base_url: str
) -> None:
    # GIVEN a customer with an address and a session
    username = f"leaver_{uuid.uuid4().hex[:10]}"
    registered = http.post(f"{base_url}/auth/register", json={"username": username, "password": "password-long"},
                           timeout=TIMEOUT).json()  # fmt: skip
    headers = bearer(registered["access_token"])
    assert http.post(f"{base_url}/me/addresses", json=ADDRESS, headers=headers, timeout=TIMEOUT).status_code == 201

    # WHEN the account is deleted while eight sign-ins run
    def sign_in(_: int) -> dict[str, Any] | None:
        answer = post(f"{base_url}/auth/login", {"username": username, "password": "password-long"}, {})
        return answer.json() if answer.status_code == 200 else None

    def delete(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            return session.delete(f"{base_url}/me", json={"password": "password-long"}, headers=headers,
                                  timeout=TIMEOUT).status_code  # fmt: skip

    with ThreadPoolExecutor(max_workers=9) as pool:
        deleted = pool.submit(delete, 0)
        sessions = [s for s in pool.map(sign_in, range(8)) if s is not None]
        assert deleted.result() == 204

    # THEN whichever sign-ins got in before, none of their tokens works now, and no new sign-in reaches the account
    for session in [registered, *sessions]:
        me = http.get(f"{base_url}/me", headers=bearer(session["access_token"]), timeout=TIMEOUT)
        refreshed = http.post(f"{base_url}/auth/refresh", json={"refresh_token": session["refresh_token"]},
                              timeout=TIMEOUT)  # fmt: skip
        assert (me.status_code, refreshed.status_code) == (401, 401)
    login = http.post(f"{base_url}/auth/login", json={"username": username, "password": "password-long"},
                      timeout=TIMEOUT)  # fmt: skip
    assert login.status_code == 401
    again = http.post(f"{base_url}/auth/register", json={"username": username, "password": "password-long"},
                      timeout=TIMEOUT)  # fmt: skip
    assert again.status_code == 201 and again.json()["user_id"] != registered["user_id"]
