"""Every 4xx answers {code, message, request_id}; bad input never produces a 500."""

from __future__ import annotations

import pytest

from tests.functional.conftest import ShopClient


def assert_contract_error(status: int, body: dict, headers: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"]
    assert {k.lower(): v for k, v in headers.items()}.get("x-request-id", body["request_id"]) == body["request_id"]


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "an empty body"),
        (b'["a list"]', "a JSON list"),
        (b'{"username": 12, "password": "long enough"}', "a wrong type"),
        (b'{"username": "alice", "password": "long enough", "is_admin": true}', "an unknown field"),
        (b'{"username": "a", "password": "long enough"}', "a too short username"),
        (b'{"username": "alice", "password": "short"}', "a too short password"),
        (b'{"username": "alice", "password": "long enough", "phone": "12345"}', "a bad phone number"),
        ("\udcff".encode("utf-8", "surrogatepass"), "bytes that are not UTF-8"),
    ],
)
def test_registering_with_a_bad_body_is_a_validation_error(client: ShopClient, body: bytes, what: str) -> None:
    status, answer, headers = client.call("POST", "/auth/register", body)

    assert_contract_error(status, answer, headers, 400, "VALIDATION_ERROR")


def test_a_body_that_is_not_json_is_unsupported_media_type(client: ShopClient) -> None:
    status, body, headers = client.call("POST", "/auth/login", b"username=a", **{"content-type": "text/plain"})

    assert_contract_error(status, body, headers, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_over_one_megabyte_is_refused_before_anything_else(client: ShopClient) -> None:
    huge = b'{"username": "alice", "password": "' + b"x" * (1024 * 1024) + b'"}'

    status, body, headers = client.call("POST", "/auth/register", huge)

    assert_contract_error(status, body, headers, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "query", ["page_size=0", "page_size=101", "page_size=abc", "cursor=forged", "cursor=" + "A" * 60]
)
def test_bad_paging_parameters_are_validation_errors(client: ShopClient, query: str) -> None:
    status, body, headers = client.call("GET", f"/products?{query}")

    assert_contract_error(status, body, headers, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "path",
    ["/products/p_does_not_exist", "/products?category_id=c_nothing", "/no/such/route", "/products/%F0%9F%98%80"],
)
def test_unknown_ids_and_routes_are_not_found(client: ShopClient, path: str) -> None:
    status, body, headers = client.call("GET", path)

    assert_contract_error(status, body, headers, 404, "NOT_FOUND")


def test_a_wrong_method_is_method_not_allowed_and_says_what_is(client: ShopClient) -> None:
    status, body, headers = client.call("DELETE", "/health")

    assert_contract_error(status, body, headers, 405, "METHOD_NOT_ALLOWED")
    assert headers["Allow"] == "GET"


def test_a_protected_route_without_a_token_is_unauthorized_in_the_contract_shape(client: ShopClient) -> None:
    status, body, headers = client.call("POST", "/admin/brands", {"name": "华为"})

    assert_contract_error(status, body, headers, 401, "UNAUTHORIZED")
