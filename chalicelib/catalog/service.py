"""Catalog rules: the category tree, listings, product detail, admin writes, stock and view counts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from chalicelib.catalog.models import PRODUCT_STATUSES
from chalicelib.catalog.repository import CatalogRepository, ListingBy
from chalicelib.catalog.schemas import AdminProductQuery, BrandWrite, CategoryWrite, ProductListQuery, ProductWrite
from chalicelib.clock import now_iso
from chalicelib.errors import InvalidState, NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.pagination import decode_cursor, encode_cursor, page

TREE_TTL_SECONDS = 60.0


class ViewEvents(Protocol):
    """Where product views go, to be counted off the request path."""

    def product_viewed(self, product_id: str, user_id: str | None) -> None: ...


class Footprints(Protocol):
    """Where signed-in viewers' footprints go (the personal center answers it)."""

    def record(self, views: list[tuple[str, str, str]]) -> int:
        """(user_id, product_id, viewed_at) each; how many were recorded."""


class CategoryTree:
    """The category tree, read with one Query and kept for a minute per warm container (it changes rarely), with
    each category's root made once per read."""

    def __init__(self) -> None:
        self._categories: dict[str, dict[str, Any]] | None = None
        self._roots: dict[str, str] = {}
        self._read_at = 0.0

    def get(self, repo: CatalogRepository) -> dict[str, dict[str, Any]]:
        if self._categories is None or time.monotonic() - self._read_at > TREE_TTL_SECONDS:
            categories = {c["category_id"]: c for c in repo.categories()}
            self._roots = {c["category_id"]: c["parent_id"] or c["category_id"] for c in categories.values()}
            self._categories = categories
            self._read_at = time.monotonic()
        return self._categories

    def roots(self, repo: CatalogRepository) -> Mapping[str, str]:
        """Category id -> its root (a root maps to itself), of the tree `get` hands out."""
        self.get(repo)
        return self._roots

    def forget(self) -> None:
        self._categories = None


category_tree = CategoryTree()


