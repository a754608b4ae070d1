"""Demo promotions for the local stage: time-limited prices on well-known SKUs and two threshold promotions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from local.demo import catalog as demo_catalog

# (promotion id, leaf category): the first in-stock SKU of the category's first demo product goes 10 % down.
FLASH_PRICES = (
    ("pr_demo_flash_phone", "c_phone"),
    ("pr_demo_flash_laptop", "c_laptop"),
    ("pr_demo_flash_earphone", "c_earphone"),
    ("pr_demo_flash_tv", "c_tv"),
)
FLASH_DISCOUNT_PERCENT = 10


def _window(now: datetime, days_before: int, days_after: int) -> dict[str, str]:
    return {"starts_at": iso(now - timedelta(days=days_before)), "ends_at": iso(now + timedelta(days=days_after))}


def _flash_sku(products: list[dict[str, Any]], category_id: str) -> dict[str, Any]:
    product = next(p for p in products if p["category_id"] == category_id)
    return next(sku for sku in product["skus"] if sku["stock"] > 0)


def promotions(now: datetime | None = None) -> list[dict[str, Any]]:
    """Bodies for POST /admin/promotions with stable ids (seeding again is a 409 per promotion, nothing else);
    windows are relative to `now` (the clock's, by default) so the demo always has promotions running."""
    moment = now or utcnow()
    products = demo_catalog.products()
    bodies: list[dict[str, Any]] = []
    for promotion_id, category_id in FLASH_PRICES:
        sku = _flash_sku(products, category_id)
        price_fen = sku["price_fen"] * (100 - FLASH_DISCOUNT_PERCENT) // 100 // 100 * 100  # whole yuan
        bodies.append(
            {
                "promotion_id": promotion_id,
                "name": "限时直降",
                "kind": "flash_price",
                **_window(moment, 1, 7),
                "sku_prices": [{"sku_id": sku["sku_id"], "price_fen": price_fen}],
            }
        )
    bodies.append(
        {
            "promotion_id": "pr_demo_all_300_30",
            "name": "全场满300减30",
            "kind": "threshold",
            **_window(moment, 3, 30),
            "tiers": [{"threshold_fen": 30000, "off_fen": 3000}, {"threshold_fen": 50000, "off_fen": 6000}],
        }
    )
    bodies.append(
        {
            "promotion_id": "pr_demo_food_199_20",
            "name": "食品满199减20",
            "kind": "threshold",
            **_window(moment, 3, 30),
            "tiers": [{"threshold_fen": 19900, "off_fen": 2000}],
            "scope": "category",
            "scope_ids": ["c_food"],
        }
    )
    return bodies
