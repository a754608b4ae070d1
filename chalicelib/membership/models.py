"""pynamodb models of the members club: the level table (marketing table), each member's growth, growth ledger and
check-ins (accounts table, the user's partition)."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

LEVELS_PK, LEVELS_SK = "MEMBERSHIP", "LEVELS"
GROWTH_SK = "CARD#MEMBER"  # between the address book and the cart: the cart's one Query reads it (pricing)
GROWTH_ENTRY_PREFIX = "GROWTH#"
GROWTH_REF_PREFIX = "GROWTHREF#"
CHECKIN_PREFIX = "CHECKIN#"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class LevelTableModel(Model):
    """marketing table, pk=MEMBERSHIP, sk=LEVELS: the levels and rules staff set (absent: the defaults)."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    levels = JSONAttribute()
    rules = JSONAttribute()
    updated_at = UnicodeAttribute()


class MemberItemModel(Model):
    """accounts table, the user's partition: sk=CARD#MEMBER (growth), GROWTH#<at>#<entry_id> (a ledger entry: delta,
    reason, ref, at), GROWTHREF#<reason>#<ref> (each source counted once), CHECKIN#<yyyy-mm-dd> (streak)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    growth = NumberAttribute(null=True)
    delta = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    streak = NumberAttribute(null=True)
