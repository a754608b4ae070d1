"""HTTP routes of the catalog: public reads and admin writes."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.catalog import service
from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.schemas import (
    AdminProductPage,
    AdminProductQuery,
    Brand,
    BrandList,
    BrandWrite,
    Category,
    CategoryList,
    CategoryTree,
    CategoryWrite,
    ProductDetail,
    ProductListQuery,
    ProductPage,
    ProductWrite,
    SkuStock,
    StockWrite,
)
from chalicelib.catalog.service import MemberPricing, PriceSource, ViewEvents
from chalicelib.routes import Json, Routes

catalog_api = Routes(__name__, tags=("catalog",), admin_tags=("admin",))


@catalog_api.get("/categories")
def list_categories(catalog: CatalogRepository) -> Json[CategoryList]:
    """The category tree (two levels)"""
    return service.list_categories(catalog)


@catalog_api.get("/categories/tree")
def category_tree(catalog: CatalogRepository) -> Json[CategoryTree]:
    """The category tree, nested"""
    return service.category_tree_of(catalog)


@catalog_api.get("/brands")
def list_brands(catalog: CatalogRepository) -> Json[BrandList]:
    """All brands"""
    return service.list_brands(catalog)


@catalog_api.get("/products", errors=(404,))
def list_products(query: ProductListQuery, catalog: CatalogRepository) -> Json[ProductPage]:
    """Products on sale, newest first, by category and/or brand"""
    return service.list_products(catalog, query)


@catalog_api.get("/products/{product_id}", errors=(404,))
def get_product(
    product_id: str,
    principal: Principal | None,
    catalog: CatalogRepository,
    product_views: ViewEvents,
    prices_today: PriceSource,
    member_pricing: MemberPricing,
) -> Json[ProductDetail]:
    """Product detail, with member prices (a signed-in view leaves a footprint)"""
    viewer = principal.user_id if principal else None
    return service.get_product(catalog, product_id, product_views, viewer, prices_today, member_pricing)


@catalog_api.post("/admin/categories", status=201, errors=(409,), roles=("operator",))
def create_category(body: CategoryWrite, catalog: CatalogRepository) -> Json[Category]:
    """Create a category"""
    return service.save_category(catalog, body)


@catalog_api.put("/admin/categories/{category_id}", errors=(404,), roles=("operator",))
def update_category(category_id: str, body: CategoryWrite, catalog: CatalogRepository) -> Json[Category]:
    """Rename or move a category"""
    return service.save_category(catalog, body, category_id)


@catalog_api.post("/admin/brands", status=201, errors=(409,), roles=("operator",))
def create_brand(body: BrandWrite, catalog: CatalogRepository) -> Json[Brand]:
    """Create a brand"""
    return service.save_brand(catalog, body)


@catalog_api.put("/admin/brands/{brand_id}", errors=(404,), roles=("operator",))
def update_brand(brand_id: str, body: BrandWrite, catalog: CatalogRepository) -> Json[Brand]:
    """Update a brand"""
    return service.save_brand(catalog, body, brand_id)


@catalog_api.get("/admin/products", errors=(404,), roles=("operator",))
def list_staff_products(query: AdminProductQuery, catalog: CatalogRepository) -> Json[AdminProductPage]:
    """Every product for staff, newest first, by status, category and title"""
    return service.list_staff_products(catalog, query)


@catalog_api.delete("/admin/products/{product_id}", status=204, errors=(404, 409), roles=("operator",))
def archive_product(product_id: str, catalog: CatalogRepository) -> None:
    """Archive a product: off the shop for good, kept in orders"""
    service.archive_product(catalog, product_id)


@catalog_api.post("/admin/products", status=201, errors=(409,), roles=("operator",))
def create_product(body: ProductWrite, catalog: CatalogRepository) -> Json[ProductDetail]:
    """Create a product with its SKUs"""
    return service.save_product(catalog, body)


@catalog_api.put("/admin/products/{product_id}", errors=(404, 409), roles=("operator",))
def update_product(product_id: str, body: ProductWrite, catalog: CatalogRepository) -> Json[ProductDetail]:
    """Replace a product (named SKUs keep stock)"""
    return service.save_product(catalog, body, product_id)


@catalog_api.patch("/admin/skus/{sku_id}/stock", errors=(404,), roles=("operator",))
def set_stock(sku_id: str, body: StockWrite, catalog: CatalogRepository) -> Json[SkuStock]:
    """Set a SKU's stock"""
    return service.set_stock(catalog, sku_id, body.stock)
