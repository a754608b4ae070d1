"""pynamodb models of the orders table: orders, their refunds and the idempotency records of order creation."""

from __future__ import annotations

import zlib

from pynamodb.attributes import JSONAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.clock import shanghai_month
from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ORDER_SK = "ORDER"
IDEMPOTENCY_SK = "IDEMPOTENCY"
REFUND_SK = "REFUND"
ALL_REFUNDS = "REFUNDS"
REFUND_STATUS_PREFIX = "REFUND#"  # a refund's status as gsi_refund_status keys it
# gsi_created spreads every order over CREATED_SHARDS partitions per Asia/Shanghai month it was placed in (written
# once, at placement: never one constant key, and no status change ever writes it).
CREATED_SHARDS = 8
CREATED_PREFIX = "ORDERS#"
# gsi_due spreads the orders that wait on a timer over DUE_SHARDS partitions per due day (never one constant key).
DUE_SHARDS = 16
DUE_PREFIX = "DUE#"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def refund_pk(refund_id: str) -> str:
    return f"REFUND#{refund_id}"


def refund_status_key(status: str) -> str:
    """A refund's status as it is kept and as gsi_refund_status keys it (`REFUND#PENDING`)."""
    return f"{REFUND_STATUS_PREFIX}{status}"


def due_shard_key(order_id: str, due_at: str) -> str:
    """`DUE#<due day>#<shard>`: the gsi_due partition of an order due at `due_at` (the shard from its id)."""
    return f"{DUE_PREFIX}{due_at[:10]}#{zlib.crc32(order_id.encode()) % DUE_SHARDS:02d}"


def due_shard_keys(day: str) -> list[str]:
    """Every gsi_due partition of one due day (`YYYY-MM-DD`)."""
    return [f"{DUE_PREFIX}{day}#{shard:02d}" for shard in range(DUE_SHARDS)]


def created_shard_key(order_id: str, created_at: str) -> str:
    """`ORDERS#<Asia/Shanghai month>#<shard>`: the gsi_created partition of an order placed at `created_at`."""
    return f"{CREATED_PREFIX}{shanghai_month(created_at)}#{zlib.crc32(order_id.encode()) % CREATED_SHARDS}"


def created_shard_keys(month: str) -> list[str]:
    """Every gsi_created partition of one Asia/Shanghai month (`YYYY-MM`)."""
    return [f"{CREATED_PREFIX}{month}#{shard}" for shard in range(CREATED_SHARDS)]


