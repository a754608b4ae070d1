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
    """One partition of counters per Asia/Shanghai day (yyyy-mm-dd)."""
    return f"{HOT_PK}#{day}"


def hot_source_pk(day: str, source: str) -> str:
    """One partition per searcher (a user, or an anonymous one's address) and day: what it counted in hot words."""
    return f"HOT_SOURCE#{day}#{source}"


HOT_SOURCE_TALLY_SK = "#TALLY"  # never a keyword: keywords are case-folded


class IndexPointerModel(Model):
    """pk=SEARCH_INDEX, sk=POINTER: the index readers load. Moved only from the version its writer started from,
    and never back to an older full read of the catalog (catalog_as_of never shrinks)."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=INDEX_PK)
    sk = UnicodeAttribute(range_key=True, default=POINTER_SK)
    version = UnicodeAttribute()
    key = UnicodeAttribute()
    catalog_as_of = UnicodeAttribute()  # when the catalog read of this build started (microseconds, sortable)
    built_at = UnicodeAttribute()
    documents = NumberAttribute(default=0)
    recent_ids = ListAttribute(of=UnicodeAttribute, null=True)  # products changed in place since the last full build


class HotCountModel(Model):
    """pk=HOT_SEARCH#<day>, sk=<normalized keyword>: that day's searches for it (ADD); expires a while later."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    searches = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)


class HotSourceModel(Model):
    """pk=HOT_SOURCE#<day>#<source>, sk=<keyword>: this source already counted this keyword today (one count per
    source, keyword and day); sk=#TALLY: how many keywords it counted today (capped). Expires after the day."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    counted = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)


class HotTopModel(Model):
    """pk=HOT_SEARCH, sk=TOP: the decayed top keywords folded from the day counters, so reading them is one GetItem."""

    Meta = table_meta(MARKETING_TABLE)

    pk = UnicodeAttribute(hash_key=True, default=HOT_PK)
    sk = UnicodeAttribute(range_key=True, default=HOT_TOP_SK)
    items = ListAttribute(of=MapAttribute, default=list)  # [{keyword, count, score}], best first
    refreshed_at = NumberAttribute(default=0)  # epoch milliseconds
