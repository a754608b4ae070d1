"""Demo themes (主题活动) for the local stage: curated and rule-based, running from a week ago for a month."""

from __future__ import annotations

from datetime import datetime, timedelta

from local.demo import catalog as demo_catalog


def themes(now: datetime) -> list[dict[str, object]]:
    """Bodies for POST /admin/themes; windows are relative to `now` so the demo always has running themes."""
    products = demo_catalog.products()

    def first(category_id: str, count: int) -> list[str]:
        return [p["product_id"] for p in products if p["category_id"] == category_id][:count]

    window = {
        "starts_at": (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return [
        {"title": "旗舰手机季", "subtitle": "影像旗舰 一步到位", "sort_order": 0,
         "product_ids": first("c_phone", 8), **window},
        {"title": "冬季暖家好物", "subtitle": "被窝与厨房的温度", "sort_order": 1,
         "product_ids": first("c_bedding", 3) + first("c_kitchen_appliance", 3), **window},
        {"title": "百元运动装备", "subtitle": "200 元以内的运动鞋服", "sort_order": 2,
         "rule": {"category_id": "c_sports", "max_price_fen": 20000}, **window},
        {"title": "零食节", "subtitle": "囤货正当时", "sort_order": 3, "rule": {"category_id": "c_snacks"}, **window},
    ]  # fmt: skip
