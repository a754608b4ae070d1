"""The OpenAPI document is valid 3.1 and covers every route the app serves."""

from __future__ import annotations

from openapi_spec_validator import validate

from app import app
from tests.functional.conftest import ShopClient


def test_the_document_is_valid_openapi_3_1_and_covers_every_route(client: ShopClient) -> None:
    status, document, _ = client.call("GET", "/openapi.json")

    assert status == 200
    validate(document)
    assert document["openapi"].startswith("3.1")
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert served == documented


def test_protected_operations_declare_bearer_security_and_their_errors(client: ShopClient) -> None:
    document = client.call("GET", "/openapi.json")[1]

    create_product = document["paths"]["/admin/products"]["post"]
    assert create_product["security"] == [{"bearerAuth": []}]
    assert {"400", "401", "403", "201"} <= set(create_product["responses"])
    assert create_product["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProductWrite"
    }
    assert "security" not in document["paths"]["/products"]["get"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message", "request_id"]
