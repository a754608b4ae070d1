"""The API reference a client developer opens: GET /docs over /openapi.json, with every file served by the app."""

from __future__ import annotations

import re

from tests.functional.conftest import ShopClient


def test_the_reference_page_is_utf8_html_whose_scripts_and_styles_all_come_from_the_app(client: ShopClient) -> None:
    status, raw, headers = client.call("GET", "/docs")
    page = raw.decode("utf-8")

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'url: "openapi.json"' in page
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page))  # nothing from another origin
    loaded = re.findall(r'(?:src|href)="docs/([^"]+)"', page)
    assert sorted(loaded) == ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]
    for name in loaded:
        status, body, headers = client.call("GET", f"/docs/{name}")
        assert status == 200, name
        assert headers["Content-Type"].endswith("; charset=utf-8")
        assert len(body) > 1000
    assert b"SwaggerUIBundle" in client.call("GET", "/docs/swagger-ui-bundle.js")[1]


def test_only_the_pages_own_files_are_served(client: ShopClient) -> None:
    for name in ("index.html", "swagger-ui.js.map", "..%2F..%2Fapp.py", "nothing.js"):
        status, body, _ = client.call("GET", f"/docs/{name}")
        assert (status, body["code"]) == (404, "NOT_FOUND"), name


def test_the_document_names_the_base_url_it_was_asked_at_and_describes_every_operation(client: ShopClient) -> None:
    _, local, _ = client.call("GET", "/openapi.json", Host="127.0.0.1:8000")
    _, deployed, _ = client.call("GET", "/openapi.json", Host="abc.execute-api.cn-north-1.amazonaws.com.cn")

    assert local["servers"] == [{"url": "http://127.0.0.1:8000"}]
    assert deployed["servers"] == [{"url": "https://abc.execute-api.cn-north-1.amazonaws.com.cn"}]
    operations = [op for methods in local["paths"].values() for op in methods.values()]
    assert len(operations) > 100
    assert all(op["description"].startswith(op["summary"]) for op in operations)
    place = local["paths"]["/orders"]["post"]["description"]
    assert "Idempotency-Key" in place and "signed-in customer" in place
    assert "Paged" in local["paths"]["/admin/products"]["get"]["description"]


def test_the_code_package_ships_the_files_the_reference_page_serves_and_none_of_the_rest() -> None:
    from chalicelib.ops.reference import ASSETS
    from infra.package import shipped_in_code

    vendor = "swagger_ui_bundle/vendor/swagger-ui-5.31.0/"

    assert all(shipped_in_code(vendor + name) for name in ASSETS)
    assert not any(
        shipped_in_code(vendor + name)
        for name in ("swagger-ui-bundle.js.map", "swagger-ui-es-bundle.js", "swagger-ui.js", "index.html")
    )
    assert shipped_in_code("swagger_ui_bundle/__init__.py") and shipped_in_code("botocore/data/endpoints.json")
