"""pynamodb models of the personal center's items, all in the user's partition USER#<user_id> of the accounts table."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

ACCOUNTS_TABLE = get_settings().accounts_table
ADDRESS_BOOK_SK = "ADDRBOOK"
ADDRESS_PREFIX = "ADDR#"
FAVORITE_PREFIX = "FAV#"
FAVORITE_ENTRY_PREFIX = "FAVAT#"
FOOTPRINT_PREFIX = "FOOT#"
SEARCH_PREFIX = "SEARCH#"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class AddressBookModel(Model):
    """sk=ADDRBOOK: address count and default address id; every address write updates it under a condition."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ADDRESS_BOOK_SK)
    address_count = NumberAttribute(default=0)
    default_id = UnicodeAttribute(null=True)


class AddressModel(Model):
    """sk=ADDR#<address_id> (ids are time-ordered): one shipping address."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    address_id = UnicodeAttribute()
    receiver = UnicodeAttribute()
    phone = UnicodeAttribute()
    province = UnicodeAttribute()
    city = UnicodeAttribute()
    district = UnicodeAttribute()
    detail = UnicodeAttribute()
    is_default = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class FavoriteModel(Model):
    """sk=FAV#<product_id>: the favorite itself; its conditional put/delete is what keeps favorite_count exact."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    product_id = UnicodeAttribute()
    favorited_at = UnicodeAttribute()
    order_key = UnicodeAttribute()


class FavoriteEntryModel(Model):
    """sk=FAVAT#<order_key>#<product_id>: the favorite's place in the newest-first list (written with it)."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    product_id = UnicodeAttribute()
    favorited_at = UnicodeAttribute()


class FootprintModel(Model):
    """sk=FOOT#<product_id>: the user's last view of a product; expires through TTL."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    product_id = UnicodeAttribute()
    viewed_at = UnicodeAttribute()
    order_key = UnicodeAttribute()
    expires_at = NumberAttribute()


class SearchModel(Model):
    """sk=SEARCH#<normalized keyword>: the user's last search for that keyword."""

    Meta = table_meta(ACCOUNTS_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    keyword = UnicodeAttribute()
    searched_at = UnicodeAttribute()
    order_key = UnicodeAttribute()
