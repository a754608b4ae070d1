"""Accounts through the HTTP API on moto: tokens, SMS codes via SNS and the outbox, the profile, bindings, back-off."""

from __future__ import annotations

import re

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.accounts import guards
from chalicelib.accounts.security_repository import DynamoSecurityRepository
from tests.functional.conftest import ShopClient, register_and_login, register_with_phone

PHONE = "13800138000"


def sign_in(client: ShopClient, username: str = "alice") -> dict:
    client.call("POST", "/auth/register", {"username": username, "password": "correct horse 1"})
    status, session, _ = client.call("POST", "/auth/login", {"username": username, "password": "correct horse 1"})
    assert status == 200
    return session


def texted_code(client: ShopClient, phone: str = PHONE) -> str:
    status, outbox, _ = client.call("GET", f"/dev/outbox?to={phone}")
    assert status == 200
    return re.findall(r"\d{6}", outbox["messages"][0]["text"])[0]


def test_refresh_rotates_and_a_replayed_token_signs_the_family_out(client: ShopClient) -> None:
    session = sign_in(client)

    status, rotated, _ = client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})
    replay = client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})
    after_theft = client.call("POST", "/auth/refresh", {"refresh_token": rotated["refresh_token"]})

    assert status == 200
    assert rotated["refresh_token"] != session["refresh_token"]
    assert rotated["user"]["username"] == "alice"
    assert (replay[0], replay[1]["code"]) == (401, "UNAUTHORIZED")
    assert after_theft[0] == 401


def test_logout_revokes_the_refresh_token(client: ShopClient) -> None:
    session = sign_in(client)

    status, _body, _ = client.call("POST", "/auth/logout", {"refresh_token": session["refresh_token"]})

    assert status == 204
    assert client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})[0] == 401


def test_an_sms_code_arrives_through_sns_and_signs_a_new_user_in_once(client: ShopClient) -> None:
    status, sent, _ = client.call("POST", "/auth/sms/send", {"phone": "+86" + PHONE, "purpose": "login"})
    code = texted_code(client)

    first = client.call("POST", "/auth/sms/login", {"phone": PHONE, "code": code})
    reused = client.call("POST", "/auth/sms/login", {"phone": PHONE, "code": code})

    assert (status, sent) == (202, {"sent": True, "resend_after_seconds": 60})
    published = list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())
    assert published[-1:] == [(f"+86{PHONE}", client.call("GET", f"/dev/outbox?to={PHONE}")[1]["messages"][0]["text"])]
    assert first[0] == 200
    assert first[1]["is_new_user"] is True
    assert reused[0] == 401
    me = client.call("GET", "/me", token=first[1]["access_token"])[1]
    assert me["phone"] == "138****8000"
    assert me["has_password"] is False


def test_a_second_code_within_a_minute_is_rate_limited(client: ShopClient) -> None:
    client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "login"})

    status, body, _ = client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "login"})

    assert (status, body["code"]) == (429, "RATE_LIMITED")


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "12800138000", "purpose": "login"},
        {"phone": "1380013800", "purpose": "login"},
        {"phone": PHONE, "purpose": "spam"},
        {"phone": PHONE},
    ],
)
def test_sms_requests_for_bad_numbers_or_purposes_are_validation_errors(client: ShopClient, body: dict) -> None:
    assert client.call("POST", "/auth/sms/send", body)[0] == 400


def test_the_profile_shows_a_masked_phone_and_takes_only_its_writable_fields(client: ShopClient) -> None:
    register_with_phone(client, "bob", PHONE)
    token = client.call("POST", "/auth/login", {"username": "bob", "password": "correct horse 1"})[1]["access_token"]

    status, updated, _ = client.call(
        "PATCH", "/me", {"nickname": "小明", "gender": "male", "birthday": "1995-05-01"}, token=token
    )
    rejected = [
        client.call("PATCH", "/me", body, token=token)[0]
        for body in ({"phone": "13900139000"}, {"roles": ["admin"]}, {"birthday": "2999-01-01"}, {"gender": "x"})
    ]

    assert status == 200
    assert (updated["nickname"], updated["gender"], updated["birthday"]) == ("小明", "male", "1995-05-01")
    assert updated["phone"] == "138****8000"
    assert updated["roles"] == ["customer"]
    assert "password_hash" not in updated
    assert rejected == [400, 400, 400, 400]


