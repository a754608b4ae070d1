"""Races over real HTTP against the local server: conditional writes keep exactly one winner."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.xdist_group("e2e")


def test_concurrent_registrations_of_one_username_make_exactly_one_account(base_url: str) -> None:
    username = f"race_{uuid.uuid4().hex[:8]}"

    def register(n: int) -> int:
        body = {"username": username, "password": f"password-{n}-long"}
        return requests.post(f"{base_url}/auth/register", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(register, range(8)))

    assert statuses == [201] + [409] * 7


def test_concurrent_registrations_of_one_phone_make_exactly_one_account(base_url: str) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    sent = requests.post(f"{base_url}/auth/sms/send", json={"phone": phone, "purpose": "register"}, timeout=30)
    assert sent.status_code == 202, sent.text
    outbox = requests.get(f"{base_url}/dev/outbox", params={"to": phone}, timeout=30).json()
    code = re.findall(r"[0-9]{6}", outbox["messages"][0]["text"])[0]

    def register(n: int) -> int:
        body = {"username": f"phone_{n}_{uuid.uuid4().hex[:6]}", "password": "password-long", "phone": phone,
                "sms_code": code}  # fmt: skip
        return requests.post(f"{base_url}/auth/register", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(register, range(6)))

    assert statuses == [201] + [409] * 5
