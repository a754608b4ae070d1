"""Demo flash sales (秒杀) for the local stage: one running now and one starting tomorrow, on well-known SKUs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import iso, utcnow
from local.demo import catalog as demo_catalog

# (title, leaf category, starts in hours, lasts hours, promo percent of the price, promo stock, per-user limit)
SESSIONS = (
    ("今晚 8 点秒杀 · 手机", "c_phone", -1, 6, 70, 20, 1),
    ("明日秒杀 · 耳机", "c_earphone", 20, 4, 60, 50, 2),
)


def _sku(category_id: str) -> dict[str, Any]:
    product = next(p for p in demo_catalog.products() if p["category_id"] == category_id)
    return next(sku for sku in product["skus"] if sku["stock"] > 0)


def flash_sales(now: datetime | None = None) -> list[dict[str, Any]]:
    """Bodies for POST /admin/flash-sales, relative to `now` so the demo always has one running and one upcoming."""
    moment = now or utcnow()
    bodies = []
    for title, category_id, starts_in, lasts, percent, stock, limit in SESSIONS:
        sku = _sku(category_id)
        starts = moment + timedelta(hours=starts_in)
        promo = sku["price_fen"] * percent // 100 // 100 * 100  # whole yuan
        item = {"sku_id": sku["sku_id"], "promo_price_fen": promo, "promo_stock": min(stock, sku["stock"]),
                "per_user_limit": limit}  # fmt: skip
        bodies.append(
            {"title": title, "starts_at": iso(starts), "ends_at": iso(starts + timedelta(hours=lasts)), "items": [item]}
        )
    return bodies


def seed(now: datetime | None = None) -> int:
    """Open the demo sessions unless sessions are running or upcoming already (a restart keeps its own)."""
    from chalicelib.catalog.repository import DynamoCatalogRepository
    from chalicelib.flashsale import service
    from chalicelib.flashsale.dynamo_repository import DynamoFlashSaleRepository
    from chalicelib.flashsale.events import SqsAdmissionQueue
    from chalicelib.flashsale.schemas import SessionWrite
    from chalicelib.profile.dynamo_repository import DynamoProfileRepository

    queue = SqsAdmissionQueue("")  # the seed queues no attempt
    flash_sale = service.FlashSale(
        DynamoFlashSaleRepository(), DynamoCatalogRepository(), DynamoProfileRepository(), queue
    )
    if service.running_and_upcoming(flash_sale)["items"]:
        return 0
    for body in flash_sales(now):
        service.create_session(flash_sale, SessionWrite.model_validate(body))
    return len(SESSIONS)
