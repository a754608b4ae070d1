"""The values pricing works on: what a line costs, what a quote adds up to (no I/O here); what a coupon offers is
the coupons context's CouponOffer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from chalicelib.coupons.domain import CouponOffer
from chalicelib.logistics.freight import FreightTemplate


@dataclass(frozen=True)
class PricedLine:
    """One cart or order line at today's prices."""

    sku_id: str
    product_id: str
    category_id: str
    brand_id: str
    quantity: int
    list_price_fen: int  # the SKU's catalog price
    unit_price_fen: int  # after a time-limited promotional price, then the member price, if they apply
    promotion_id: str | None = None
    root_category_id: str = ""  # the leaf category's root, so a scope naming a root category matches
    threshold_discount_fen: int = 0  # this line's share of the threshold (满减) discounts applied to it
    day_price_fen: int | None = None  # the price of the day when a lower member price is unit_price_fen, else None
    weight_g: int = 0  # of one unit
    freight_template_id: str | None = None  # its product's freight template (None: the shop's flat rule)

    @property
    def member_price_fen(self) -> int | None:
        return self.unit_price_fen if self.day_price_fen is not None else None

    @property
    def member_discount_fen(self) -> int:
        """What the member price takes off the line (0 without one)."""
        return (self.day_price_fen - self.unit_price_fen) * self.quantity if self.day_price_fen is not None else 0

    @property
    def total_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def payable_fen(self) -> int:
        """What the line costs after its promotional price and its share of threshold discounts."""
        return self.total_fen - self.threshold_discount_fen


@dataclass(frozen=True)
class Quote:
    """What the customer pays, and why. Every amount in fen; payable_fen = items - discounts - points + shipping."""

    lines: tuple[PricedLine, ...]
    items_fen: int  # sum of line totals at list price
    promotion_discount_fen: int  # time-limited prices and threshold (满减) discounts
    coupon_discount_fen: int
    points_used: int
    points_deduction_fen: int
    shipping_fen: int
    payable_fen: int
    coupon: CouponOffer | None = None
    applied_promotions: tuple[str, ...] = field(default_factory=tuple)
    member_discount_fen: int = 0  # member prices below the price of the day

    @property
    def discount_fen(self) -> int:
        return self.promotion_discount_fen + self.member_discount_fen + self.coupon_discount_fen


@dataclass(frozen=True)
class Destination:
    """Where the goods ship: the address's province, and the freight templates its lines name (found ones)."""

    province: str
    templates: Mapping[str, FreightTemplate] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberRate:
    """What a member's level gives: its discount, and staff's prices per SKU at it (in the SKU records)."""

    level: int
    discount_percent: int


class BestCoupon(Enum):
    """The coupon of a request that names none: the one taking the most off."""

    BEST = "best"


BEST_COUPON: Final = BestCoupon.BEST
CouponChoice = CouponOffer | BestCoupon | None  # that coupon, the best one, or none


@dataclass(frozen=True)
class CouponVerdict:
    """What one of the customer's usable coupons would do for these lines."""

    offer: CouponOffer
    discount_fen: int  # what it would take off (0: it does not apply)
    reason: str | None  # why it does not apply, for the shopper; None when it does


@dataclass(frozen=True)
class Checkout:
    """A priced cart, preview or order: the quote, every usable coupon's verdict (best first), the points cap."""

    quote: Quote
    coupons: tuple[CouponVerdict, ...]
    points_cap: int  # the most points these goods allow (MAX_DEDUCTION_SHARE_PERCENT of them, whole yuan)

    @property
    def applicable(self) -> tuple[CouponVerdict, ...]:
        return tuple(v for v in self.coupons if v.discount_fen > 0)

    @property
    def unavailable(self) -> tuple[CouponVerdict, ...]:
        return tuple(v for v in self.coupons if v.discount_fen <= 0)
