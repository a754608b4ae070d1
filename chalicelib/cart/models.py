"""pynamodb models of the cart, in the user's partition USER#<user_id> of the accounts table."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ACCOUNTS_TABLE = get_settings().accounts_table
CART_LINE_PREFIX = "CART#"
CART_COUNTER_SK = "CARTCOUNT"  # not under CART#, so a Query of the lines never returns it


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


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


class CartCounterModel(Model):
    """sk=CARTCOUNT: how many lines the cart has; every line put or delete updates it in the same transaction."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=CART_COUNTER_SK)
    line_count = NumberAttribute(default=0)
