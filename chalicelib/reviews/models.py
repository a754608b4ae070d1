"""pynamodb models of reviews: the product's list (catalog table), the user's list and line guards (accounts table)."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

REVIEW_PREFIX = "REVIEW#"
REVIEWED_LINE_PREFIX = "REVIEWED#"


def product_reviews_pk(product_id: str) -> str:
    return f"REVIEWS#{product_id}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class ProductReviewModel(Model):
    """catalog table, pk=REVIEWS#<product_id>, sk=REVIEW#<review_id> (ids are time-ordered): newest first by key."""

    Meta = table_meta(get_settings().catalog_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    rating = NumberAttribute()
    content = UnicodeAttribute()
    user = UnicodeAttribute()  # the masked nickname, as it was when the review was written
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    created_at = UnicodeAttribute()


class UserReviewModel(Model):
    """accounts table, pk=USER#<user_id>, sk=REVIEW#<review_id>: the reviewer's own list, newest first."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    title = UnicodeAttribute()
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    rating = NumberAttribute()
    content = UnicodeAttribute()
    created_at = UnicodeAttribute()


class ReviewedLineModel(Model):
    """accounts table, pk=USER#<user_id>, sk=REVIEWED#<order_id>#<sku_id>: its conditional put is the once-per-line
    rule."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()


class ProductRatingsModel(Model):
    """The rating counters on the catalog's product item (pk=PRODUCT#<product_id>, sk=META), and nothing else of
    it: catalog owns the item and reads rating_avg and review_count; reviews write them with the review puts."""

    Meta = table_meta(get_settings().catalog_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_count = NumberAttribute(null=True)
    rating_sum = NumberAttribute(null=True)
    rating_avg = NumberAttribute(null=True)
    rating_1 = NumberAttribute(null=True)
    rating_2 = NumberAttribute(null=True)
    rating_3 = NumberAttribute(null=True)
    rating_4 = NumberAttribute(null=True)
    rating_5 = NumberAttribute(null=True)
