"""The one pricing engine (pure, no I/O): promotional prices, threshold discounts, coupons, points, shipping, quotes.

The order of application, each step on what the previous one left:
1. time-limited prices: each SKU's unit price is the lowest price of the flash_price promotions running for it,
   or its list price when none is lower;
2. threshold (满减) promotions: each line counts toward at most one of them. The running promotion that gives the
   biggest discount on the lines not yet claimed (its best tier reached by their subtotal) takes all its in-scope
   lines, then the next one among the lines left, and so on (ties: the smaller promotion id). A discount is shared
   out over the lines it covers in proportion to their totals, so every line knows what it costs after it;
3. one coupon, whose threshold counts what is payable after the promotions in its scope;
4. points, at most max_points_for(what is left), never over it;
5. shipping on the goods after discounts (points are a way to pay, not a discount; a coupon's discount is shared
   out over the lines it covers): the lines of each freight template by their weight for the address's province
   (free once they reach its free_over_fen; 409 UNDELIVERABLE to a province it excludes), the lines without one free
   from FREE_SHIPPING_FROM_FEN, else SHIPPING_FEE_FEN; nothing to ship ships free, and so does an order with no
   address yet (a cart or a preview of a customer who has none: shipping is priced once there is one).
No amount is ever negative: each discount is capped by what is left, so payable_fen is at least the shipping fee,
and 0 only when the discounts cover all the goods and no shipping is due.

checkout() is the one function the cart view, the checkout preview and order placement price through (by way of
chalicelib.pricing.checkout, which reads their inputs); unit_prices() is the one rule for a SKU's price today, which
product detail shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.coupons.domain import CouponOffer
from chalicelib.logistics.freight import FreightLine, template_fees
from chalicelib.membership.domain import member_price
from chalicelib.points.rules import DEFAULT_RULES, PointsRules, max_points_for, points_to_fen
from chalicelib.pricing.model import (
    BEST_COUPON,
    Checkout,
    CouponChoice,
    CouponVerdict,
    Destination,
    MemberRate,
    PricedLine,
    Quote,
)
from chalicelib.pricing.promotion import Promotion, PromotionScope, Tier

FREE_SHIPPING_FROM_FEN = 9900  # 99 yuan of goods after discounts
SHIPPING_FEE_FEN = 1000  # 10 yuan


def flash_prices(promotions: Iterable[Promotion], now: datetime) -> dict[str, tuple[int, str]]:
    """sku_id -> (lowest running promotional price, its promotion id); equal prices go to the smaller id."""
    best: dict[str, tuple[int, str]] = {}
    for promotion in promotions:
        if promotion.kind != "flash_price" or not promotion.is_running(now):
            continue
        for sku_id, price_fen in promotion.sku_prices:
            offer = (price_fen, promotion.promotion_id)
            if sku_id not in best or offer < best[sku_id]:
                best[sku_id] = offer
    return best


def unit_prices(
    list_prices: Mapping[str, int], promotions: Iterable[Promotion], now: datetime
) -> dict[str, tuple[int, str | None]]:
    """sku_id -> (its unit price today, the promotion giving it or None): the lowest running promotional price when
    it is below the list price, else the list price."""
    offers = flash_prices(promotions, now)
    prices: dict[str, tuple[int, str | None]] = {}
    for sku_id, list_price in list_prices.items():
        offer = offers.get(sku_id)
        prices[sku_id] = offer if offer is not None and offer[0] < int(list_price) else (int(list_price), None)
    return prices


def price_lines(
    skus: Sequence[Mapping[str, Any]],
    quantities: Mapping[str, int],
    promotions: Iterable[Promotion],
    now: datetime,
    roots: Mapping[str, str] | None = None,
    member: MemberRate | None = None,
) -> list[PricedLine]:
    """One line per SKU (catalog SKU records, in their order), priced at unit_prices(), then at the member's price
    where it is lower (member_unit_price). `roots` maps a leaf category id to its root, for scopes that name a root
    category."""
    prices = unit_prices({sku["sku_id"]: int(sku["price_fen"]) for sku in skus}, promotions, now)
    lines = []
    for sku in skus:
        list_price = int(sku["price_fen"])
        unit_price, promotion_id = prices[sku["sku_id"]]
        member_price_fen = member_unit_price(sku, unit_price, member)
        day_price = unit_price if member_price_fen is not None else None
        category_id = sku.get("category_id") or ""
        lines.append(
            PricedLine(
                sku_id=sku["sku_id"],
                product_id=sku["product_id"],
                category_id=category_id,
                brand_id=sku.get("brand_id") or "",
                quantity=int(quantities[sku["sku_id"]]),
                list_price_fen=list_price,
                unit_price_fen=unit_price if member_price_fen is None else member_price_fen,
                promotion_id=promotion_id,
                root_category_id=(roots or {}).get(category_id, category_id),
                day_price_fen=day_price,
                weight_g=int(sku.get("weight_g") or 0),
                freight_template_id=sku.get("freight_template_id") or None,
            )
        )
    return lines


def member_unit_price(sku: Mapping[str, Any], day_price_fen: int, member: MemberRate | None) -> int | None:
    """The member's price of a SKU (catalog record) when it is below the price of the day, else None."""
    if member is None:
        return None
    admin_price = (sku.get("level_prices") or {}).get(member.level)
    price = member_price(day_price_fen, member.discount_percent, admin_price)
    return price if 0 <= price < day_price_fen else None


