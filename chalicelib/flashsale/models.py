"""pynamodb models of flash sales, in the marketing table. Every hot item has a key of its own: a SKU's promo stock
is split over shards with a partition each, a buyer's holding and an attempt are keyed by the buyer and the attempt.

- session      pk=FLASH#<session_id>                        sk=SESSION  title, times, items, state
- listing      pk=FLASHSALES                                sk=<ends_at>#<session_id>  (admin writes only)
- stock shard  pk=FLASHSTOCK#<session_id>#<sku_id>#<shard>  sk=STOCK    remaining
- holding      pk=FLASHHOLD#<session_id>#<sku_id>#<user_id> sk=HOLD     held (QUEUED and WON units)
- attempt      pk=FLASHATTEMPT#<attempt_id>                 sk=ATTEMPT  status, claims, order_id
- key          pk=FLASHKEY#<user_id>#<Idempotency-Key>      sk=KEY      attempt_id, body_hash
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

MARKETING_TABLE = get_settings().marketing_table
SESSION_SK, STOCK_SK, HOLD_SK, ATTEMPT_SK, KEY_SK = "SESSION", "STOCK", "HOLD", "ATTEMPT", "KEY"
LISTING_PK = "FLASHSALES"


def session_pk(session_id: str) -> str:
    return f"FLASH#{session_id}"


def shard_pk(session_id: str, sku_id: str, shard: int) -> str:
    return f"FLASHSTOCK#{session_id}#{sku_id}#{shard}"


def holding_pk(session_id: str, sku_id: str, user_id: str) -> str:
    return f"FLASHHOLD#{session_id}#{sku_id}#{user_id}"


def attempt_pk(attempt_id: str) -> str:
    return f"FLASHATTEMPT#{attempt_id}"


def key_pk(user_id: str, key: str) -> str:
    return f"FLASHKEY#{user_id}#{key}"


def listing_sk(ends_at: str, session_id: str) -> str:
    return f"{ends_at}#{session_id}"


class FlashSessionModel(Model):
    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SESSION_SK)
    session_id = UnicodeAttribute()
    title = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    items = JSONAttribute()  # [{sku_id, product_id, title, image_url, price_fen, promo_price_fen, promo_stock,
    # per_user_limit, shards}]
    state = UnicodeAttribute()  # SCHEDULED | CLOSED (the unsold rest went back to the SKUs) | DELETED
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    closed_at = UnicodeAttribute(null=True)


class FlashListingModel(Model):
    """One per session, to list them without a Scan; written only by the admin's changes and the closing sweep."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=LISTING_PK)
    sk = UnicodeAttribute(range_key=True)
    session_id = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    state = UnicodeAttribute()


class FlashShardModel(Model):
    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=STOCK_SK)
    remaining = NumberAttribute(default=0)


class FlashHoldingModel(Model):
    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=HOLD_SK)
    held = NumberAttribute(default=0)


class FlashAttemptModel(Model):
    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ATTEMPT_SK)
    attempt_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    quantity = NumberAttribute()
    address_id = UnicodeAttribute(null=True)
    shard = NumberAttribute()
    status = UnicodeAttribute()  # QUEUED | CLAIMED (units taken, order being placed) | WON | LOST
    claims = JSONAttribute(null=True)  # {"<shard>": units} taken from the stock shards
    order_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    returned_at = UnicodeAttribute(null=True)  # its unpaid order was cancelled and the units went back
    expires_at = NumberAttribute(null=True)  # TTL


class FlashKeyModel(Model):
    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=KEY_SK)
    attempt_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # TTL
