"""pynamodb models of payments, kept in the orders table beside the orders they pay."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

PAYMENT_SK = "PAYMENT"
OPEN_PAYMENT_SK = "OPEN_PAYMENT"
ORDER_PAYMENT_PREFIX = "PAYMENT#"


def payment_pk(payment_id: str) -> str:
    return f"PAYMENT#{payment_id}"


def order_payment_keys(order_id: str, created_at: str, payment_id: str) -> tuple[str, str]:
    """(pk, sk) of a payment's entry in its order's own partition (ORDER#<order_id>, beside the order's items)."""
    return f"ORDER#{order_id}", f"{ORDER_PAYMENT_PREFIX}{created_at}#{payment_id}"


def open_payment_pk(order_id: str, channel: str) -> str:
    return f"OPEN_PAYMENT#{order_id}#{channel}"


class PaymentModel(Model):
    """pk=PAYMENT#<payment_id>, sk=PAYMENT: one attempt to collect an order's payable amount through one channel,
    and the refunds made from it. Every write is conditional on `version` (optimistic locking), so the refunds
    recorded can never add up to more than the amount paid. No attribute of the orders table's indexes
    (created_key, user_status, listing) is set, so payments never appear in the order listings."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=PAYMENT_SK)
    payment_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    amount_fen = NumberAttribute()
    status = UnicodeAttribute()  # CREATED, CLOSED, PAID, PAID_LATE, REFUNDING, PARTIALLY_REFUNDED, REFUNDED
    late_reason = UnicodeAttribute(null=True)  # ORDER_CANCELLED or PAID_BY_ANOTHER_PAYMENT when PAID_LATE
    transaction_id = UnicodeAttribute(null=True)  # the provider's trade number
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    refunded_fen = NumberAttribute(default=0)  # every refund not refused (pending ones included)
    refunds = JSONAttribute(default=dict)  # refund_id -> {amount_fen, status, reason, requested_at, ...}
    version = NumberAttribute(default=0)  # +1 on every write, each conditional on the version read


class OpenPaymentModel(Model):
    """pk=OPEN_PAYMENT#<order_id>#<channel>, sk=OPEN_PAYMENT: the order's payment still open on that channel, so
    a repeated POST /orders/{id}/pay reuses it (created with the payment in one transaction; two racing requests
    make one payment)."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=OPEN_PAYMENT_SK)
    payment_id = UnicodeAttribute()


class OrderPaymentModel(Model):
    """pk=ORDER#<order_id>, sk=PAYMENT#<created_at>#<payment_id>: one entry per payment in its order's partition,
    written with the payment in one transaction, so GET /orders/{id}/payments is one Query (oldest first), never a
    Scan. Holds only the payment id (the payment itself is its own item, read with BatchGetItem). No index attribute
    is set; the orders stream ignores every item whose sk is not ORDER or REFUND."""

    Meta = table_meta(get_settings().orders_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    payment_id = UnicodeAttribute()
