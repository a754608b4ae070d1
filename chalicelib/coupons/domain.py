"""What a coupon template and a user's coupon are, their validity and status rules, independent of storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from chalicelib.clock import iso, parse_iso
from chalicelib.errors import Conflict, InvalidState

CouponStatus = Literal["unused", "locked", "used", "expired"]
CouponType = Literal["amount_off", "percent_off"]
CouponScope = Literal["all", "category", "product"]
UNUSED = "unused"
USED = "used"


@dataclass(frozen=True)
class CouponOffer:
    """One of the user's unused, currently valid coupons, as pricing needs to see it.

    percent_off is the share taken off, 1..99 (15 = 15 % off, i.e. 八五折); max_discount_fen caps it.
    scope_ids names the categories (leaf or root) or products the coupon is limited to.
    """

    coupon_id: str
    template_id: str
    name: str
    type: CouponType
    threshold_fen: int
    scope: CouponScope = "all"
    scope_ids: tuple[str, ...] = ()
    amount_off_fen: int | None = None
    percent_off: int | None = None
    max_discount_fen: int | None = None
    valid_to: str = ""


class NoneLeft(Conflict):
    """Every coupon of the template has been issued."""

    default_message = "No coupons of this kind are left"


class ClaimLimitReached(Conflict):
    """The user already holds as many coupons of this template as it allows."""

    default_message = "You have claimed this coupon as many times as allowed"


class TemplateChanged(Conflict):
    """The template changed between reading it and issuing from it: read it again."""

    default_message = "This coupon changed meanwhile, retry"


class NotClaimable(InvalidState):
    """The template is outside its claim window."""

    default_message = "This coupon cannot be claimed now"


class ExchangeOnly(Conflict):
    """The template is not claimable: its coupons are only issued otherwise (sold in the points store, say)."""

    code, default_message = (
        "NOT_CLAIMABLE",
        "This coupon cannot be claimed: it is only given out another way, such as the points store",
    )


def is_claimable(template: dict[str, Any], now: datetime) -> bool:
    """Inside the claim window: a fixed-validity template until its valid_to; a valid_days one inside its optional
    valid_from..valid_to window. A sold-out template is not claimable either."""
    if template["issued"] >= template["total"]:
        return False
    if template.get("valid_days") and template.get("valid_from") and now < parse_iso(template["valid_from"]):
        return False
    return not (template.get("valid_to") and now >= parse_iso(template["valid_to"]))


def coupon_validity(template: dict[str, Any], claimed_at: datetime) -> tuple[str, str]:
    """(valid_from, valid_to) of a coupon issued now: the template's fixed window, or valid_days from the claim."""
    if template.get("valid_days"):
        return iso(claimed_at), iso(claimed_at + timedelta(days=int(template["valid_days"])))
    return str(template["valid_from"]), str(template["valid_to"])


TERMS = ("template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off", "max_discount_fen", "scope")


def new_coupon(template: dict[str, Any], coupon_id: str, now: datetime, source: str) -> dict[str, Any]:
    """A user's coupon issued from a template: a snapshot of its terms, so later template edits never change it."""
    valid_from, valid_to = coupon_validity(template, now)
    return {
        "coupon_id": coupon_id,
        **{name: template.get(name) for name in TERMS},
        "scope_ids": list(template.get("scope_ids") or []),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "status": UNUSED,
        "claimed_at": iso(now),
        "source": source,
        "template_updated_at": template["updated_at"],
    }


def status_of(coupon: dict[str, Any], now: datetime) -> CouponStatus:
    """used > locked (held by an unpaid order) > expired (valid_to passed) > unused."""
    if coupon["status"] == USED:
        return "used"
    if coupon.get("locked_by"):
        return "locked"
    if now >= parse_iso(coupon["valid_to"]):
        return "expired"
    return "unused"


def is_usable(coupon: dict[str, Any], now: datetime) -> bool:
    """Unused, unlocked and inside its validity window: what the cart and an order may apply."""
    return status_of(coupon, now) == "unused" and parse_iso(coupon["valid_from"]) <= now


def offer_of(coupon: dict[str, Any]) -> CouponOffer:
    return CouponOffer(
        coupon_id=coupon["coupon_id"],
        template_id=coupon["template_id"],
        name=coupon["name"],
        type=coupon["type"],
        threshold_fen=int(coupon["threshold_fen"]),
        scope=coupon["scope"],
        scope_ids=tuple(coupon.get("scope_ids") or ()),
        amount_off_fen=coupon.get("amount_off_fen"),
        percent_off=coupon.get("percent_off"),
        max_discount_fen=coupon.get("max_discount_fen"),
        valid_to=coupon["valid_to"],
    )
