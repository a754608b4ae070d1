"""HTTP routes of the catalog: public reads and admin writes."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.catalog import service
from chalicelib.catalog.events import SqsViewEvents
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.catalog.schemas import (
    Brand,
    BrandList,
    BrandWrite,
    Category,
    CategoryList,
    CategoryWrite,
    ProductDetail,
    ProductListQuery,
    ProductPage,
    ProductWrite,
    SkuStock,
    StockWrite,
)
from chalicelib.http import Principal, endpoint
from chalicelib.promotions import service as promotions

catalog_api = Blueprint(__name__)
repo = DynamoCatalogRepository()
views = SqsViewEvents()
TAGS = ("catalog",)
ADMIN_TAGS = ("admin",)


@endpoint(catalog_api, "/categories", summary="The category tree (two levels)", tags=TAGS, response=CategoryList)
def list_categories() -> dict[str, Any]:
    return service.list_categories(repo)


@endpoint(catalog_api, "/brands", summary="All brands", tags=TAGS, response=BrandList)
def list_brands() -> dict[str, Any]:
    return service.list_brands(repo)


@endpoint(catalog_api, "/products", summary="Products on sale, newest first, by category and/or brand", tags=TAGS,
          query=ProductListQuery, response=ProductPage, errors=(404,))  # fmt: skip
def list_products(query: ProductListQuery) -> dict[str, Any]:
    return service.list_products(repo, query)


@endpoint(catalog_api, "/products/{product_id}", summary="Product detail (a signed-in view leaves a footprint)",
          tags=TAGS, auth="optional", response=ProductDetail, errors=(404,))  # fmt: skip
def get_product(product_id: str, principal: Principal | None) -> dict[str, Any]:
    viewer = principal.user_id if principal else None
    return service.get_product(repo, product_id, views, viewer, promotions.effective_prices)


@endpoint(catalog_api, "/admin/categories", "POST", summary="Create a category", tags=ADMIN_TAGS, auth="admin",
          body=CategoryWrite, response=Category, status=201, errors=(409,))  # fmt: skip
def create_category(body: CategoryWrite) -> dict[str, Any]:
    return service.save_category(repo, body)


@endpoint(catalog_api, "/admin/categories/{category_id}", "PUT", summary="Rename or move a category",
          tags=ADMIN_TAGS, auth="admin", body=CategoryWrite, response=Category, errors=(404,))  # fmt: skip
def update_category(category_id: str, body: CategoryWrite) -> dict[str, Any]:
    return service.save_category(repo, body, category_id)


@endpoint(catalog_api, "/admin/brands", "POST", summary="Create a brand", tags=ADMIN_TAGS, auth="admin",
          body=BrandWrite, response=Brand, status=201, errors=(409,))  # fmt: skip
def create_brand(body: BrandWrite) -> dict[str, Any]:
    return service.save_brand(repo, body)


@endpoint(catalog_api, "/admin/brands/{brand_id}", "PUT", summary="Update a brand", tags=ADMIN_TAGS,
          auth="admin", body=BrandWrite, response=Brand, errors=(404,))  # fmt: skip
def update_brand(brand_id: str, body: BrandWrite) -> dict[str, Any]:
    return service.save_brand(repo, body, brand_id)


@endpoint(catalog_api, "/admin/products", "POST", summary="Create a product with its SKUs", tags=ADMIN_TAGS,
          auth="admin", body=ProductWrite, response=ProductDetail, status=201, errors=(409,))  # fmt: skip
def create_product(body: ProductWrite) -> dict[str, Any]:
    return service.save_product(repo, body)


@endpoint(catalog_api, "/admin/products/{product_id}", "PUT", summary="Replace a product (named SKUs keep stock)",
          tags=ADMIN_TAGS, auth="admin", body=ProductWrite, response=ProductDetail, errors=(404, 409))  # fmt: skip
def update_product(product_id: str, body: ProductWrite) -> dict[str, Any]:
    return service.save_product(repo, body, product_id)


@endpoint(catalog_api, "/admin/skus/{sku_id}/stock", "PATCH", summary="Set a SKU's stock", tags=ADMIN_TAGS,
          auth="admin", body=StockWrite, response=SkuStock, errors=(404,))  # fmt: skip
def set_stock(sku_id: str, body: StockWrite) -> dict[str, Any]:
    return service.set_stock(repo, sku_id, body.stock)
