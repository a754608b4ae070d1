"""What a promotion offers, as pricing sees it: time-limited SKU prices (限时折扣) or threshold tiers (满减)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PromotionKind = Literal["flash_price", "threshold"]
PromotionScope = Literal["all", "category", "product"]


@dataclass(frozen=True)
class Tier:
    """Spend at least threshold_fen (in scope, after promotional prices) and get off_fen off."""

    threshold_fen: int
    off_fen: int


@dataclass(frozen=True)
class Promotion:
    """One promotion, running over [starts_at, ends_at).

    flash_price: sku_prices gives the promotional unit price of each SKU it covers.
    threshold: tiers (ascending) apply to the lines in scope (all, category ids leaf or root, product ids).
    """

    promotion_id: str
    name: str
    kind: PromotionKind
    starts_at: datetime
    ends_at: datetime
    sku_prices: tuple[tuple[str, int], ...] = ()
    tiers: tuple[Tier, ...] = ()
    scope: PromotionScope = "all"
    scope_ids: tuple[str, ...] = field(default_factory=tuple)

    def is_running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


RunningPromotions = Callable[[datetime], list[Promotion]]  # the promotions running at a moment


def no_promotions(now: datetime) -> list[Promotion]:
    """RunningPromotions of a shop that runs none."""
    return []
