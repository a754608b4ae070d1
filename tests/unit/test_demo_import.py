"""The demo catalog passes the same rules as an admin's writes, and importing it twice creates nothing new."""

from __future__ import annotations

from chalicelib.catalog import service
from chalicelib.catalog.schemas import BrandWrite, CategoryWrite, ProductListQuery
from local.demo import catalog as demo_catalog
from tests.unit.fakes import FakeCatalogRepository


def test_the_demo_catalog_imports_under_the_admin_rules_exactly_once() -> None:
    service.category_tree.forget()
    repo = FakeCatalogRepository()
    for category in sorted(demo_catalog.categories(), key=lambda c: c["parent_id"] is not None):
        service.save_category(repo, CategoryWrite.model_validate(category))
    for brand in demo_catalog.brands():
        service.save_brand(repo, BrandWrite.model_validate(brand))

    first = service.import_products(repo, demo_catalog.products())
    second = service.import_products(repo, demo_catalog.products())

    assert (first, second) == (len(demo_catalog.products()), 0)
    phones = service.list_products(repo, ProductListQuery(category_id="c_phone", page_size=100))["items"]
    assert len(phones) >= 12
    detail = service.get_product(repo, phones[0]["product_id"])
    assert detail["skus"]
    assert detail["price_fen"] == min(sku["price_fen"] for sku in detail["skus"])
