"""CORS and methods, through the same API Gateway stand-in as the local server: preflights on every route, the
stage's allow-list on every answer (the gateway's own 401/404 too), 405 with the error contract for other methods."""

from __future__ import annotations

import pytest

from chalicelib import cors
from tests.functional.conftest import ShopClient

ALLOWED = "http://127.0.0.1:5173"  # the local stage allows loopback origins on any port
STRANGER = "https://evil.example"
BROWSER_HEADERS = "authorization, content-type, idempotency-key, x-guest-cart, x-oauth-state-key"


def preflight(client: ShopClient, path: str, origin: str, method: str = "POST") -> tuple[int, object, dict[str, str]]:
    return client.call(
        "OPTIONS",
        path,
        origin=origin,
        **{"access-control-request-method": method, "access-control-request-headers": BROWSER_HEADERS},
    )


@pytest.mark.parametrize("path", ["/products", "/orders", "/me", "/admin/products/{product_id}", "/health"])
def test_a_preflight_from_an_allowed_origin_is_answered_on_public_and_protected_routes_alike(
    client: ShopClient, path: str
) -> None:
    status, _, headers = preflight(client, path.replace("{product_id}", "p_1"), ALLOWED)

    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert set(cors.ALLOWED_HEADERS) <= {h.strip() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= {
        m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")
    }
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in headers["Vary"]


def test_a_preflight_from_an_origin_outside_the_allow_list_is_refused_without_cors_headers(client: ShopClient) -> None:
    status, body, headers = preflight(client, "/orders", STRANGER)

    assert status == 403
    assert body["code"] == "FORBIDDEN" and body["request_id"]
    assert "Access-Control-Allow-Origin" not in headers


def test_an_answer_to_an_allowed_origin_lets_the_browser_read_it_and_its_request_id(client: ShopClient) -> None:
    status, _, headers = client.call("GET", "/health", origin=ALLOWED)

    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-Id" in headers["Access-Control-Expose-Headers"]
    assert headers["X-Request-Id"]


def test_an_answer_to_another_origin_carries_no_allow_origin(client: ShopClient) -> None:
    status, _, headers = client.call("GET", "/health", origin=STRANGER)

    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers
    assert headers["Vary"] == "Origin"


def test_the_gateways_own_401_carries_the_cors_headers(client: ShopClient) -> None:
    status, body, headers = client.call("GET", "/me", origin=ALLOWED)

    assert status == 401
    assert body["code"] == "UNAUTHORIZED"
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-Id" in headers["Access-Control-Expose-Headers"]


def test_the_gateways_own_404_for_an_unknown_path_carries_the_cors_headers(client: ShopClient) -> None:
    status, body, headers = client.call("GET", "/no/such/route", origin=ALLOWED)

    assert status == 404
    assert body["code"] == "NOT_FOUND"
    assert headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "CONNECT", "HEAD"])
def test_a_method_the_route_does_not_have_is_405_with_the_error_contract(client: ShopClient, method: str) -> None:
    status, body, headers = client.call(method, "/products", origin=ALLOWED)

    assert status == 405
    if method != "HEAD":
        assert body["code"] == "METHOD_NOT_ALLOWED" and body["request_id"]
    assert "GET" in headers["Allow"]
    assert headers["Access-Control-Allow-Origin"] == ALLOWED


def test_a_method_a_protected_route_does_not_have_is_405_before_any_token_is_asked(client: ShopClient) -> None:
    status, body, _ = client.call("PUT", "/orders")

    assert status == 405
    assert body["code"] == "METHOD_NOT_ALLOWED"


def test_the_allow_list_reads_exact_origins_any_port_patterns_and_a_wildcard() -> None:
    allowed = cors.parse_origins("https://shop.example.com, http://127.0.0.1:*/", "dev")

    assert allowed == ("https://shop.example.com", "http://127.0.0.1:*")
    assert cors.origin_allowed("https://shop.example.com", allowed)
    assert cors.origin_allowed("http://127.0.0.1:8080", allowed)
    assert not cors.origin_allowed("http://127.0.0.1:80x", allowed)
    assert not cors.origin_allowed("http://127.0.0.1.evil.example:80", allowed)
    assert not cors.origin_allowed("https://shop.example.com.evil.example", allowed)
    assert cors.origin_allowed("https://any.example", ("*",))
    assert cors.parse_origins(None, "prod") == ()
    assert cors.parse_origins(None, "local") == cors.LOCAL_DEFAULT_ORIGINS
