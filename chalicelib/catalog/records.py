"""Catalog items as the rest of the code sees them (plain dicts) and back: the conversions the repository uses."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import MapAttribute

from chalicelib.catalog.models import ON_SALE, ProductItem, SkuItem, product_pk, product_status, sku_sk
from chalicelib.catalog.staff_store import admin_key_of
from chalicelib.dynamo import stored_int

PRODUCT_FIELDS = (
    "product_id", "title", "subtitle", "description", "category_id", "root_category_id", "brand_id", "price_fen",
    "on_sale", "sales", "rating_avg", "review_count", "view_count", "favorite_count", "created_at", "updated_at",
    "freight_template_id",
)  # fmt: skip


def _product_dict(item: ProductItem) -> dict[str, Any]:
    product = {name: getattr(item, name) for name in PRODUCT_FIELDS}
    for name in ("price_fen", "sales", "review_count", "view_count", "favorite_count"):
        product[name] = int(product[name] or 0)
    product["rating_avg"] = float(product["rating_avg"] or 0)
    product["archived"] = bool(item.archived)
    product["status"] = product_status(bool(item.on_sale), product["archived"])
    product["version"] = int(item.version or 0)
    product["images"] = list(item.images or [])
    product["after_sales"] = list(item.after_sales or [])
    product["specs"] = [{"name": spec["name"], "values": list(spec["values"])} for spec in map(_plain, item.specs)]
    return product


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


def _sku_dict(item: SkuItem) -> dict[str, Any]:
    return _sku_of(item.attribute_values)


def _sku_of(values: dict[str, Any]) -> dict[str, Any]:
    """A SKU from its item's attribute values (a model's `attribute_values`, or dynamo.attribute_values)."""
    return {
        "sku_id": values["sku_id"],
        "product_id": values["product_id"],
        "attributes": dict(_plain(values.get("attributes")) or {}),
        "price_fen": int(values["price_fen"]),
        "stock": int(values.get("stock") or 0),
        "low_stock_threshold": int(values.get("low_stock_threshold") or 0),
        "updated_at": values.get("updated_at"),
        "title": values.get("title"),
        "image_url": values.get("image_url"),
        "category_id": values.get("category_id"),
        "brand_id": values.get("brand_id"),
        "on_sale": bool(values.get("on_sale")),
        "level_prices": {int(level): int(price) for level, price in (values.get("member_prices") or {}).items()},
        "weight_g": int(values["weight_g"]) if values.get("weight_g") is not None else None,
        "freight_template_id": values.get("freight_template_id"),
    }


# What a read of SKUs by key fetches (a ProjectionExpression; the keys come with it): the record's fields only.
SKU_ATTRIBUTES = (
    "sku_id", "product_id", "attributes", "price_fen", "stock", "low_stock_threshold", "updated_at", "title",
    "image_url", "category_id", "brand_id", "on_sale", "member_prices", "weight_g", "freight_template_id",
)  # fmt: skip


def _stored(raw: dict[str, Any], name: str) -> Any:
    """An attribute's DynamoDB value of a raw SKU item, or the SkuItem default when absent or null."""
    found = raw.get(name)
    if found is None or "NULL" in found:
        default = getattr(SkuItem, name).default
        return default() if callable(default) else default
    return found


def _number(value: Any) -> int | None:
    """A number attribute (raw {"N": ...} or a model default) as an int."""
    if value is None or isinstance(value, int):
        return value
    return stored_int(value["N"])


def _text(value: Any) -> Any:
    return value["S"] if isinstance(value, dict) else value


def sku_of_item(raw: dict[str, Any]) -> dict[str, Any]:
    """A SKU record (as _sku_dict gives it of the model) straight from its raw DynamoDB item: THE parse of SKUs
    read by key (BatchGetItem), without pynamodb's per-attribute deserialize; its unit test holds it to the
    model's reading, defaults and nulls included."""
    attributes = _stored(raw, "attributes")
    member_prices = _text(_stored(raw, "member_prices"))
    on_sale = _stored(raw, "on_sale")
    return {
        "sku_id": raw["sku_id"]["S"],
        "product_id": raw["product_id"]["S"],
        "attributes": {key: each["S"] for key, each in attributes["M"].items()}
        if isinstance(attributes, dict) and "M" in attributes
        else dict(attributes or {}),
        "price_fen": _number(raw["price_fen"]),
        "stock": _number(_stored(raw, "stock")) or 0,
        "low_stock_threshold": _number(_stored(raw, "low_stock_threshold")) or 0,
        "updated_at": _text(_stored(raw, "updated_at")),
        "title": _text(_stored(raw, "title")),
        "image_url": _text(_stored(raw, "image_url")),
        "category_id": _text(_stored(raw, "category_id")),
        "brand_id": _text(_stored(raw, "brand_id")),
        "on_sale": bool(on_sale["BOOL"] if isinstance(on_sale, dict) else on_sale),
        "level_prices": {int(level): int(price) for level, price in json.loads(member_prices).items()}
        if member_prices
        else {},
        "weight_g": _number(_stored(raw, "weight_g")),
        "freight_template_id": _text(_stored(raw, "freight_template_id")),
    }


def _product_item(product: dict[str, Any]) -> ProductItem:
    return ProductItem(
        product_pk(product["product_id"]),
        "META",
        **{name: product[name] for name in PRODUCT_FIELDS if name != "freight_template_id"},
        freight_template_id=product.get("freight_template_id"),
        images=product["images"],
        after_sales=product["after_sales"],
        specs=product["specs"],
        listing_pk=ON_SALE if product["on_sale"] else None,
        listing_sk=f"{product['created_at']}#{product['product_id']}",
        archived=bool(product.get("archived")),
        admin_pk=admin_key_of(product),
        version=product["version"],
    )


def _sku_item(product: dict[str, Any], sku: dict[str, Any]) -> SkuItem:
    return SkuItem(
        product_pk(product["product_id"]),
        sku_sk(sku["sku_id"]),
        sku_id=sku["sku_id"],
        product_id=product["product_id"],
        attributes=sku["attributes"],
        price_fen=sku["price_fen"],
        stock=sku["stock"],
        low_stock_threshold=sku["low_stock_threshold"],
        updated_at=product["updated_at"],
        weight_g=sku.get("weight_g"),
        **_sku_card(product),
    )


def _sku_card(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": product["title"],
        "image_url": product["images"][0] if product["images"] else None,
        "category_id": product["category_id"],
        "brand_id": product["brand_id"],
        "on_sale": product["on_sale"],
        "freight_template_id": product.get("freight_template_id"),
    }