def idempotency_pk(user_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{user_id}#{key}"


class UserIndex(GlobalSecondaryIndex["OrderModel"]):
    """A user's orders, newest first (keys only: a status change or a task token never writes it)."""

    class Meta:
        index_name = "gsi_buyer"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class UserStatusIndex(GlobalSecondaryIndex["OrderModel"]):
    """A user's orders in one status (`<user_id>#<STATUS>`), newest first (keys only)."""

    class Meta:
        index_name = "gsi_buyer_status"
        projection = KeysOnlyProjection()

    user_status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class CreatedIndex(GlobalSecondaryIndex["OrderModel"]):
    """Every order by the month it was placed in, 8 shards a month, newest first (the admin's list; keys only)."""

    class Meta:
        index_name = "gsi_created"
        projection = KeysOnlyProjection()

    created_shard = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrderNoIndex(GlobalSecondaryIndex["OrderModel"]):
    """An order by its order number (keys only)."""

    class Meta:
        index_name = "gsi_order_no"
        projection = KeysOnlyProjection()

    order_no = UnicodeAttribute(hash_key=True)


class DueIndex(GlobalSecondaryIndex["OrderModel"]):
    """Orders waiting on a timer, by the day and time it is due (sparse: final orders leave it): the sweeper's."""

    class Meta:
        index_name = "gsi_due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class TimelineEntry(MapAttribute[str, str]):
    status = UnicodeAttribute()
    at = UnicodeAttribute()


class OrderModel(Model):
    """pk=ORDER#<order_id>, sk=ORDER: the order, its line snapshots, amounts, status, timeline and task tokens."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ORDER_SK)
    order_id = UnicodeAttribute()
    order_no = UnicodeAttribute()
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()
    user_status = UnicodeAttribute()
    created_shard = UnicodeAttribute(null=True)  # `ORDERS#<month>#<shard>`, set at placement (older: the backfill)
    listing = UnicodeAttribute(null=True)  # `ORDERS` on orders stored before gsi_created: the backfill removes it
    created_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    pay_deadline = UnicodeAttribute()
    items = JSONAttribute()
    amounts = JSONAttribute()
    address = JSONAttribute()
    remark = UnicodeAttribute(default="")
    coupon_id = UnicodeAttribute(null=True)
    points_used = NumberAttribute(default=0)
    timeline = ListAttribute(of=TimelineEntry, default=list)
    payment = JSONAttribute(null=True)
    shipment = JSONAttribute(null=True)
    payment_token = UnicodeAttribute(null=True)
    shipment_token = UnicodeAttribute(null=True)
    receipt_token = UnicodeAttribute(null=True)
    window_token = UnicodeAttribute(null=True)
    refund_token = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refund_from = UnicodeAttribute(null=True)
    refund_ids = ListAttribute(of=UnicodeAttribute, null=True)
    settled_at = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)  # `DUE#<day>#<shard>`, only while the order waits on a timer
    due_key = UnicodeAttribute(null=True)  # `<due_at>#<order_id>`
    kind = UnicodeAttribute(null=True)  # absent: normal
    source_ref = UnicodeAttribute(null=True)  # a flash-sale order: its attempt; a points exchange: the exchange
    points_rules = JSONAttribute(null=True)  # the points rules it was placed under (earning at settlement)
    # Units cases (chalicelib/orders/aftersales.py): {"held", "money_units", "money_fen": {sku: n}, "points_returned"}
    # and its version, which every change of it checks and counts up (one conditional write: nothing is held twice).
    after_sales = JSONAttribute(null=True)
    cases_version = NumberAttribute(null=True)

    user_index = UserIndex()
    user_status_index = UserStatusIndex()
    created_index = CreatedIndex()
    order_no_index = OrderNoIndex()
    due_index = DueIndex()


class RefundStatusIndex(GlobalSecondaryIndex["RefundModel"]):
    """Refunds in one status (hash `REFUND#<STATUS>`), newest first: the admin's queue."""

    class Meta:
        index_name = "gsi_refund_status"
        projection = AllProjection()

    refund_status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class AllRefundsIndex(GlobalSecondaryIndex["RefundModel"]):
    """Every refund (hash `REFUNDS`), newest first."""

    class Meta:
        index_name = "gsi_refund_all"
        projection = AllProjection()

    refund_listing = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class RefundModel(Model):
    """pk=REFUND#<refund_id>, sk=REFUND: a refund or return request of an order and the admin's decision.

    Its owner is `owner_id`, not `user_id`, so refunds never enter gsi_buyer / gsi_buyer_status (the user's orders);
    `refund_status` (= `status`, `REFUND#<STATUS>`) and `refund_listing` key its own indexes, which orders never
    enter."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=REFUND_SK)
    refund_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    type = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    from_status = UnicodeAttribute()
    amount_fen = NumberAttribute()
    refund_status = UnicodeAttribute(null=True)  # = status, kept in the same writes (older refunds: the backfill)
    refund_listing = UnicodeAttribute(null=True, default=ALL_REFUNDS)
    listing = UnicodeAttribute(null=True)  # `REFUNDS` on refunds stored before gsi_refund_all: the backfill removes it
    created_key = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    reject_reason = UnicodeAttribute(null=True)
    refunded_at = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute(default="customer")  # or "system": opened by the ship deadline
    scope = UnicodeAttribute(null=True)  # "units" (a case of some units); absent: the whole order
    case_items = JSONAttribute(null=True)  # [{"sku_id", "quantity", "to_sku_id", "amount_fen"}]
    images = JSONAttribute(null=True)
    case_timeline = JSONAttribute(null=True)  # [{"status", "at", "by"}]
    return_shipment = JSONAttribute(null=True)
    reship = JSONAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)  # a units case in gsi_due (with orders) while a timer runs: `DUE#...`
    due_key = UnicodeAttribute(null=True)  # `<due_at>#REFUND#<refund_id>`

    status_index = RefundStatusIndex()
    all_index = AllRefundsIndex()


class IdempotencyModel(Model):
    """pk=IDEMPOTENCY#<user_id>#<key>, sk=IDEMPOTENCY: which order a user's Idempotency-Key made, from which body."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=IDEMPOTENCY_SK)
    order_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
