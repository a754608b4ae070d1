"""A restock over real HTTP against `make run`: the stream and queue pollers text each waiting customer exactly once."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, login

pytestmark = pytest.mark.xdist_group("e2e")

WAIT_SECONDS = 15


def sms_customer(http: requests.Session, base_url: str) -> tuple[str, dict[str, str]]:
    """A new customer signed up by SMS (so with a phone bound): the phone and the Authorization header."""
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    sent = http.post(f"{base_url}/auth/sms/send", json={"phone": phone, "purpose": "login"}, timeout=10)
    assert sent.status_code == 202, sent.text
    outbox = http.get(f"{base_url}/dev/outbox", params={"to": phone}, timeout=10).json()
    code = re.findall(r"\d{6}", outbox["messages"][0]["text"])[0]
    session = http.post(f"{base_url}/auth/sms/login", json={"phone": phone, "code": code}, timeout=10)
    assert session.status_code == 200, session.text
    return phone, {"Authorization": f"Bearer {session.json()['access_token']}"}


def a_sold_out_demo_sku(http: requests.Session, base_url: str, admin: dict[str, str]) -> str:
    """A demo SKU with no stock; if the first pages hold none, the admin sells one out."""
    products = http.get(f"{base_url}/products", params={"page_size": 50}, timeout=10).json()["items"]
    for product in products:
        detail = http.get(f"{base_url}/products/{product['product_id']}", timeout=10).json()
        for sku in detail["skus"]:
            if sku["stock"] == 0:
                return str(sku["sku_id"])
    sku_id = str(http.get(f"{base_url}/products/{products[-1]['product_id']}", timeout=10).json()["skus"][0]["sku_id"])
    set_stock(http, base_url, admin, sku_id, 0)
    return sku_id


def set_stock(http: requests.Session, base_url: str, admin: dict[str, str], sku_id: str, stock: int) -> None:
    answer = http.patch(f"{base_url}/admin/skus/{sku_id}/stock", json={"stock": stock}, headers=admin, timeout=10)
    assert answer.status_code == 200, answer.text


def restock_texts(http: requests.Session, base_url: str, phone: str) -> list[dict[str, Any]]:
    messages = http.get(f"{base_url}/dev/outbox", params={"to": phone}, timeout=10).json()["messages"]
    return [m for m in messages if "到货" in m["text"]]


def wait_for_texts(http: requests.Session, base_url: str, phone: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        texts = restock_texts(http, base_url, phone)
        if len(texts) >= count or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)


def test_a_restocked_sku_texts_the_customer_who_reserved_it_once_even_after_a_bounce(
    http: requests.Session, base_url: str
) -> None:
    admin = {"Authorization": f"Bearer {login(http, base_url, 'admin', ADMIN_PASSWORD)['access_token']}"}
    sku_id = a_sold_out_demo_sku(http, base_url, admin)
    phone, customer = sms_customer(http, base_url)
    reserved = http.post(f"{base_url}/me/reservations", json={"sku_id": sku_id}, headers=customer, timeout=10)

    set_stock(http, base_url, admin, sku_id, 5)
    first = wait_for_texts(http, base_url, phone, 1)
    told = http.get(f"{base_url}/me/reservations", headers=customer, timeout=10).json()["items"]
    set_stock(http, base_url, admin, sku_id, 0)
    # A second customer waiting from the bounce on: their text says the second restock went all the way through.
    later_phone, later_customer = sms_customer(http, base_url)
    http.post(f"{base_url}/me/reservations", json={"sku_id": sku_id}, headers=later_customer, timeout=10)
    set_stock(http, base_url, admin, sku_id, 5)
    later = wait_for_texts(http, base_url, later_phone, 1)

    assert reserved.status_code == 201, reserved.text
    assert len(first) == 1, first
    assert "5 件" in first[0]["text"]
    assert [(item["sku_id"], item["notify_result"]) for item in told] == [(sku_id, "sent")]
    assert len(later) == 1
    assert len(restock_texts(http, base_url, phone)) == 1
