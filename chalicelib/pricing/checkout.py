"""The one pricing path of the cart view, the checkout preview and order placement: the same inputs (today's unit
prices and category roots from the catalog, running promotions, the customer's usable coupons and points) priced by
the same engine.checkout call, and the same refusals of a coupon or points that cannot be used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.catalog.service import category_tree
from chalicelib.coupons import service as coupons_service
from chalicelib.coupons.domain import CouponOffer
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.dynamo import PendingSlice
from chalicelib.errors import Conflict, ValidationError
from chalicelib.logistics.repository import FreightTemplates
from chalicelib.membership.domain import level_of
from chalicelib.membership.repository import MembershipRepository
from chalicelib.membership.service import level_cache
from chalicelib.points.domain import NotEnoughPoints
from chalicelib.points.rules import DEFAULT_RULES, MAX_DEDUCTION_SHARE_PERCENT, PointsRules, is_usable_amount
from chalicelib.pricing import engine
from chalicelib.pricing.model import (
    BEST_COUPON,
    BestCoupon,
    Checkout,
    CouponChoice,
    Destination,
    MemberRate,
    PricedLine,
)
from chalicelib.pricing.promotion import Promotion

CouponRequest = str | BestCoupon | None  # a coupon id, BEST_COUPON (none named), or None (none wanted)


class CouponNotApplicable(Conflict):
    """The coupon named for an order takes nothing off it (below its threshold, or none of its items in scope)."""

    code, default_message = "COUPON_NOT_APPLICABLE", "This coupon cannot be used on this order"


class PriceChanged(Conflict):
    """The order would charge another amount than the one the customer was shown (expected_payable_fen)."""

    code, default_message = "PRICE_CHANGED", "The price changed: preview the order again"


class PointsOverCap(Conflict):
    """More points than the order allows: points pay at most MAX_DEDUCTION_SHARE_PERCENT of the goods."""

    default_message = f"Points pay at most {MAX_DEDUCTION_SHARE_PERCENT}% of an order"


class CouponSource(Protocol):
    """The customer's coupons as pricing sees them."""

    def usable(self, user_id: str, now: datetime) -> list[CouponOffer]:
        """Every coupon of the user that may be applied now (unused, unlocked, inside its window)."""

    def named(self, user_id: str, coupon_id: str, now: datetime) -> CouponOffer:
        """One coupon the user names: NotFound if not theirs, InvalidState if it cannot be used now."""

    def usable_slice(self, user_id: str, now: datetime) -> PendingSlice[list[CouponOffer]]:
        """`usable` as a slice of the user's partition, read with others (dynamo.read_slices)."""
        return PendingSlice(None, user_id, "", "", lambda _: self.usable(user_id, now))


class StoredCoupons:
    """CouponSource on the coupons context."""

    def __init__(self, repo: CouponsRepository) -> None:
        self.repo = repo

    def usable(self, user_id: str, now: datetime) -> list[CouponOffer]:
        return coupons_service.usable_offers(self.repo, user_id, now)

    def named(self, user_id: str, coupon_id: str, now: datetime) -> CouponOffer:
        return coupons_service.usable_offer(self.repo, user_id, coupon_id, now)

    def usable_slice(self, user_id: str, now: datetime) -> PendingSlice[list[CouponOffer]]:
        wallet = self.repo.wallet_slice(user_id, now)
        return PendingSlice(wallet.table, wallet.hash_key, wallet.low, wallet.high,
                            lambda raw: coupons_service.offers_of(wallet.parse(raw), now))  # fmt: skip


class KnownCoupons:
    """A CouponSource whose usable coupons were read already (with the cart, in one Query)."""

    def __init__(self, offers: list[CouponOffer], source: CouponSource) -> None:
        self.offers, self.source = offers, source

    def usable(self, user_id: str, now: datetime) -> list[CouponOffer]:
        return list(self.offers)

    def named(self, user_id: str, coupon_id: str, now: datetime) -> CouponOffer:
        return self.source.named(user_id, coupon_id, now)

    def usable_slice(self, user_id: str, now: datetime) -> PendingSlice[list[CouponOffer]]:
        return PendingSlice(None, user_id, "", "", lambda _: list(self.offers))


def category_roots(catalog: CatalogRepository) -> Mapping[str, str]:
    """Leaf category id -> its root (a root maps to itself), for scopes naming a root category: made with each read
    of the cached category tree, not on every priced request."""
    return category_tree.roots(catalog)


def priced_lines(
    catalog: CatalogRepository,
    skus: Sequence[Mapping[str, Any]],
    quantities: Mapping[str, int],
    promotions: Sequence[Promotion],
    now: datetime,
    member: MemberRate | None = None,
) -> list[PricedLine]:
    """Catalog SKU records (in their order) as lines at today's unit prices (engine.unit_prices), at the member's
    prices where lower."""
    return engine.price_lines(skus, quantities, promotions, now, category_roots(catalog), member) if skus else []


