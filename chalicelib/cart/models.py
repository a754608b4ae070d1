"""pynamodb models of the cart: a signed-in user's in their partition USER#<user_id> of the accounts table, a guest
cart in its own partition GUESTCART#<guest_id> (whose items carry a TTL)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ACCOUNTS_TABLE = get_settings().accounts_table
CART_LINE_PREFIX = "CART#"
CART_COUNTER_SK = "CARTCOUNT"  # not under CART#; `CART#` .. `CARTCOUNT` is the lines and the head, one Query


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def guest_pk(guest_id: str) -> str:
    return f"GUESTCART#{guest_id}"


class CartLineModel(Model):
    """sk=CART#<sku_id>: one cart line; title and attributes are a copy taken when added, shown if the SKU goes."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    sku_id = UnicodeAttribute()
    quantity = NumberAttribute()
    selected = BooleanAttribute(default=True)
    added_at = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    attributes: MapAttribute[str, str] = MapAttribute(default=dict)
    expires_at = NumberAttribute(null=True)  # guest carts only: TTL, epoch seconds


class CartCounterModel(Model):
    """sk=CARTCOUNT, the cart's head: `skus`, the set of its lines' SKUs (a line put or delete changes it in the
    same transaction, so its size is the line count); a guest cart's head is written when the cart starts and its
    `expires_at` (TTL) is the cart's end, moved on by every add and remove. `line_count` is the older counter."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=CART_COUNTER_SK)
    line_count = NumberAttribute(null=True)
    skus = UnicodeSetAttribute(null=True)
    guest = BooleanAttribute(null=True)
    expires_at = NumberAttribute(null=True)
