"""The product document the search index is built from, and its making from catalog records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProductDoc:
    """One product as the index sees it."""

    product_id: str
    title: str
    subtitle: str
    description: str
    brand_id: str
    brand_name: str
    category_id: str
    category_path: tuple[str, ...]  # ids root -> leaf (the product's category last)
    category_names: tuple[str, ...]  # names along the same path
    specs: str  # spec names/values and SKU attribute values, space-joined
    price_fen: int  # lowest on-sale SKU price (list price)
    sales: int
    rating_avg: float
    review_count: int
    view_count: int
    created_at: str
    in_stock: bool
    on_sale: bool
    image_url: str | None


def category_path(category_id: str, categories: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The categories from the root down to category_id (just the id's own record if the tree is broken)."""
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = category_id
    while current is not None and current in categories and current not in seen:
        seen.add(current)
        path.append(categories[current])
        current = categories[current].get("parent_id")
    return list(reversed(path))


def doc_from_catalog(
    product: dict[str, Any], skus: list[dict[str, Any]], categories: dict[str, dict[str, Any]], brands: dict[str, dict]
) -> ProductDoc:
    """A product and its SKUs (as the catalog repository returns them) with the category tree and brands by id.

    Counters a record lacks (a demo or imported record) count as zero; a SKU without `on_sale` follows its product.
    """
    on_sale = bool(product.get("on_sale", True))
    selling = [sku for sku in skus if sku.get("on_sale", on_sale)] or skus
    prices = [int(sku["price_fen"]) for sku in selling]
    path = category_path(product["category_id"], categories)
    brand = brands.get(product["brand_id"], {})
    spec_words: list[str] = []
    for spec in product.get("specs") or []:
        spec_words.append(spec["name"])
        spec_words.extend(spec["values"])
    for sku in selling:
        spec_words.extend(str(value) for value in (sku.get("attributes") or {}).values())
    images = product.get("images") or []
    return ProductDoc(
        product_id=product["product_id"],
        title=product.get("title") or "",
        subtitle=product.get("subtitle") or "",
        description=product.get("description") or "",
        brand_id=product["brand_id"],
        brand_name=brand.get("name", ""),
        category_id=product["category_id"],
        category_path=tuple(c["category_id"] for c in path) or (product["category_id"],),
        category_names=tuple(c["name"] for c in path),
        specs=" ".join(dict.fromkeys(spec_words)),
        price_fen=min(prices) if prices else int(product.get("price_fen") or 0),
        sales=int(product.get("sales") or 0),
        rating_avg=float(product.get("rating_avg") or 0),
        review_count=int(product.get("review_count") or 0),
        view_count=int(product.get("view_count") or 0),
        created_at=product.get("created_at") or "",
        in_stock=any(int(sku.get("stock") or 0) > 0 for sku in selling),
        on_sale=on_sale,
        image_url=images[0] if images else None,
    )