def in_scope(scope: PromotionScope, scope_ids: Sequence[str], line: PricedLine) -> bool:
    """Whether a promotion's or coupon's scope covers a line: all, a leaf or root category, or a product."""
    if scope == "all":
        return True
    if scope == "category":
        return line.category_id in scope_ids or (bool(line.root_category_id) and line.root_category_id in scope_ids)
    return line.product_id in scope_ids


def tier_discount(tiers: Sequence[Tier], subtotal_fen: int) -> int:
    """The best tier reached by subtotal_fen (exactly at a threshold reaches it), capped by the subtotal."""
    reached = [tier.off_fen for tier in tiers if subtotal_fen >= tier.threshold_fen]
    return min(max(reached, default=0), max(subtotal_fen, 0))


def _share_out(amount_fen: int, weights: list[int]) -> list[int]:
    """amount_fen split in proportion to weights, in whole fen adding up exactly (largest remainders first)."""
    total = sum(weights)
    if total <= 0:
        return [0] * len(weights)
    shares = [amount_fen * weight // total for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount_fen * weights[i] % total), i))
    for i in remainders[: amount_fen - sum(shares)]:
        shares[i] += 1
    return shares


def apply_threshold_promotions(
    lines: Sequence[PricedLine], promotions: Iterable[Promotion], now: datetime
) -> tuple[list[PricedLine], tuple[str, ...]]:
    """The lines with their share of threshold discounts, and the ids of the promotions applied (in that order)."""
    running = sorted(
        (p for p in promotions if p.kind == "threshold" and p.is_running(now)), key=lambda p: p.promotion_id
    )
    shares = [0] * len(lines)
    claimed: set[int] = set()
    applied: list[str] = []
    while True:
        best: tuple[int, Promotion, list[int]] | None = None
        for promotion in running:
            if promotion.promotion_id in applied:
                continue
            covered = [
                i
                for i, line in enumerate(lines)
                if i not in claimed and in_scope(promotion.scope, promotion.scope_ids, line)
            ]
            discount = tier_discount(promotion.tiers, sum(lines[i].total_fen for i in covered))
            if discount > 0 and (best is None or discount > best[0]):
                best = (discount, promotion, covered)
        if best is None:
            break
        discount, promotion, covered = best
        for i, share in zip(covered, _share_out(discount, [lines[i].total_fen for i in covered]), strict=True):
            shares[i] = share
        claimed.update(covered)
        applied.append(promotion.promotion_id)
    return [replace(line, threshold_discount_fen=share) for line, share in zip(lines, shares, strict=True)], tuple(
        applied
    )


def coupon_discount(offer: CouponOffer, lines: Sequence[PricedLine]) -> int:
    """What a coupon takes off these lines (after promotions): 0 below its threshold or outside its scope."""
    subtotal = sum(line.payable_fen for line in lines if in_scope(offer.scope, offer.scope_ids, line))
    if subtotal <= 0 or subtotal < offer.threshold_fen:
        return 0
    if offer.type == "amount_off":
        discount = offer.amount_off_fen or 0
    else:
        discount = subtotal * (offer.percent_off or 0) // 100
        if offer.max_discount_fen is not None:
            discount = min(discount, offer.max_discount_fen)
    return max(min(discount, subtotal), 0)


def best_coupon(offers: Iterable[CouponOffer], lines: Sequence[PricedLine]) -> tuple[CouponOffer | None, int]:
    """The offer taking the most off (ties: the one expiring first, then the smaller coupon id), or (None, 0)."""
    best: tuple[tuple[int, str, str], CouponOffer, int] | None = None
    for offer in offers:
        discount = coupon_discount(offer, lines)
        if discount <= 0:
            continue
        rank = (-discount, offer.valid_to or "~", offer.coupon_id)  # no end date ranks after any date
        if best is None or rank < best[0]:
            best = (rank, offer, discount)
    return (best[1], best[2]) if best else (None, 0)


def shipping_fee(goods_fen: int, has_goods: bool = True, ships: bool = True) -> int:
    """Free from FREE_SHIPPING_FROM_FEN of goods after discounts, else SHIPPING_FEE_FEN; nothing to ship is free, and
    so is a cart or preview with no address to ship to yet (ships False)."""
    if not has_goods or not ships or goods_fen >= FREE_SHIPPING_FROM_FEN:
        return 0
    return SHIPPING_FEE_FEN


def shipping_of(
    lines: Sequence[PricedLine], coupon: CouponOffer | None, coupon_off: int, ships: bool, to: Destination | None
) -> int:
    """The shipping of lines (after promotions) with a coupon taking coupon_off: per freight template for the
    destination (template_fees), the shop's flat rule (shipping_fee) on the goods of the lines without one."""
    if not lines or not ships:
        return 0
    weights = [line.payable_fen if coupon and in_scope(coupon.scope, coupon.scope_ids, line) else 0 for line in lines]
    goods = [line.payable_fen - share for line, share in zip(lines, _share_out(coupon_off, weights), strict=True)]
    templates = to.templates if to is not None else {}
    flat = [fen for line, fen in zip(lines, goods, strict=True) if line.freight_template_id not in templates]
    fee = shipping_fee(sum(flat)) if flat else 0
    templated = [
        FreightLine(line.freight_template_id, line.weight_g * line.quantity, fen)
        for line, fen in zip(lines, goods, strict=True)
        if line.freight_template_id in templates
    ]
    return fee + (template_fees(to.province, templated, templates) if templated and to is not None else 0)


def quote(
    lines: Sequence[PricedLine],
    threshold_promotions: Iterable[Promotion],
    coupon: CouponOffer | None,
    points: int,
    now: datetime,
    ships: bool = True,
    points_rules: PointsRules = DEFAULT_RULES,
    to: Destination | None = None,
) -> Quote:
    """Every amount of an order (or a cart) of priced lines. A coupon that takes nothing off is left out
    (quote.coupon is None); points beyond what the order allows are not used (quote.points_used says how many)."""
    priced, applied_thresholds = apply_threshold_promotions(lines, threshold_promotions, now)
    return _quote_after_promotions(priced, applied_thresholds, coupon, points, ships, points_rules, to)


def _quote_after_promotions(
    priced: Sequence[PricedLine],
    applied_thresholds: tuple[str, ...],
    coupon: CouponOffer | None,
    points: int,
    ships: bool,
    points_rules: PointsRules,
    to: Destination | None,
) -> Quote:
    """quote() of lines that carry their threshold discounts already (apply_threshold_promotions)."""
    items_fen = sum(line.list_price_fen * line.quantity for line in priced)
    member_discount = sum(line.member_discount_fen for line in priced)
    promotion_discount = items_fen - sum(line.payable_fen for line in priced) - member_discount
    coupon_off = coupon_discount(coupon, priced) if coupon is not None else 0
    goods_fen = items_fen - promotion_discount - member_discount - coupon_off
    points_used = min(max(points, 0), max_points_for(goods_fen, points_rules))
    points_deduction = min(points_to_fen(points_used, points_rules), goods_fen)
    shipping = shipping_of(priced, coupon if coupon_off > 0 else None, coupon_off, ships, to)
    flash_ids = sorted({line.promotion_id for line in priced if line.promotion_id})
    return Quote(
        lines=tuple(priced),
        items_fen=items_fen,
        promotion_discount_fen=promotion_discount,
        coupon_discount_fen=coupon_off,
        points_used=points_used,
        points_deduction_fen=points_deduction,
        shipping_fen=shipping,
        payable_fen=goods_fen - points_deduction + shipping,
        coupon=coupon if coupon_off > 0 else None,
        applied_promotions=(*flash_ids, *applied_thresholds),
        member_discount_fen=member_discount,
    )


def yuan(fen: int) -> str:
    """An amount for a message: ¥1234.50."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def coupon_refusal(offer: CouponOffer, lines: Sequence[PricedLine]) -> str | None:
    """Why a coupon takes nothing off these lines (after promotions), in words a shopper can act on; None if it
    applies."""
    if coupon_discount(offer, lines) > 0:
        return None
    eligible = [line for line in lines if in_scope(offer.scope, offer.scope_ids, line)]
    if not eligible:
        return "It applies to none of these items"
    goods_fen = sum(line.payable_fen for line in eligible)
    if goods_fen < offer.threshold_fen:
        where = "goods" if offer.scope == "all" else "goods it applies to"
        return (
            f"It needs {yuan(offer.threshold_fen)} of {where} and these come to {yuan(goods_fen)}: add "
            f"{yuan(offer.threshold_fen - goods_fen)} more, or choose another coupon"
        )
    return "It takes nothing off these items"


def checkout(
    lines: Sequence[PricedLine],
    promotions: Iterable[Promotion],
    offers: Sequence[CouponOffer],
    coupon: CouponChoice,
    points: int,
    now: datetime,
    ships: bool = True,
    points_rules: PointsRules = DEFAULT_RULES,
    to: Destination | None = None,
) -> Checkout:
    """A cart, a preview or an order priced: the quote with the chosen coupon (BEST_COUPON: the offer taking the
    most off, as best_coupon; None: none; an offer: that one, left out of the quote if it takes nothing off), what
    every offer would take off or why it would not, and the most points these goods allow."""
    after_promotions, applied_thresholds = apply_threshold_promotions(lines, promotions, now)
    verdicts = sorted(
        (
            CouponVerdict(offer, coupon_discount(offer, after_promotions), coupon_refusal(offer, after_promotions))
            for offer in offers
        ),
        key=lambda v: (-v.discount_fen, v.offer.valid_to or "~", v.offer.coupon_id),
    )
    chosen = best_coupon(offers, after_promotions)[0] if coupon is BEST_COUPON else coupon
    offer = chosen if isinstance(chosen, CouponOffer) else None
    priced = _quote_after_promotions(after_promotions, applied_thresholds, offer, points, ships, points_rules, to)
    goods_fen = priced.items_fen - priced.discount_fen
    return Checkout(quote=priced, coupons=tuple(verdicts), points_cap=max_points_for(goods_fen, points_rules))
