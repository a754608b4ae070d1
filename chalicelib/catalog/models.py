"""pynamodb models of the catalog table: a product and its SKUs share one partition; categories and brands one each."""

from __future__ import annotations

import zlib

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

CATALOG_TABLE = get_settings().catalog_table
ON_SALE = "ON_SALE"
OFF_SALE = "OFF_SALE"
ARCHIVED = "ARCHIVED"
PRODUCT_STATUSES = (ON_SALE, OFF_SALE, ARCHIVED)
ADMIN_SHARDS = 2  # write shards per status of the staff listing (gsi_admin)


# What the listing indexes carry besides the keys: what tells an item's kind and what their filters read. A count
# (views, sales, ratings, favourites) or a price change writes none of them; the page's products are read after.
LISTED_ATTRIBUTES = ["kind", "on_sale", "brand_id"]


def _index_meta(name: str, keyed_by: str = "") -> type:
    class Meta:
        index_name = name
        projection = IncludeProjection([name for name in LISTED_ATTRIBUTES if name != keyed_by])

    return Meta


class ListingIndex(GlobalSecondaryIndex["CatalogItem"]):
    """Every product on sale, newest first (listing_pk is set only while on sale: a sparse index)."""

    Meta = _index_meta("gsi_listing_keys")
    listing_pk = UnicodeAttribute(hash_key=True)
    listing_sk = UnicodeAttribute(range_key=True)


class CategoryIndex(GlobalSecondaryIndex["CatalogItem"]):
    """Products of one leaf category, newest first."""

    Meta = _index_meta("gsi_category_keys")
    category_id = UnicodeAttribute(hash_key=True)
    listing_sk = UnicodeAttribute(range_key=True)


class RootCategoryIndex(GlobalSecondaryIndex["CatalogItem"]):
    """Products under one top-level category, newest first."""

    Meta = _index_meta("gsi_root_category_keys")
    root_category_id = UnicodeAttribute(hash_key=True)
    listing_sk = UnicodeAttribute(range_key=True)


class BrandIndex(GlobalSecondaryIndex["CatalogItem"]):
    """Products of one brand, newest first."""

    Meta = _index_meta("gsi_brand_keys", keyed_by="brand_id")
    brand_id = UnicodeAttribute(hash_key=True)
    listing_sk = UnicodeAttribute(range_key=True)


class AdminIndex(GlobalSecondaryIndex["CatalogItem"]):
    """Every product for staff by status, newest first, in ADMIN_SHARDS write shards per status.

    Only the title and the category ride along (INCLUDE), so the counters bumped on every view, sale or review
    never write this index: it changes only when staff change a product."""

    class Meta:
        index_name = "gsi_admin"
        projection = IncludeProjection(["kind", "title", "category_id"])

    admin_pk = UnicodeAttribute(hash_key=True)
    listing_sk = UnicodeAttribute(range_key=True)


class CatalogItem(Model):
    """Any item of the catalog table; `kind` tells which."""

    Meta = table_meta(CATALOG_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    listing_index = ListingIndex()
    category_index = CategoryIndex()
    root_category_index = RootCategoryIndex()
    brand_index = BrandIndex()
    admin_index = AdminIndex()


class CategoryItem(CatalogItem, discriminator="category"):
    """pk=CATEGORY, sk=<category_id>: the whole tree is one Query."""

    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    sort_order = NumberAttribute(default=0)


class BrandItem(CatalogItem, discriminator="brand"):
    """pk=BRAND, sk=<brand_id>."""

    name = UnicodeAttribute()
    logo_url = UnicodeAttribute(null=True)


class ProductItem(CatalogItem, discriminator="product"):
    """pk=PRODUCT#<product_id>, sk=META; denormalised summary fields keep lists to one Query."""

    product_id = UnicodeAttribute()
    title = UnicodeAttribute()
    subtitle = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    category_id = UnicodeAttribute()
    root_category_id = UnicodeAttribute()
    brand_id = UnicodeAttribute()
    images = ListAttribute(of=UnicodeAttribute, default=list)
    specs = ListAttribute(of=MapAttribute, default=list)
    after_sales = ListAttribute(of=UnicodeAttribute, default=list)
    price_fen = NumberAttribute(default=0)
    on_sale = BooleanAttribute(default=True)
    archived = BooleanAttribute(default=False)
    listing_pk = UnicodeAttribute(null=True)
    admin_pk = UnicodeAttribute(null=True)
    listing_sk = UnicodeAttribute()
    sales = NumberAttribute(default=0)
    rating_avg = NumberAttribute(default=0)
    review_count = NumberAttribute(default=0)
    view_count = NumberAttribute(default=0)
    favorite_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    freight_template_id = UnicodeAttribute(null=True)  # None: the shop's flat shipping rule


class SkuItem(CatalogItem, discriminator="sku"):
    """pk=PRODUCT#<product_id>, sk=SKU#<sku_id>: price and stock; stock changes are conditional writes."""

    sku_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    price_fen = NumberAttribute()
    stock = NumberAttribute(default=0)
    low_stock_threshold = NumberAttribute(default=10)
    updated_at = UnicodeAttribute()
    # A copy of the product's card, so a cart or an order reads its SKUs in one BatchGetItem and nothing else.
    title = UnicodeAttribute(default="")
    image_url = UnicodeAttribute(null=True)
    category_id = UnicodeAttribute(null=True)
    brand_id = UnicodeAttribute(null=True)
    on_sale = BooleanAttribute(default=True)
    freight_template_id = UnicodeAttribute(null=True)  # the product's, so pricing reads it with the SKU
    weight_g = NumberAttribute(null=True)  # of one unit, for freight templates
    # Staff's member prices, {"<level>": price_fen}: on the SKU, so the cart's and the order's one read carries them.
    member_prices = JSONAttribute(null=True)


def product_pk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def sku_sk(sku_id: str) -> str:
    return f"SKU#{sku_id}"


def product_id_of_sku(sku_id: str) -> str:
    """SKU ids are `<product_id>-<nn>`: the product's partition is known from the SKU id alone."""
    return sku_id.rsplit("-", 1)[0]


def product_status(on_sale: bool, archived: bool) -> str:
    return ARCHIVED if archived else ON_SALE if on_sale else OFF_SALE


def admin_pk(product_id: str, status: str) -> str:
    """The staff listing's partition of a product: its status and a write shard fixed by its id."""
    return f"{status}#{zlib.crc32(product_id.encode()) % ADMIN_SHARDS}"
