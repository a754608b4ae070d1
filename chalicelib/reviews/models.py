"""pynamodb models of reviews: the product's list (catalog table), the user's list and line guards (accounts table)."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

REVIEW_PREFIX = "REVIEW#"
REVIEWED_LINE_PREFIX = "REVIEWED#"


def product_reviews_pk(product_id: str) -> str:
    return f"REVIEWS#{product_id}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def queue_pk(status: str, shard: int) -> str:
    return f"REVIEWQ#{status}#{shard}"


WORDS_PK = "REVIEW_WORDS"
WORD_PREFIX = "WORD#"
WORDS_VERSION_SK = "VERSION"


class ReplyAttribute(MapAttribute[str, str]):
    content = UnicodeAttribute()
    at = UnicodeAttribute()


class FollowUpAttribute(MapAttribute[str, object]):
    content = UnicodeAttribute()
    images = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UnicodeAttribute()
    status = UnicodeAttribute()
    reject_reason = UnicodeAttribute(null=True)
    matched_words = ListAttribute(of=UnicodeAttribute, default=list)


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
    user = UnicodeAttribute()  # the masked nickname, as it was when the review was written (masked again when read)
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    created_at = UnicodeAttribute()
    images = ListAttribute(of=UnicodeAttribute, null=True)  # absent without images: the with_images filter
    reply = ReplyAttribute(null=True)
    follow_up = FollowUpAttribute(null=True)  # once PUBLISHED


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
    user = UnicodeAttribute(null=True)  # the masked nickname the product page will show once published
    status = UnicodeAttribute(null=True)  # PENDING | PUBLISHED | REJECTED; absent on reviews older than moderation
    reject_reason = UnicodeAttribute(null=True)
    matched_words = ListAttribute(of=UnicodeAttribute, null=True)
    images = ListAttribute(of=UnicodeAttribute, null=True)
    follow_up = FollowUpAttribute(null=True)


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
    with_images_count = NumberAttribute(null=True)


class ModerationEntryModel(Model):
    """catalog table, pk=REVIEWQ#<status>#<shard>, sk=<review_id> (a follow-up: <review_id>#FU): the staff's list of
    reviews by status, sharded by review id so that publishing spreads its writes; read oldest first, merged."""

    Meta = table_meta(get_settings().catalog_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # review | follow_up
    user_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    content = UnicodeAttribute()
    matched_words = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UnicodeAttribute()


class ReviewWordModel(Model):
    """catalog table, pk=REVIEW_WORDS: sk=WORD#<normalized word> per word, and sk=VERSION, counting the list's edits
    (absent until the starting list is seeded), so a container rebuilds its matcher only when the list changed."""

    Meta = table_meta(get_settings().catalog_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    word = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
