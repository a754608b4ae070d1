"""pynamodb models of points: the balance on the user's profile item, ledger entries, references, exchanges
(accounts table), and rewards (marketing table)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

PROFILE_SK = "PROFILE"
ENTRY_PREFIX = "POINTS#"
REF_PREFIX = "POINTSREF#"
EXCHANGE_PREFIX = "EXCHANGE#"
REWARDS_PK = "POINTS_REWARDS"
REWARD_PREFIX = "REWARD#"
RULES_PK, RULES_SK = "POINTS_RULES", "CURRENT"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class PointsBalanceModel(Model):
    """pk=USER#<user_id>, sk=PROFILE: only the points_balance of the profile item (accounts owns the rest)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=PROFILE_SK)
    points_balance = NumberAttribute(default=0)


class PointsEntryModel(Model):
    """pk=USER#<user_id>, sk=POINTS#<order_key>#<entry_id>: one ledger entry, never changed (append-only)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entry_id = UnicodeAttribute()
    delta = NumberAttribute()
    reason = UnicodeAttribute()
    ref = UnicodeAttribute()
    at = UnicodeAttribute()


class PointsRefModel(Model):
    """pk=USER#<user_id>, sk=POINTSREF#<ref>: a reference already posted (its put makes a posting idempotent)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entry_id = UnicodeAttribute()


class ExchangeModel(Model):
    """pk=USER#<user_id>, sk=EXCHANGE#<exchange_id> (time-ordered): one reward exchanged for points."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    exchange_id = UnicodeAttribute()
    reward_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    points_spent = NumberAttribute()
    coupon_id = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    quantity = NumberAttribute(default=1)
    cash_fen = NumberAttribute(default=0)
    order_id = UnicodeAttribute(null=True)  # goods: the points_exchange order that ships them


class RewardModel(Model):
    """pk=POINTS_REWARDS, sk=REWARD#<reward_id>: a coupon (of a template) or goods (with stock) for points."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True, default=REWARDS_PK)
    sk = UnicodeAttribute(range_key=True)
    reward_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # coupon | goods
    title = UnicodeAttribute()
    image_url = UnicodeAttribute(null=True)
    points = NumberAttribute()
    coupon_template_id = UnicodeAttribute(null=True)
    stock = NumberAttribute(null=True)  # goods only
    cash_fen = NumberAttribute(default=0)  # goods only: paid on top of the points (0: points only)
    exchanged = NumberAttribute(default=0)
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PointsRulesModel(Model):
    """pk=POINTS_RULES, sk=CURRENT: the points rules an admin set (absent: the defaults of points.rules); written
    by admins only, read through a short cache."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True, default=RULES_PK)
    sk = UnicodeAttribute(range_key=True, default=RULES_SK)
    points_per_yuan_earned = NumberAttribute()
    points_per_yuan_deduction = NumberAttribute()
    max_deduction_share_percent = NumberAttribute()
    summary = ListAttribute(of=UnicodeAttribute, default=list)
    content = UnicodeAttribute(default="")
    updated_at = UnicodeAttribute()