def destination(
    freight: FreightTemplates, lines: Sequence[PricedLine], address: Mapping[str, Any] | None
) -> Destination | None:
    """Where these lines ship (None: no address yet), with the freight templates they name (one BatchGetItem, none
    when no line names one)."""
    if address is None:
        return None
    wanted = sorted({line.freight_template_id for line in lines if line.freight_template_id})
    return Destination(str(address.get("province") or ""), freight.templates(wanted) if wanted else {})


def line_at(sku: Mapping[str, Any], quantity: int, unit_price_fen: int, now: datetime) -> PricedLine:
    """A SKU (catalog record) bought at a price set elsewhere (a flash sale's promo price): no promotion or member
    price, its weight and freight template as any line."""
    line = engine.price_lines([sku], {sku["sku_id"]: quantity}, (), now)[0]
    return replace(line, unit_price_fen=unit_price_fen)


def shipping_to(freight: FreightTemplates, lines: Sequence[PricedLine], address: Mapping[str, Any] | None) -> int:
    """The usual shipping of lines bought without coupon or threshold discount (a flash-sale order): per freight
    template for the address's province, the flat rule for the rest (engine.shipping_of); 409 UNDELIVERABLE when a
    template excludes the province."""
    return engine.shipping_of(lines, None, 0, True, destination(freight, lines, address))


def member_rate(membership: MembershipRepository | None, growth: int | None) -> MemberRate | None:
    """The level a member's growth reaches under the current table (cached, see membership.service.LevelCache);
    None for no member (a guest)."""
    if membership is None or growth is None:
        return None
    level = level_of(level_cache.get(membership)["items"], growth)[0]
    return MemberRate(level["level"], level["discount_percent"])


def price(
    lines: Sequence[PricedLine],
    promotions: Sequence[Promotion],
    coupons: CouponSource,
    user_id: str,
    *,
    coupon: CouponRequest = BEST_COUPON,
    points: int = 0,
    balance: int | None = None,
    ships: bool = True,
    to: Destination | None = None,
    now: datetime,
    points_rules: PointsRules = DEFAULT_RULES,
) -> Checkout:
    """Price these lines for the user: the coupon asked for (BEST_COUPON: the best applicable, as the cart shows it;
    None: none; an id: that one), `points` of a `balance` (None: not asked), shipping when there is an address.

    400 for points not in whole yuan; 404 / 409 INVALID_STATE for a named coupon that is not the user's or not
    usable now; 409 COUPON_NOT_APPLICABLE (the threshold and the goods in yuan) for one that takes nothing off;
    409 CONFLICT for points over the balance or the cap (saying how many may be used)."""
    step = points_rules.points_per_yuan_deduction
    if not is_usable_amount(points, points_rules):
        raise ValidationError(
            f"Points are used in whole yuan: give a multiple of {step}",
            errors=[{"field": "points", "message": f"Must be a multiple of {step}."}],
        )
    offers = coupons.usable(user_id, now)
    choice: CouponChoice = coupon if not isinstance(coupon, str) else None
    if isinstance(coupon, str):
        choice = next((o for o in offers if o.coupon_id == coupon), None) or coupons.named(user_id, coupon, now)
    result = engine.checkout(lines, promotions, offers, choice, points, now, ships, points_rules, to)
    if isinstance(choice, CouponOffer) and result.quote.coupon is None:
        reason = engine.coupon_refusal(choice, result.quote.lines) or "It takes nothing off these items"
        raise CouponNotApplicable(f"This coupon cannot be used on this order. {reason}.", coupon_id=choice.coupon_id)
    if points:
        usable = max_usable_points(result, balance, points_rules)
        if points > result.points_cap:
            raise PointsOverCap(
                f"Points pay at most {points_rules.max_deduction_share_percent}% of an order: use at most {usable} "
                "points on this one",
                max_usable=usable,
            )
        if balance is not None and points > balance:
            raise NotEnoughPoints(f"You have {balance} points: use at most {usable} on this order", max_usable=usable)
    return result


def max_usable_points(result: Checkout, balance: int | None, points_rules: PointsRules = DEFAULT_RULES) -> int:
    """The most points this order may use: the cap on its goods, and no more than the balance (in whole yuan)."""
    if balance is None:
        return result.points_cap
    step = points_rules.points_per_yuan_deduction
    return min(result.points_cap, max(balance, 0) // step * step)


def check_expected(result: Checkout, expected_payable_fen: int | None) -> None:
    """409 PRICE_CHANGED when the customer was shown another payable amount than this one."""
    payable = result.quote.payable_fen
    if expected_payable_fen is not None and expected_payable_fen != payable:
        raise PriceChanged(
            f"This order now costs {engine.yuan(payable)}, not the {engine.yuan(expected_payable_fen)} you were "
            "shown: preview it again and confirm the new amount",
            payable_fen=payable,
            expected_payable_fen=expected_payable_fen,
        )
