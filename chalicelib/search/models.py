"""pynamodb models of search's items in the marketing table: the published index pointer and the hot-word counters."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

MARKETING_TABLE = get_settings().marketing_table
INDEX_PK = "SEARCH_INDEX"
POINTER_SK = "POINTER"
HOT_PK = "HOT_SEARCH"
HOT_TOP_SK = "TOP"


def hot_day_pk(day: str) -> str:
    """One partition of counters per UTC day (yyyy-mm-dd)."""
    return f"{HOT_PK}#{day}"


class IndexPointerModel(Model):
    """pk=SEARCH_INDEX, sk=POINTER: the index readers load. Moved only forward (catalog_as_of grows)."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=INDEX_PK)
    sk = UnicodeAttribute(range_key=True, default=POINTER_SK)
    version = UnicodeAttribute()
    key = UnicodeAttribute()
    catalog_as_of = UnicodeAttribute()  # when the catalog read of this build started (microseconds, sortable)
    built_at = UnicodeAttribute()
    documents = NumberAttribute(default=0)


class HotCountModel(Model):
    """pk=HOT_SEARCH#<day>, sk=<normalized keyword>: that day's searches for it (ADD); expires a while later."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    searches = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)


class HotTopModel(Model):
    """pk=HOT_SEARCH, sk=TOP: the decayed top keywords folded from the day counters, so reading them is one GetItem."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=HOT_PK)
    sk = UnicodeAttribute(range_key=True, default=HOT_TOP_SK)
    items = ListAttribute(of=MapAttribute, default=list)  # [{keyword, count, score}], best first
    refreshed_at = NumberAttribute(default=0)  # epoch milliseconds
