"""The members club's pricing and growth rules as plain values: the member price, growth per paid yuan, and what a
refund takes back."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.membership.domain import growth_for_paid, growth_taken_back, member_price
from chalicelib.pricing import engine
from chalicelib.pricing.model import MemberRate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sku(sku_id: str, price_fen: int, level_prices: dict[int, int] | None = None) -> dict[str, object]:
    return {"sku_id": sku_id, "product_id": "p", "price_fen": price_fen, "level_prices": level_prices or {}}


def test_a_staff_price_wins_over_the_level_discount_which_rounds_down() -> None:
    assert member_price(999, 95, None) == 949
    assert member_price(999, 95, 900) == 900


def test_lines_take_the_member_price_only_when_it_is_lower_and_the_quote_counts_it_apart() -> None:
    skus = [sku("a", 10000, {2: 8000}), sku("b", 5000), sku("c", 3000, {2: 3500})]
    lines = engine.price_lines(skus, {"a": 1, "b": 2, "c": 1}, [], NOW, member=MemberRate(2, 90))

    quote = engine.quote(lines, [], None, 0, NOW)

    assert [(line.unit_price_fen, line.member_price_fen) for line in lines] == [(8000, 8000), (4500, 4500),
                                                                               (3000, None)]  # fmt: skip
    assert (quote.member_discount_fen, quote.promotion_discount_fen) == (2000 + 1000, 0)
    assert quote.discount_fen == 3000 and quote.payable_fen == 10000 + 10000 + 3000 - 3000


def test_growth_counts_whole_yuan_and_a_refund_takes_back_its_share_never_more() -> None:
    assert growth_for_paid(12399, 2) == 246
    assert growth_taken_back(123, 12399, 12399) == 123
    assert growth_taken_back(123, 6200, 12399) == 62  # rounded up, so refunds in parts never leave a remainder
    assert growth_taken_back(123, 99999, 12399) == 123
    assert growth_taken_back(0, 100, 100) == 0
