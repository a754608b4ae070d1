"""The real local server, as `make run` starts it: health, OpenAPI, seeded catalog, admin login, error contract."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN_PASSWORD, LocalServer, login

pytestmark = pytest.mark.xdist_group("e2e")


def get(http: requests.Session, url: str, **kwargs: Any) -> requests.Response:
    return http.get(url, timeout=10, **kwargs)


def assert_error_contract(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["request_id"], str) and body["request_id"]


def test_the_server_starts_and_says_where_it_is(local_server: LocalServer) -> None:
    # How fast it starts is bench/startup.py's figure (alone on the machine): here it starts beside another worker.
    printed = "".join(local_server.output)
    assert local_server.base_url.startswith("http://127.0.0.1:")
    assert f"{local_server.base_url}/health" in printed
    assert f"{local_server.base_url}/openapi.json" in printed
    assert "admin" in printed and ADMIN_PASSWORD in printed
    assert "PAYMENT_TIMEOUT_SECONDS" in printed and "AUTO_RECEIVE_SECONDS" in printed


def test_health_answers_ok(http: requests.Session, base_url: str) -> None:
    response = get(http, f"{base_url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_openapi_document_is_served(http: requests.Session, base_url: str) -> None:
    response = get(http, f"{base_url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/products/{product_id}" in document["paths"]
    assert "/health" in document["paths"]


def test_the_demo_catalog_has_at_least_ten_root_categories(http: requests.Session, base_url: str) -> None:
    response = get(http, f"{base_url}/categories")
    assert response.status_code == 200
    roots = [c for c in response.json()["items"] if not c.get("parent_id")]
    assert len(roots) >= 10
    assert all(c["category_id"] and c["name"] for c in roots)


def test_the_product_list_pages_through_at_least_200_products(http: requests.Session, base_url: str) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"page_size": 50}
        if cursor:
            params["cursor"] = cursor
        response = get(http, f"{base_url}/products", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 50
        seen += [item["product_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert cursor is None, "the cursor never ran out"
    assert len(seen) >= 200
    assert len(set(seen)) == len(seen), "a product appeared on two pages"


def test_a_product_detail_shows_its_skus(http: requests.Session, base_url: str) -> None:
    first = get(http, f"{base_url}/products", params={"page_size": 1}).json()["items"][0]
    response = get(http, f"{base_url}/products/{first['product_id']}")
    assert response.status_code == 200
    product = response.json()
    assert product["product_id"] == first["product_id"]
    assert product["title"] == first["title"]
    assert product["skus"] and all(isinstance(sku["price_fen"], int) for sku in product["skus"])


def test_the_admin_logs_in_with_the_configured_password(http: requests.Session, base_url: str) -> None:
    tokens = login(http, base_url, "admin", ADMIN_PASSWORD)
    assert tokens["access_token"]
    assert "admin" in tokens["user"]["roles"]


def test_a_wrong_admin_password_is_refused(http: requests.Session, base_url: str) -> None:
    response = http.post(f"{base_url}/auth/login", json={"username": "admin", "password": "wrong-password"}, timeout=10)
    assert_error_contract(response, 401, "UNAUTHORIZED")


def test_an_unknown_product_is_a_contract_shaped_404(http: requests.Session, base_url: str) -> None:
    assert_error_contract(get(http, f"{base_url}/products/no-such-product"), 404, "NOT_FOUND")


def test_an_unknown_route_is_a_contract_shaped_404(http: requests.Session, base_url: str) -> None:
    assert_error_contract(get(http, f"{base_url}/no/such/route"), 404, "NOT_FOUND")


def test_a_protected_route_without_a_token_is_a_contract_shaped_401(http: requests.Session, base_url: str) -> None:
    response = http.post(f"{base_url}/admin/categories", json={"name": "x"}, timeout=10)
    assert_error_contract(response, 401, "UNAUTHORIZED")


def test_a_customer_token_is_not_enough_for_admin_routes(
    http: requests.Session, base_url: str, customer_token: str
) -> None:
    response = http.post(
        f"{base_url}/admin/categories",
        json={"name": "x"},
        headers={"Authorization": f"Bearer {customer_token}"},
        timeout=10,
    )
    assert_error_contract(response, 403, "FORBIDDEN")


def test_a_product_view_reaches_the_view_counter_through_the_queue(http: requests.Session, base_url: str) -> None:
    # GIVEN a product and its current view count
    product_id = get(http, f"{base_url}/products", params={"page_size": 3}).json()["items"][2]["product_id"]
    before = get(http, f"{base_url}/products/{product_id}").json()["view_count"]

    # WHEN the view message has gone through SQS to the count_product_views handler (batching window: 10 s)
    deadline = time.monotonic() + 30
    count = before
    while count <= before and time.monotonic() < deadline:
        time.sleep(1)
        count = get(http, f"{base_url}/products/{product_id}").json()["view_count"]

    # THEN the counter moved
    assert count > before
