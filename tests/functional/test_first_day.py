"""A deployed stage's first day, on moto: `make admin` creates or resets a staff admin with a one-time password, and
`make import-catalog` loads a catalog file through the catalog service, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import first_day
from tests.functional.catalog_data import product_body
from tests.functional.conftest import ShopClient


def printed_password(out: str) -> str:
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("one-time password: "))


def sign_in(client: ShopClient, username: str, password: str) -> tuple[int, Any]:
    status, body, _ = client.call("POST", "/auth/login", {"username": username, "password": password})
    return status, body


def test_make_admin_creates_a_staff_admin_and_a_second_run_resets_its_password(
    client: ShopClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stage with no admin  WHEN `make admin USERNAME=ops-li` runs
    assert first_day.main(["admin", "--stage", "local", "--username", "ops-li"]) == 0
    first = printed_password(capsys.readouterr().out)

    # THEN the printed password signs in, and the token opens the admin API
    status, body = sign_in(client, "ops-li", first)
    assert status == 200, body
    status, _, _ = client.call("GET", "/admin/inventory/low-stock", token=body["access_token"])
    assert status == 200

    # WHEN it runs again (a forgotten password)  THEN a new password works and the old one no longer does
    assert first_day.main(["admin", "--stage", "local", "--username", "ops-li"]) == 0
    second = printed_password(capsys.readouterr().out)
    assert second != first
    assert sign_in(client, "ops-li", second)[0] == 200
    assert sign_in(client, "ops-li", first)[0] == 401


def catalog_file(tmp_path: Path) -> Path:
    product = {**product_body("华为 Mate 70 Pro"), "product_id": "p_mate70"}
    product["skus"] = [{**sku, "sku_id": f"p_mate70-0{n}"} for n, sku in enumerate(product["skus"], start=1)]
    body = {
        "categories": [
            {"category_id": "c_phone", "name": "手机", "parent_id": "c_digital"},  # a leaf before its root
            {"category_id": "c_digital", "name": "手机数码", "parent_id": None},
        ],
        "brands": [{"brand_id": "b_huawei", "name": "华为"}],
        "products": [product],
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def test_make_import_catalog_loads_a_catalog_file_once(
    client: ShopClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a catalog file in the documented format
    path = catalog_file(tmp_path)

    # WHEN it is imported twice
    assert first_day.main(["import-catalog", "--stage", "local", "--file", str(path)]) == 0
    assert first_day.main(["import-catalog", "--stage", "local", "--file", str(path)]) == 0
    first, second = [json.loads(line)["created"] for line in capsys.readouterr().out.splitlines()]

    # THEN the first run created everything, the second nothing, and customers see the product with its SKUs
    assert first == {"categories": 2, "brands": 1, "products": 1}
    assert second == {"categories": 0, "brands": 0, "products": 0}
    status, product, _ = client.call("GET", "/products/p_mate70")
    assert status == 200, product
    assert product["title"] == "华为 Mate 70 Pro"
    assert [sku["sku_id"] for sku in product["skus"]] == ["p_mate70-01", "p_mate70-02"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "not JSON"),
        ('{"items": []}', "expected an object"),
        ('{"products": [{"title": "x", "skus": [{}]}]}', "product_id"),
    ],
)
def test_a_catalog_file_in_another_format_is_refused_with_what_is_wrong(
    client: ShopClient, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, says: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    assert first_day.main(["import-catalog", "--stage", "local", "--file", str(path)]) == 2

    assert says in capsys.readouterr().err


def test_the_demo_catalog_exports_in_the_import_format(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"

    counts = first_day.export_demo(path)

    catalog = first_day.read_catalog(path)
    assert counts["products"] >= 200 and len(catalog["products"]) == counts["products"]
    assert all(p["product_id"] and all(s["sku_id"] for s in p["skus"]) for p in catalog["products"])
