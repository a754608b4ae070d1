"""pynamodb models of coupons: templates in the marketing table, a user's coupons and claim counters in theirs."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

TEMPLATES_PK = "COUPON_TEMPLATES"
TEMPLATE_PREFIX = "TEMPLATE#"
COUPON_PREFIX = "COUPON#"
CLAIM_PREFIX = "COUPONCLAIM#"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class CouponTemplateModel(Model):
    """pk=COUPON_TEMPLATES, sk=TEMPLATE#<template_id>: terms, claim window, total and the issued counter."""

    Meta = table_meta(get_settings().marketing_table)

    pk = UnicodeAttribute(hash_key=True, default=TEMPLATES_PK)
    sk = UnicodeAttribute(range_key=True)
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    threshold_fen = NumberAttribute(default=0)
    amount_off_fen = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    max_discount_fen = NumberAttribute(null=True)
    valid_from = UnicodeAttribute(null=True)
    valid_to = UnicodeAttribute(null=True)
    valid_days = NumberAttribute(null=True)
    scope = UnicodeAttribute(default="all")
    scope_ids = ListAttribute(of=UnicodeAttribute, default=list)
    per_user_limit = NumberAttribute(default=1)
    total = NumberAttribute()
    issued = NumberAttribute(default=0)
    claimable = BooleanAttribute(null=True)  # false: only issued otherwise (points store); absent (older items): true
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class UserCouponModel(Model):
    """pk=USER#<user_id>, sk=COUPON#<coupon_id> (ids are time-ordered): one coupon the user holds."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    coupon_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    threshold_fen = NumberAttribute(default=0)
    amount_off_fen = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    max_discount_fen = NumberAttribute(null=True)
    scope = UnicodeAttribute(default="all")
    scope_ids = ListAttribute(of=UnicodeAttribute, default=list)
    valid_from = UnicodeAttribute()
    valid_to = UnicodeAttribute()
    status = UnicodeAttribute(default="unused")  # unused | used; locked and expired are derived
    claimed_at = UnicodeAttribute()
    source = UnicodeAttribute(default="claim")  # claim | exchange
    locked_by = UnicodeAttribute(null=True)  # the order holding it; kept once used
    locked_at = UnicodeAttribute(null=True)
    used_at = UnicodeAttribute(null=True)


class ClaimCounterModel(Model):
    """pk=USER#<user_id>, sk=COUPONCLAIM#<template_id>: how many coupons of a template the user has claimed."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    claimed = NumberAttribute(default=0)


WALLET_PREFIX = "CARTCOUPON#"  # right after the cart's CART# .. CARTCOUNT: the cart view reads both in one Query
LAST_EPOCH = 9_999_999_999


def wallet_sk(valid_to_epoch: int, coupon_id: str) -> str:
    """CARTCOUPON#<10 digits: LAST_EPOCH - valid_to>#<coupon_id>: the latest ending first, so the coupons still
    valid at a moment are exactly those from the prefix up to wallet_bound(moment)."""
    return f"{WALLET_PREFIX}{LAST_EPOCH - valid_to_epoch:010d}#{coupon_id}"


def wallet_bound(now_epoch: int) -> str:
    """The highest wallet sort key of a coupon still valid at now_epoch (valid_to > now)."""
    return f"{WALLET_PREFIX}{LAST_EPOCH - now_epoch - 1:010d}#~"


class WalletCouponModel(Model):
    """pk=USER#<user_id>, sk=wallet_sk(valid_to, coupon_id): a copy of the terms of a coupon the user may apply now
    (unused and unlocked), written with the coupon and deleted when an order locks it (put back when the order
    releases or gives it back). Expired ones fall outside the key range read, and TTL (expires_at) removes them."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    coupon_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    threshold_fen = NumberAttribute(default=0)
    amount_off_fen = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    max_discount_fen = NumberAttribute(null=True)
    scope = UnicodeAttribute(default="all")
    scope_ids = ListAttribute(of=UnicodeAttribute, default=list)
    valid_from = UnicodeAttribute()
    valid_to = UnicodeAttribute()
    expires_at = NumberAttribute()
