"""A customer's account life over real HTTP against `make run`: SMS sign-up, profile, address, refresh, logout."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

pytestmark = pytest.mark.xdist_group("e2e")


def test_a_new_customer_signs_up_by_sms_fills_the_profile_and_rotates_tokens(
    http: requests.Session, base_url: str
) -> None:
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    sent = http.post(f"{base_url}/auth/sms/send", json={"phone": phone, "purpose": "login"}, timeout=10)
    outbox = http.get(f"{base_url}/dev/outbox", params={"to": phone}, timeout=10).json()
    code = re.findall(r"\d{6}", outbox["messages"][0]["text"])[0]

    session = http.post(f"{base_url}/auth/sms/login", json={"phone": phone, "code": code}, timeout=10).json()
    auth = {"Authorization": f"Bearer {session['access_token']}"}
    profile = http.patch(f"{base_url}/me", json={"nickname": "新用户"}, headers=auth, timeout=10).json()
    address = http.post(
        f"{base_url}/me/addresses",
        json={"receiver": "李四", "phone": phone, "province": "浙江省", "city": "杭州市", "district": "西湖区",
              "detail": "文三路 90 号"},
        headers=auth,
        timeout=10,
    )  # fmt: skip
    rotated = http.post(f"{base_url}/auth/refresh", json={"refresh_token": session["refresh_token"]}, timeout=10)
    logout = http.post(f"{base_url}/auth/logout", json={"refresh_token": rotated.json()["refresh_token"]}, timeout=10)
    after_logout = http.post(
        f"{base_url}/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}, timeout=10
    )

    assert sent.status_code == 202
    assert session["is_new_user"] is True
    assert profile["nickname"] == "新用户"
    assert profile["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert address.status_code == 201
    assert address.json()["is_default"] is True
    assert rotated.status_code == 200
    assert logout.status_code == 204
    assert after_logout.status_code == 401
    assert after_logout.json()["code"] == "UNAUTHORIZED"
