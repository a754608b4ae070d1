"""The pricing engine on hand-made carts with answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.coupons.domain import CouponOffer
from chalicelib.pricing.engine import (
    SHIPPING_FEE_FEN,
    apply_threshold_promotions,
    best_coupon,
    checkout,
    coupon_discount,
    price_lines,
    quote,
    unit_prices,
)
from chalicelib.pricing.model import BEST_COUPON, PricedLine
from chalicelib.pricing.promotion import Promotion, Tier

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
ROOTS = {"c_phone": "c_digital", "c_earphone": "c_digital", "c_snack": "c_food"}


def sku(sku_id: str, price_fen: int, category_id: str = "c_phone") -> dict[str, Any]:
    return {"sku_id": sku_id, "product_id": sku_id.rsplit("-", 1)[0], "price_fen": price_fen,
            "category_id": category_id, "brand_id": "b_x"}  # fmt: skip


def line(sku_id: str, price_fen: int, quantity: int = 1, category_id: str = "c_phone") -> PricedLine:
    return price_lines([sku(sku_id, price_fen, category_id)], {sku_id: quantity}, [], NOW, ROOTS)[0]


def flash(promotion_id: str, prices: dict[str, int], starts: datetime = NOW, hours: int = 2) -> Promotion:
    return Promotion(promotion_id, "限时折扣", "flash_price", starts, starts + timedelta(hours=hours),
                     sku_prices=tuple(prices.items()))  # fmt: skip


def threshold(
    promotion_id: str, tiers: list[tuple[int, int]], scope: str = "all", scope_ids: tuple[str, ...] = ()
) -> Promotion:
    return Promotion(promotion_id, "满减", "threshold", NOW - timedelta(days=1), NOW + timedelta(days=1),
                     tiers=tuple(Tier(t, off) for t, off in tiers), scope=scope, scope_ids=scope_ids)  # fmt: skip


def amount_coupon(coupon_id: str, amount: int, threshold_fen: int = 0, valid_to: str = "2026-12-31T00:00:00Z",
                  **kwargs: Any) -> CouponOffer:  # fmt: skip
    return CouponOffer(coupon_id, "t_1", "满减券", "amount_off", threshold_fen, amount_off_fen=amount,
                       valid_to=valid_to, **kwargs)  # fmt: skip


def percent_coupon(coupon_id: str, percent: int, cap: int | None = None, **kwargs: Any) -> CouponOffer:
    return CouponOffer(coupon_id, "t_2", "折扣券", "percent_off", 0, percent_off=percent, max_discount_fen=cap,
                       valid_to="2026-12-31T00:00:00Z", **kwargs)  # fmt: skip


# -- time-limited prices -------------------------------------------------------------------------------------------


def test_the_lowest_running_promotional_price_wins_over_the_list_price() -> None:
    promotions = [flash("pr_a", {"p_1-01": 8000}), flash("pr_b", {"p_1-01": 7500}), flash("pr_c", {"p_1-01": 9000})]

    [priced] = price_lines([sku("p_1-01", 10000)], {"p_1-01": 2}, promotions, NOW)

    assert (priced.unit_price_fen, priced.promotion_id, priced.total_fen) == (7500, "pr_b", 15000)


def test_a_window_counts_from_its_start_instant_and_not_at_its_end_instant() -> None:
    starting_now = flash("pr_start", {"p_1-01": 8000}, starts=NOW)
    ending_now = flash("pr_end", {"p_2-01": 8000}, starts=NOW - timedelta(hours=2), hours=2)

    lines = price_lines([sku("p_1-01", 10000), sku("p_2-01", 10000)], {"p_1-01": 1, "p_2-01": 1},
                        [starting_now, ending_now], NOW)  # fmt: skip

    assert [(x.unit_price_fen, x.promotion_id) for x in lines] == [(8000, "pr_start"), (10000, None)]


def test_a_promotional_price_above_a_lowered_list_price_is_ignored() -> None:
    [priced] = price_lines([sku("p_1-01", 7000)], {"p_1-01": 1}, [flash("pr_a", {"p_1-01": 8000})], NOW)

    assert (priced.unit_price_fen, priced.promotion_id) == (7000, None)


# -- threshold discounts -------------------------------------------------------------------------------------------


def test_exactly_at_a_threshold_reaches_it_and_the_best_tier_is_taken() -> None:
    tiers = [(30000, 3000), (50000, 6000)]

    at_first = quote([line("p_1-01", 30000)], [threshold("pr_t", tiers)], None, 0, NOW)
    just_below = quote([line("p_1-01", 29999)], [threshold("pr_t", tiers)], None, 0, NOW)
    past_second = quote([line("p_1-01", 26000, quantity=2)], [threshold("pr_t", tiers)], None, 0, NOW)

    assert at_first.promotion_discount_fen == 3000
    assert just_below.promotion_discount_fen == 0
    assert past_second.promotion_discount_fen == 6000


def test_thresholds_count_the_promotional_prices_not_the_list_prices() -> None:
    lines = price_lines([sku("p_1-01", 32000)], {"p_1-01": 1}, [flash("pr_f", {"p_1-01": 29000})], NOW)

    result = quote(lines, [threshold("pr_t", [(30000, 3000)])], None, 0, NOW)

    assert (result.items_fen, result.promotion_discount_fen) == (32000, 3000)  # 3000 off the price, nothing more
    assert result.applied_promotions == ("pr_f",)


def test_a_scope_naming_a_root_category_covers_its_leaf_categories_only() -> None:
    lines = [line("p_1-01", 15000, category_id="c_phone"), line("p_2-01", 6000, category_id="c_earphone"),
             line("p_3-01", 9000, category_id="c_snack")]  # fmt: skip

    result = quote(lines, [threshold("pr_digital", [(19900, 2000)], "category", ("c_digital",))], None, 0, NOW)

    assert result.promotion_discount_fen == 2000
    assert [x.threshold_discount_fen for x in result.lines] == [1429, 571, 0]  # shared in proportion, whole fen


def test_each_line_counts_toward_one_threshold_promotion_the_best_one_first() -> None:
    lines = [line("p_1-01", 25000, category_id="c_phone"), line("p_2-01", 10000, category_id="c_snack")]
    on_all = threshold("pr_all", [(30000, 3000)])
    on_digital = threshold("pr_digital", [(19900, 2000)], "category", ("c_digital",))

    result = quote(lines, [on_all, on_digital], None, 0, NOW)

    # pr_all on both lines (3000) beats pr_digital on the phone (2000); nothing is left for pr_digital then.
    assert (result.promotion_discount_fen, result.applied_promotions) == (3000, ("pr_all",))


def test_a_second_threshold_promotion_applies_to_the_lines_the_first_left() -> None:
    lines = [line("p_1-01", 25000, category_id="c_phone"), line("p_2-01", 20000, category_id="c_snack")]
    on_digital = threshold("pr_digital", [(19900, 2000)], "category", ("c_digital",))
    on_food = threshold("pr_food", [(15000, 1500)], "category", ("c_food",))

    result = quote(lines, [on_food, on_digital], None, 0, NOW)

    assert (result.promotion_discount_fen, result.applied_promotions) == (3500, ("pr_digital", "pr_food"))


# -- coupons -------------------------------------------------------------------------------------------------------


def test_a_coupon_threshold_counts_what_is_payable_after_promotions() -> None:
    lines = [line("p_1-01", 30000)]
    priced, _ = apply_threshold_promotions(lines, [threshold("pr_t", [(30000, 3000)])], NOW)

    assert coupon_discount(amount_coupon("cp_1", 2000, threshold_fen=30000), priced) == 0  # 27000 left
    assert coupon_discount(amount_coupon("cp_2", 2000, threshold_fen=27000), priced) == 2000


def test_an_amount_off_coupon_takes_no_more_than_its_scope_costs() -> None:
    lines = [line("p_1-01", 500, category_id="c_snack"), line("p_2-01", 99900)]
    offer = amount_coupon("cp_1", 1000, scope="category", scope_ids=("c_food",))

    assert coupon_discount(offer, lines) == 500


def test_a_coupon_for_another_scope_takes_nothing() -> None:
    offer = amount_coupon("cp_1", 1000, scope="product", scope_ids=("p_9",))

    assert coupon_discount(offer, [line("p_1-01", 50000)]) == 0


def test_a_percent_coupon_rounds_down_to_the_fen_and_stops_at_its_cap() -> None:
    assert coupon_discount(percent_coupon("cp_1", 15), [line("p_1-01", 9999)]) == 1499  # 1499.85 -> 1499
    assert coupon_discount(percent_coupon("cp_2", 15, cap=1000), [line("p_1-01", 9999)]) == 1000


def test_the_best_coupon_takes_the_most_off_and_ties_go_to_the_one_expiring_first() -> None:
    lines = [line("p_1-01", 20000)]
    later = amount_coupon("cp_a", 3000, valid_to="2026-12-31T00:00:00Z")
    sooner = amount_coupon("cp_b", 3000, valid_to="2026-11-30T00:00:00Z")
    smaller = amount_coupon("cp_c", 2000, valid_to="2026-11-12T00:00:00Z")
    out_of_reach = amount_coupon("cp_d", 9000, threshold_fen=50000)

    assert best_coupon([later, smaller, sooner, out_of_reach], lines) == (sooner, 3000)
    assert best_coupon([out_of_reach], lines) == (None, 0)


# -- quotes --------------------------------------------------------------------------------------------------------


def test_a_quote_adds_up_promotions_coupon_points_and_free_shipping() -> None:
    lines = price_lines([sku("p_1-01", 40000)], {"p_1-01": 1}, [flash("pr_f", {"p_1-01": 35000})], NOW)
    coupon = amount_coupon("cp_1", 1000, threshold_fen=20000)

    result = quote(lines, [threshold("pr_t", [(30000, 3000)])], coupon, 500, NOW)

    assert (result.items_fen, result.promotion_discount_fen, result.coupon_discount_fen) == (40000, 8000, 1000)
    assert (result.points_used, result.points_deduction_fen, result.shipping_fen) == (500, 500, 0)
    assert result.payable_fen == 40000 - 8000 - 1000 - 500
    assert result.coupon == coupon and result.discount_fen == 9000


def test_points_stop_at_half_of_what_is_payable_and_cheap_orders_pay_shipping() -> None:
    result = quote([line("p_1-01", 5000)], [], None, 10_000, NOW)

    assert (result.points_used, result.points_deduction_fen) == (2500, 2500)
    assert (result.shipping_fen, result.payable_fen) == (SHIPPING_FEE_FEN, 5000 - 2500 + SHIPPING_FEE_FEN)


def test_shipping_is_free_from_99_yuan_after_discounts() -> None:
    at_99 = quote([line("p_1-01", 9900)], [], None, 0, NOW)
    under_99_after_coupon = quote([line("p_1-01", 10000)], [], amount_coupon("cp_1", 200), 0, NOW)

    assert at_99.shipping_fen == 0
    assert (under_99_after_coupon.shipping_fen, under_99_after_coupon.payable_fen) == (1000, 10800)


def test_a_coupon_covering_everything_leaves_only_shipping_and_nothing_is_negative() -> None:
    result = quote([line("p_1-01", 800)], [], amount_coupon("cp_1", 5000), 1000, NOW)

    assert (result.coupon_discount_fen, result.points_used, result.points_deduction_fen) == (800, 0, 0)
    assert result.payable_fen == SHIPPING_FEE_FEN


def test_an_empty_quote_is_all_zero() -> None:
    result = quote([], [threshold("pr_t", [(100, 50)])], amount_coupon("cp_1", 100), 100, NOW)

    assert (result.items_fen, result.discount_fen, result.shipping_fen, result.payable_fen) == (0, 0, 0, 0)
    assert result.coupon is None


# -- checkout: the one call the cart, the preview and orders price through -----------------------------------------


def test_unit_prices_take_a_promotional_price_only_below_the_list_price() -> None:
    promotions = [flash("pr_a", {"p_1-01": 8000, "p_2-01": 12000})]

    prices = unit_prices({"p_1-01": 9000, "p_2-01": 10000, "p_3-01": 500}, promotions, NOW)

    assert prices == {"p_1-01": (8000, "pr_a"), "p_2-01": (10000, None), "p_3-01": (500, None)}


def test_checkout_takes_the_best_coupon_none_or_the_one_named_and_judges_every_offer() -> None:
    lines = [line("p_1-01", 30000)]
    small, big = amount_coupon("cp_s", 1000), amount_coupon("cp_b", 3000, threshold_fen=30000)
    far = amount_coupon("cp_far", 5000, threshold_fen=50000)
    offers = [small, big, far]

    best = checkout(lines, [], offers, BEST_COUPON, 0, NOW)
    none = checkout(lines, [], offers, None, 0, NOW)
    named = checkout(lines, [], offers, small, 0, NOW)

    assert best.quote.coupon == big and best.quote.payable_fen == 27000
    assert none.quote.coupon is None and none.quote.payable_fen == 30000
    assert named.quote.coupon == small and named.quote.payable_fen == 29000
    assert [(v.offer.coupon_id, v.discount_fen) for v in best.applicable] == [("cp_b", 3000), ("cp_s", 1000)]
    [unavailable] = best.unavailable
    assert unavailable.offer == far
    assert unavailable.reason == (
        "It needs ¥500.00 of goods and these come to ¥300.00: add ¥200.00 more, or choose another coupon"
    )


def test_a_coupon_out_of_scope_is_refused_for_its_scope_and_the_points_cap_is_half_the_goods_after_it() -> None:
    lines = [line("p_1-01", 10000)]
    snacks = amount_coupon("cp_food", 500, scope="category", scope_ids=("c_food",))

    result = checkout(lines, [], [snacks], snacks, 10000, NOW)

    assert result.quote.coupon is None and result.coupons[0].reason == "It applies to none of these items"
    assert result.points_cap == 5000 and result.quote.points_used == 5000


def test_without_an_address_there_is_no_shipping_yet() -> None:
    lines = [line("p_1-01", 5000)]

    assert checkout(lines, [], [], None, 0, NOW, ships=False).quote.shipping_fen == 0
    assert checkout(lines, [], [], None, 0, NOW).quote.shipping_fen == SHIPPING_FEE_FEN
