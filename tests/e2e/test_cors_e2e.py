"""The real local server answers browsers as the deployed API does: preflights, CORS headers, 405 for other methods."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.xdist_group("e2e")

ORIGIN = "http://localhost:5173"  # a storefront dev server on another port


def test_a_browser_preflight_for_placing_an_order_is_allowed(http: requests.Session, base_url: str) -> None:
    response = http.options(
        f"{base_url}/orders",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
        timeout=10,
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_an_unauthorized_answer_is_readable_by_the_browser(http: requests.Session, base_url: str) -> None:
    response = http.get(f"{base_url}/me", headers={"Origin": ORIGIN}, timeout=10)

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("method", ["TRACE", "PATCH"])
def test_a_method_the_route_does_not_have_is_a_contract_shaped_405(
    http: requests.Session, base_url: str, method: str
) -> None:
    response = http.request(method, f"{base_url}/products", timeout=10)

    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "METHOD_NOT_ALLOWED" and body["request_id"]
    assert "GET" in response.headers["Allow"]
