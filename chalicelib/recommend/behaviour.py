"""What shoppers did to products: typed interactions, how much each kind says about taste, and time decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal["view", "search_click", "favorite", "cart_add", "order", "pay", "receive", "review"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# How strongly one interaction of each kind says "this shopper likes this product". A view is the unit; putting
# something in the cart or paying for it says much more. Ordering, paying and receiving are steps of one purchase,
# so each step adds a little and the three together are worth about one strong purchase signal.
KIND_WEIGHTS: dict[Kind, float] = {
    "view": 1.0,
    "search_click": 1.5,
    "favorite": 3.0,
    "cart_add": 4.0,
    "order": 5.0,
    "pay": 2.0,
    "receive": 1.0,
    "review": 2.0,
}
# Kinds that mean the shopper has bought (or is buying) the product: it is not recommended back to them.
PURCHASE_KINDS: frozenset[Kind] = frozenset({"order", "pay", "receive", "review"})

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Interaction:
    """One thing one shopper did to one product at one moment (epoch seconds)."""

    user_id: str
    product_id: str
    kind: Kind
    at: float


def decay(age_seconds: float, half_life_days: float) -> float:
    """The share of its weight an interaction keeps after age_seconds: halves every half-life; the future counts 1."""
    if age_seconds <= 0:
        return 1.0
    return math.exp(-math.log(2.0) * age_seconds / (half_life_days * SECONDS_PER_DAY))


def decayed_weight(interaction: Interaction, now: float, half_life_days: float) -> float:
    return KIND_WEIGHTS[interaction.kind] * decay(now - interaction.at, half_life_days)


def purchases(interactions: Iterable[Interaction]) -> dict[str, set[str]]:
    """user_id -> the products that user has bought: the exclusions of their personal picks."""
    bought: dict[str, set[str]] = {}
    for interaction in interactions:
        if interaction.kind in PURCHASE_KINDS:
            bought.setdefault(interaction.user_id, set()).add(interaction.product_id)
    return bought
