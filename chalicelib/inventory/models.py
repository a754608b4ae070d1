"""pynamodb models of inventory: reservations in the user's partition (accounts), the rest in the marketing table."""

from __future__ import annotations

import zlib

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ACCOUNTS_TABLE = get_settings().accounts_table
MARKETING_TABLE = get_settings().marketing_table
RESERVATION_PREFIX = "RESERVE#"
RESERVATION_BOOK_SK = "RESERVEBOOK"
LOW_STOCK_PK = "LOW_STOCK"  # the one partition of releases before the shards: the low_stock_shards migration empties it
# The low-stock list spreads over LOW_STOCK_SHARDS partitions by SKU: a busy shop's stock changes never meet on one key.
LOW_STOCK_SHARDS = 16


def low_stock_pk(sku_id: str) -> str:
    """`LOW_STOCK#<crc32(sku_id) % 16>`: the partition of a SKU's low-stock entry."""
    return f"{LOW_STOCK_PK}#{zlib.crc32(sku_id.encode()) % LOW_STOCK_SHARDS}"


def low_stock_pks() -> list[str]:
    return [f"{LOW_STOCK_PK}#{shard}" for shard in range(LOW_STOCK_SHARDS)]


STATE_SK = "STATE"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def waiters_pk(sku_id: str) -> str:
    return f"RESERVATIONS#{sku_id}"


def stock_state_pk(sku_id: str) -> str:
    return f"STOCK#{sku_id}"


def event_marker_pk(sku_id: str, seq: str) -> str:
    return f"STOCK_EVENT#{sku_id}#{seq}"


class ReservationModel(Model):
    """accounts: pk=USER#<user_id>, sk=RESERVE#<sku_id>: the user's view of a reservation; notified_at is the claim."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    reservation_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    image_url = UnicodeAttribute(null=True)
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    reserved_at = UnicodeAttribute()
    order_key = UnicodeAttribute()
    notified_at = UnicodeAttribute(null=True)
    notify_result = UnicodeAttribute(null=True)


class ReservationBookModel(Model):
    """accounts: pk=USER#<user_id>, sk=RESERVEBOOK: how many reservations the user holds (capped)."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=RESERVATION_BOOK_SK)
    reservation_count = NumberAttribute(default=0)


class WaiterModel(Model):
    """marketing: pk=RESERVATIONS#<sku_id>, sk=<user_id>: a user still waiting for the SKU (gone once notified)."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    reservation_id = UnicodeAttribute()
    reserved_at = UnicodeAttribute()


class StockStateModel(Model):
    """marketing: pk=STOCK#<sku_id>, sk=STATE: the newest stock change applied (by stream sequence number)."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=STATE_SK)
    seq = UnicodeAttribute()
    stock = NumberAttribute()
    threshold = NumberAttribute()
    low_since = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class LowStockModel(Model):
    """marketing: pk=LOW_STOCK#<shard>, sk=<sku_id>: a SKU under its low-stock threshold, as of its newest change."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    sku_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    stock = NumberAttribute()
    threshold = NumberAttribute()
    since = UnicodeAttribute()


class EventMarkerModel(Model):
    """marketing: pk=STOCK_EVENT#<sku_id>#<seq>, sk=ALERT|RESTOCK: an event's side effect taken or done (TTL)."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()
    expires_at = NumberAttribute()
