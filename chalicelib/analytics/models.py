"""pynamodb models of the analytics table: seen-event markers, daily roll-ups and distinct-buyer markers."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

SEEN_SK = "SEEN"


def seen_pk(marker: str) -> str:
    return f"EVENT#{marker}"


class SeenEventModel(Model):
    """pk=EVENT#<event_id>[#<part>], sk=SEEN: this event's counters were added (expires after DEDUPE_DAYS)."""

    Meta = table_meta(get_settings().analytics_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SEEN_SK)
    type = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()


class BuyerDayModel(Model):
    """pk=BUYER_DAY, sk=<date>#<user_id>: the user paid for an order on that business day."""

    Meta = table_meta(get_settings().analytics_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()


class RollupModel(Model):
    """pk=DAY|PRODUCT_DAY|CATEGORY_DAY, sk=<date>[#<product_id>|#<category_id>]: counters ADDed by the consumer."""

    Meta = table_meta(get_settings().analytics_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    product_id = UnicodeAttribute(null=True)
    category_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    views = NumberAttribute(null=True)
    searches = NumberAttribute(null=True)
    favorites = NumberAttribute(null=True)
    cart_adds = NumberAttribute(null=True)
    cart_units = NumberAttribute(null=True)
    orders = NumberAttribute(null=True)
    ordered_units = NumberAttribute(null=True)
    placed_fen = NumberAttribute(null=True)
    paid_orders = NumberAttribute(null=True)
    paid_units = NumberAttribute(null=True)
    gmv_fen = NumberAttribute(null=True)
    buyers = NumberAttribute(null=True)
    receipts = NumberAttribute(null=True)
    reviews = NumberAttribute(null=True)
    refunds = NumberAttribute(null=True)
    refunded_fen = NumberAttribute(null=True)