def _ordered(categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(categories, key=lambda c: (c["parent_id"] is not None, c["sort_order"], c["category_id"]))


def list_categories(repo: CatalogRepository) -> dict[str, Any]:
    return {"items": _ordered(list(category_tree.get(repo).values()))}


def category_tree_of(repo: CatalogRepository) -> dict[str, Any]:
    """The categories as a tree, each once: a category whose parent is gone shows at the top rather than nowhere."""
    categories = _ordered(list(category_tree.get(repo).values()))
    nodes = {c["category_id"]: {"category_id": c["category_id"], "name": c["name"], "children": []} for c in categories}
    roots: list[dict[str, Any]] = []
    for category in categories:
        parent = nodes.get(category["parent_id"]) if category["parent_id"] else None
        (parent["children"] if parent is not None else roots).append(nodes[category["category_id"]])
    return {"items": roots}


def list_brands(repo: CatalogRepository) -> dict[str, Any]:
    return {"items": sorted(repo.brands(), key=lambda b: b["brand_id"])}


def save_category(repo: CatalogRepository, write: CategoryWrite, category_id: str | None = None) -> dict[str, Any]:
    create = category_id is None
    if category_id is not None:
        _check_move(repo, category_id, write.parent_id)
    category_id = category_id or write.category_id or new_id("c")
    if write.parent_id is not None:
        parent = category_tree.get(repo).get(write.parent_id) or _fresh(repo).get(write.parent_id)
        if parent is None:
            raise ValidationError(
                "No such parent category", errors=[{"field": "parent_id", "message": "No category has this id."}]
            )
        if parent["parent_id"] is not None or write.parent_id == category_id:
            raise ValidationError("Categories are two levels deep: the parent must be a root category")
    category = {
        "category_id": category_id,
        "name": write.name,
        "parent_id": write.parent_id,
        "sort_order": write.sort_order,
    }
    repo.save_category(category, create=create)
    category_tree.forget()
    return category


def _check_move(repo: CatalogRepository, category_id: str, new_parent_id: str | None) -> None:
    """A category may change parent only while nothing hangs under it (products keep their root id)."""
    current = _fresh(repo).get(category_id)
    if current is None:
        raise NotFound("No such category")
    if current["parent_id"] == new_parent_id:
        return
    has_children = any(c["parent_id"] == category_id for c in category_tree.get(repo).values())
    if has_children or repo.has_products(category_id):
        raise InvalidState("Move or delete what is in this category before changing its parent")


def save_brand(repo: CatalogRepository, write: BrandWrite, brand_id: str | None = None) -> dict[str, Any]:
    create = brand_id is None
    brand = {"brand_id": brand_id or write.brand_id or new_id("b"), "name": write.name, "logo_url": write.logo_url}
    repo.save_brand(brand, create=create)
    return brand


def _fresh(repo: CatalogRepository) -> dict[str, dict[str, Any]]:
    category_tree.forget()
    return category_tree.get(repo)


def summary(product: dict[str, Any]) -> dict[str, Any]:
    """The product card every list shows."""
    return {
        "product_id": product["product_id"],
        "title": product["title"],
        "price_fen": product["price_fen"],
        "image_url": product["images"][0] if product["images"] else None,
        "sales": product["sales"],
        "rating_avg": product["rating_avg"],
        "category_id": product["category_id"],
        "brand_id": product["brand_id"],
    }


def list_products(repo: CatalogRepository, query: ProductListQuery) -> dict[str, Any]:
    by: ListingBy = "all"
    key: str | None = None
    if query.category_id:
        category = category_tree.get(repo).get(query.category_id)
        if category is None:
            raise NotFound("No such category")
        by, key = ("category" if category["parent_id"] else "root_category"), query.category_id
    elif query.brand_id:
        by, key = "brand", query.brand_id
    scope = f"products|{query.category_id or ''}|{query.brand_id or ''}"
    items, last_key = repo.list_products(by, key, query.brand_id, query.page_size, decode_cursor(query.cursor, scope))
    return page([summary(p) for p in items], encode_cursor(last_key, scope))


class PriceSource(Protocol):
    """Today's price of each SKU given its list price (the promotions context answers it)."""

    def __call__(
        self, sku_ids: Iterable[str], *, list_prices: Mapping[str, int]
    ) -> dict[str, tuple[int, str | None]]: ...


class MemberPricing(Protocol):
    """Member prices of SKUs (the members club answers it)."""

    def __call__(
        self, viewer: str | None, skus: list[dict[str, Any]]
    ) -> dict[str, tuple[int | None, list[dict[str, Any]]]]:
        """sku_id -> (the viewer's member price, None when anonymous or not below price_fen; the price at every
        level [{level, name, price_fen}]) for SKU records whose price_fen is today's price."""


def get_product(
    repo: CatalogRepository,
    product_id: str,
    views: ViewEvents | None = None,
    viewer: str | None = None,
    prices: PriceSource | None = None,
    member_pricing: MemberPricing | None = None,
) -> dict[str, Any]:
    """Product detail; a view event (with the signed-in viewer, for footprints) goes out when `views` is given,
    SKU prices are today's effective ones (promotional prices) when a price source is given, and the member prices
    (the viewer's and every level's) when member pricing is."""
    found = repo.product_with_skus(product_id)
    if found is None or found[0].get("archived"):
        raise NotFound("No such product")
    product, skus = found
    if views is not None:
        views.product_viewed(product_id, viewer)
    detail = {k: v for k, v in product.items() if k not in ("root_category_id", "version", "archived", "status")}
    list_prices = {sku["sku_id"]: sku["price_fen"] for sku in skus}
    effective = prices(list_prices, list_prices=list_prices) if prices is not None else {}
    detail["skus"] = [
        {
            "sku_id": sku["sku_id"],
            "attributes": sku["attributes"],
            "price_fen": effective.get(sku["sku_id"], (sku["price_fen"], None))[0],
            "list_price_fen": sku["price_fen"],
            "promotion_id": effective.get(sku["sku_id"], (sku["price_fen"], None))[1],
            "stock": sku["stock"],
            "available": sku["stock"] > 0 and product["on_sale"],
            "weight_g": sku.get("weight_g"),
        }
        for sku in sorted(skus, key=lambda s: s["sku_id"])
    ]
    by_id = {sku["sku_id"]: sku for sku in skus}
    today = [{**by_id[view["sku_id"]], "price_fen": view["price_fen"]} for view in detail["skus"]]
    members = member_pricing(viewer, today) if member_pricing is not None else {}
    for view in detail["skus"]:
        view["member_price_fen"], view["member_prices"] = members.get(view["sku_id"], (None, []))
    if detail["skus"]:
        detail["price_fen"] = min(sku["price_fen"] for sku in detail["skus"])
    return detail


def _leaf_category(repo: CatalogRepository, category_id: str) -> dict[str, Any]:
    category = category_tree.get(repo).get(category_id) or _fresh(repo).get(category_id)
    if category is None or category["parent_id"] is None:
        raise ValidationError(
            "category_id must name a leaf category",
            errors=[
                {
                    "field": "category_id",
                    "message": f"{category_id} is not a leaf category: choose a category with no children.",
                }
            ],
        )
    return category


def _product_record(
    product_id: str,
    write: ProductWrite,
    category: dict[str, Any],
    skus: list[dict[str, Any]],
    created_at: str,
    version: int,
    counters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored form of a product; counters are only written on creation (updates leave them to their owners)."""
    return {
        "product_id": product_id,
        **write.model_dump(exclude={"skus"}),
        "root_category_id": category["parent_id"],
        "price_fen": min(s["price_fen"] for s in skus),
        "sales": 0,
        "rating_avg": 0.0,
        "review_count": 0,
        "view_count": 0,
        "favorite_count": 0,
        **(counters or {}),
        "created_at": created_at,
        "updated_at": created_at if version == 1 else now_iso(),
        "version": version,
    }


def save_product(repo: CatalogRepository, write: ProductWrite, product_id: str | None = None) -> dict[str, Any]:
    """Create (product_id None) or replace a product; SKUs named by id keep their stock, absent ones go."""
    category = _leaf_category(repo, write.category_id)
    if write.brand_id not in {b["brand_id"] for b in repo.brands()}:
        raise ValidationError("No such brand", errors=[{"field": "brand_id", "message": "No brand has this id."}])
    existing_skus: dict[str, dict[str, Any]] = {}
    create, previous_template_id = product_id is None, None
    if product_id is None:
        product_id, created_at, version = new_id("p"), now_iso(), 1
    else:
        found = repo.product_with_skus(product_id)
        if found is None:
            raise NotFound("No such product")
        current, current_skus = found
        if current.get("archived"):
            raise InvalidState("This product is archived: it can no longer be edited")
        created_at, version = current["created_at"], current["version"] + 1
        previous_template_id = current.get("freight_template_id")
        existing_skus = {sku["sku_id"]: sku for sku in current_skus}
    unknown = [s.sku_id for s in write.skus if s.sku_id and s.sku_id not in existing_skus]
    if unknown:
        raise ValidationError(
            "Unknown sku_id for this product",
            errors=[{"field": "skus", "message": f"This product has no SKU {', '.join(unknown)}."}],
        )
    next_number = 1 + max(
        (int(sid.rsplit("-", 1)[1]) for sid in existing_skus if sid.rsplit("-", 1)[1].isdigit()), default=0
    )
    skus = []
    for sku in write.skus:
        if sku.sku_id:
            sku_id, existing = sku.sku_id, True
        else:
            sku_id, existing, next_number = f"{product_id}-{next_number:02d}", False, next_number + 1
        skus.append({**sku.model_dump(), "sku_id": sku_id, "existing": existing})
    product = _product_record(product_id, write, category, skus, created_at, version)
    removed = [sid for sid in existing_skus if sid not in {s["sku_id"] for s in skus}]
    repo.save_product(product, skus, removed, create=create, previous_template_id=previous_template_id)
    return get_product(repo, product_id)


def list_staff_products(repo: CatalogRepository, query: AdminProductQuery) -> dict[str, Any]:
    """Every product whatever its status, newest first, for staff: filtered by status, category and title."""
    category_ids: list[str] = []
    if query.category_id:
        tree = category_tree.get(repo)
        if query.category_id not in tree:
            raise NotFound("No such category")
        category_ids = [query.category_id, *(c for c, v in tree.items() if v["parent_id"] == query.category_id)]
    statuses = (query.status,) if query.status else PRODUCT_STATUSES
    title_has = (query.q or "").strip() or None
    scope = f"admin-products|{query.status or ''}|{query.category_id or ''}|{title_has or ''}"
    ids, position = repo.staff_listing(
        statuses, category_ids, title_has, query.page_size, decode_cursor(query.cursor, scope)
    )
    rows = []
    for product_id in ids:
        found = repo.product_with_skus(product_id)
        if found is None:  # deleted between the listing and this read
            continue
        product, skus = found
        rows.append(
            {
                **{k: product[k] for k in ("product_id", "title", "status", "category_id", "brand_id", "sales")},
                "price_fen": min((s["price_fen"] for s in skus), default=product["price_fen"]),
                "stock": sum(s["stock"] for s in skus),
                "updated_at": product["updated_at"],
            }
        )
    return page(rows, encode_cursor(position, scope))


def archive_product(repo: CatalogRepository, product_id: str) -> None:
    """Take a product off the shop for good (it stays readable in orders); archiving twice is archiving once."""
    found = repo.product_with_skus(product_id)
    if found is None:
        raise NotFound("No such product")
    product, skus = found
    if not product.get("archived"):
        repo.archive_product(product, [sku["sku_id"] for sku in skus], now_iso())


def set_stock(repo: CatalogRepository, sku_id: str, stock: int) -> dict[str, Any]:
    sku = repo.set_stock(sku_id, stock, now_iso())
    if sku is None:
        raise NotFound("No such SKU")
    return {"sku_id": sku_id, "product_id": sku["product_id"], "stock": sku["stock"], "available": sku["stock"] > 0}


def record_views(repo: CatalogRepository, product_ids: list[str]) -> dict[str, int]:
    """Fold a batch of view events into one counter update per product."""
    counts = dict(Counter(product_ids))
    repo.add_view_counts(counts)
    return counts


def import_products(repo: CatalogRepository, records: list[dict[str, Any]]) -> int:
    """Create products with the ids and dates they already have (data import, demo seed), in batches.

    Products that exist already are left alone; returns how many were created. Each record is validated by the
    same rules as an admin's write. Batch writes, not a transaction per product: a bulk load has nobody to race
    with, and a transaction per product costs a table copy each on moto.
    """
    fresh = []
    existing = repo.products_by_ids([record["product_id"] for record in records])  # batched, not one read each
    for record in records:
        threshold = {"low_stock_threshold": record.get("low_stock_threshold", 10)}
        write = ProductWrite.model_validate(
            {k: v for k, v in record.items() if k in ProductWrite.model_fields and k != "skus"}
            | {"skus": [threshold | {k: v for k, v in s.items() if k != "sku_id"} for s in record["skus"]]}
        )
        if record["product_id"] in existing:
            continue
        skus = [
            {**sku.model_dump(), "sku_id": raw["sku_id"]} for sku, raw in zip(write.skus, record["skus"], strict=True)
        ]
        counters: dict[str, Any] = {k: record[k] for k in ("sales", "rating_avg", "review_count") if k in record}
        category = _leaf_category(repo, write.category_id)
        created_at = record.get("created_at") or now_iso()
        fresh.append((_product_record(record["product_id"], write, category, skus, created_at, 1, counters), skus))
    repo.import_products(fresh)
    return len(fresh)
