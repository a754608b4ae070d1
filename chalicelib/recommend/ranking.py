"""Lists that need no model: hot (time-decayed popularity), new arrivals, and same category/brand neighbours."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.recommend.behaviour import SECONDS_PER_DAY, Interaction, decayed_weight

# Tiers of the content fallback: the same category and brand is the closest thing to "similar" without behaviour.
SAME_CATEGORY_AND_BRAND = 1.0
SAME_CATEGORY = 0.6
SAME_BRAND = 0.3


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What the catalog knows of a product that the lists need."""

    product_id: str
    category_id: str
    brand_id: str
    created_at: float
    in_stock: bool
    on_sale: bool
    sales: int = 0
    rating_avg: float = 0.0

    @property
    def sellable(self) -> bool:
        return self.on_sale and self.in_stock


def hot(
    interactions: Iterable[Interaction], now: float, half_life_days: float = 3.0, limit: int = 50
) -> list[tuple[str, float]]:
    """The most wanted products now: every view, cart add and sale counts by its kind, halving every half-life.

    Ties go to the smaller product_id, so the list is the same on every run.
    """
    scores: dict[str, float] = {}
    for interaction in interactions:
        weight = decayed_weight(interaction, now, half_life_days)
        scores[interaction.product_id] = scores.get(interaction.product_id, 0.0) + weight
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]


def new_arrivals(
    products: Iterable[ProductFacts], now: float, limit: int = 50, max_age_days: float = 30.0
) -> list[str]:
    """Sellable products listed in the last max_age_days, newest first (ties: smaller product_id first)."""
    oldest = now - max_age_days * SECONDS_PER_DAY
    fresh = [p for p in products if p.sellable and oldest <= p.created_at <= now]
    fresh.sort(key=lambda p: (-p.created_at, p.product_id))
    return [p.product_id for p in fresh[:limit]]


def _popularity_order(product: ProductFacts) -> tuple[int, float, str]:
    return (-product.sales, -product.rating_avg, product.product_id)


def content_neighbours(products: Iterable[ProductFacts], limit: int = 20) -> dict[str, list[tuple[str, float]]]:
    """product_id -> up to `limit` sellable products of the same category and brand, then the same category, then
    the same brand, each tier best-selling first: the similar items of products nobody has interacted with yet.

    Each product only looks at the head of three pre-sorted lists, so this is O(products x limit), not pairwise.
    """
    catalog = list(products)
    by_pair: dict[tuple[str, str], list[ProductFacts]] = {}
    by_category: dict[str, list[ProductFacts]] = {}
    by_brand: dict[str, list[ProductFacts]] = {}
    for product in sorted((p for p in catalog if p.sellable), key=_popularity_order):
        by_pair.setdefault((product.category_id, product.brand_id), []).append(product)
        by_category.setdefault(product.category_id, []).append(product)
        by_brand.setdefault(product.brand_id, []).append(product)

    neighbours: dict[str, list[tuple[str, float]]] = {}
    for product in catalog:
        chosen: list[tuple[str, float]] = []
        seen = {product.product_id}
        tiers = (
            (by_pair.get((product.category_id, product.brand_id), []), SAME_CATEGORY_AND_BRAND),
            (by_category.get(product.category_id, []), SAME_CATEGORY),
            (by_brand.get(product.brand_id, []), SAME_BRAND),
        )
        for candidates, score in tiers:
            # A candidate already taken by an earlier tier is skipped; at most `limit` of them precede the new ones.
            for candidate in candidates:
                if len(chosen) >= limit:
                    break
                if candidate.product_id not in seen:
                    seen.add(candidate.product_id)
                    chosen.append((candidate.product_id, score))
        neighbours[product.product_id] = chosen
    return neighbours
