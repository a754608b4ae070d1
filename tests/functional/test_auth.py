"""Registration, password sign-in, the custom authorizer and roles, through the HTTP API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib.accounts import tokens
from chalicelib.accounts.security_repository import DynamoSecurityRepository
from chalicelib.keys import jwt_secret
from tests.functional.conftest import ShopClient, register_with_phone


def test_a_registered_user_signs_in_and_gets_tokens_and_roles(client: ShopClient) -> None:
    status, registered = register_with_phone(client, "alice", "+8613800138000")
    assert status == 201

    status, session, _ = client.call("POST", "/auth/login", {"phone": "13800138000", "password": "correct horse 1"})

    assert status == 200
    assert session["user"] == {"user_id": registered["user_id"], "username": "alice", "roles": ["customer"]}
    assert session["expires_in"] == 900
    assert session["access_token"] and session["refresh_token"]


def test_registering_answers_a_sign_in_whose_tokens_work_at_once(client: ShopClient) -> None:
    status, registered, _ = client.call("POST", "/auth/register", {"username": "carol", "password": "correct horse 1"})

    assert status == 201, registered
    assert {"user_id", "access_token", "refresh_token", "expires_in", "user"} <= set(registered)
    assert registered["user"] == {"user_id": registered["user_id"], "username": "carol", "roles": ["customer"]}
    me = client.call("GET", "/me", token=registered["access_token"])
    refreshed = client.call("POST", "/auth/refresh", {"refresh_token": registered["refresh_token"]})
    assert (me[0], me[1]["user_id"]) == (200, registered["user_id"])
    assert refreshed[0] == 200 and refreshed[1]["user"]["user_id"] == registered["user_id"]


def test_a_taken_username_or_phone_is_a_conflict(client: ShopClient) -> None:
    register_with_phone(client, "alice", "13800138000")
    DynamoSecurityRepository().clear_guard("sms-resend", "13800138000")  # a minute later

    by_name = client.call("POST", "/auth/register", {"username": "Alice", "password": "correct horse 1"})
    by_phone = register_with_phone(client, "bob", "+8613800138000")

    assert (by_name[0], by_name[1]["code"]) == (409, "CONFLICT")
    assert (by_phone[0], by_phone[1]["code"]) == (409, "CONFLICT")
    assert client.call("POST", "/auth/login", {"username": "bob", "password": "correct horse 1"})[0] == 401


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong password"},
        {"username": "nobody", "password": "correct horse 1"},
        {"phone": "13900139000", "password": "correct horse 1"},
    ],
)
def test_wrong_credentials_are_unauthorized(client: ShopClient, credentials: dict[str, str]) -> None:
    client.call("POST", "/auth/register", {"username": "alice", "password": "correct horse 1"})

    status, body, _ = client.call("POST", "/auth/login", credentials)

    assert (status, body["code"]) == (401, "UNAUTHORIZED")


def test_signing_in_needs_exactly_one_of_username_and_phone(client: ShopClient) -> None:
    both = {"username": "alice", "phone": "13800138000", "password": "x"}
    assert client.call("POST", "/auth/login", both)[0] == 400
    assert client.call("POST", "/auth/login", {"password": "x"})[0] == 400


def test_a_customer_is_forbidden_on_admin_routes_and_the_admin_is_not(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    as_customer = client.call("POST", "/admin/brands", {"name": "华为"}, token=customer_token)
    as_admin = client.call("POST", "/admin/brands", {"name": "华为"}, token=admin_token)

    assert (as_customer[0], as_customer[1]["code"]) == (403, "FORBIDDEN")
    assert as_admin[0] == 201


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _bad_tokens(customer_token: str) -> dict[str, str]:
    now = datetime.now(UTC)
    claims = jwt.decode(customer_token, options={"verify_signature": False})
    admin_claims = {**claims, "roles": ["customer", "admin"]}
    header, _payload, signature = customer_token.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps(admin_claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return {
        "alg none": f"{none_header}.{forged_payload}.",
        "wrong key": jwt.encode(admin_claims, "a-different-secret-0123456789abcdef", algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": _unix(now - timedelta(hours=2)), "exp": _unix(now - timedelta(hours=1))},
            jwt_secret(),
            algorithm=tokens.ALGORITHM,
        ),
        "tampered claims": f"{header}.{forged_payload}.{signature}",
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("kind", ["alg none", "wrong key", "expired", "tampered claims", "garbage"])
def test_a_bad_token_is_rejected_by_the_authorizer(client: ShopClient, customer_token: str, kind: str) -> None:
    token = _bad_tokens(customer_token)[kind]

    status, body, _ = client.call("POST", "/admin/brands", {"name": "华为"}, token=token)

    assert (status, body["code"]) == (401, "UNAUTHORIZED")


def test_a_token_sent_without_the_bearer_scheme_is_rejected(client: ShopClient, admin_token: str) -> None:
    status, _body, _ = client.call("POST", "/admin/brands", {"name": "华为"}, authorization=admin_token)

    assert status == 401