def test_a_password_change_needs_the_old_one_and_signs_out_every_session(client: ShopClient) -> None:
    session = sign_in(client)
    token = session["access_token"]

    wrong = client.call("PUT", "/me/password", {"old_password": "nope", "new_password": "another one 2"}, token=token)
    right = client.call(
        "PUT", "/me/password", {"old_password": "correct horse 1", "new_password": "another one 2"}, token=token
    )

    assert wrong[0] == 401
    assert right[0] == 204
    assert client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})[0] == 401
    assert client.call("POST", "/auth/login", {"username": "alice", "password": "another one 2"})[0] == 200


def test_a_phone_is_bound_with_a_code_and_never_to_two_accounts(client: ShopClient) -> None:
    alice = sign_in(client)["access_token"]
    bob = register_and_login(client, "bob")
    client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "bind"})

    status, bindings, _ = client.call(
        "POST", "/me/bindings/phone", {"phone": PHONE, "code": texted_code(client)}, token=alice
    )

    assert status == 200
    assert bindings["phone"] == "138****8000"
    assert bindings["password"] is True
    assert bindings["providers"]["wechat"]["bound"] is False
    DynamoSecurityRepository().clear_guard("sms-resend", PHONE)  # a minute later
    client.call("POST", "/auth/sms/send", {"phone": "+86" + PHONE, "purpose": "bind"})
    taken = client.call("POST", "/me/bindings/phone", {"phone": PHONE, "code": texted_code(client)}, token=bob)
    assert (taken[0], taken[1]["code"]) == (409, "CONFLICT")


def test_the_last_way_to_sign_in_cannot_be_unbound(client: ShopClient) -> None:
    client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "login"})
    token = client.call("POST", "/auth/sms/login", {"phone": PHONE, "code": texted_code(client)})[1]["access_token"]

    only_phone = client.call("DELETE", "/me/bindings/phone", token=token)
    DynamoSecurityRepository().clear_guard("sms-resend", PHONE)  # a minute later
    client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "set_password"})
    first_password = {"new_password": "now I have one 1", "sms_code": texted_code(client)}
    assert client.call("PUT", "/me/password", first_password, token=token)[0] == 204
    with_password = client.call("DELETE", "/me/bindings/phone", token=token)
    unknown = client.call("DELETE", "/me/bindings/myspace", token=token)
    unbound = client.call("DELETE", "/me/bindings/wechat", token=token)

    assert (only_phone[0], only_phone[1]["code"]) == (409, "INVALID_STATE")
    assert with_password[0] == 200
    assert with_password[1]["phone"] is None
    assert unknown[0] == 404
    assert unbound[0] == 404


def test_repeated_wrong_passwords_make_the_account_wait_then_it_recovers(client: ShopClient) -> None:
    sign_in(client)
    wrong = {"username": "alice", "password": "wrong password"}

    statuses = [client.call("POST", "/auth/login", wrong)[0] for _ in range(guards.LOGIN_FREE_FAILURES + 2)]
    blocked = client.call("POST", "/auth/login", {"username": "alice", "password": "correct horse 1"})

    assert statuses == [401] * (guards.LOGIN_FREE_FAILURES + 1) + [429]
    assert blocked[0] == 429
    assert 0 < blocked[1]["retry_after_seconds"] <= guards.LOGIN_BACKOFF_BASE_SECONDS


def test_personal_routes_need_a_token(client: ShopClient) -> None:
    for method, path in (("GET", "/me"), ("PATCH", "/me"), ("PUT", "/me/password"), ("GET", "/me/bindings")):
        status, body, _ = client.call(method, path, {})
        assert (status, body["code"]) == (401, "UNAUTHORIZED"), path
