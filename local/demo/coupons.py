"""Demo coupon templates, points rewards and a points grant, as the bodies the admin APIs take (stdlib only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# The demo's "today", as the demo catalog's; windows run from a week before it to 90 days after the machine's now,
# so the coupons stay claimable whenever the demo is started.
DEMO_DATE = datetime(2026, 11, 20, tzinfo=UTC)
PHONE_CATEGORY_ID = "c_phone"
ADMIN_DEMO_POINTS = 5000
ADMIN_GRANT_REF = "demo-seed-admin"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(now: datetime | None = None) -> dict[str, str]:
    today = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = min(DEMO_DATE, today) - timedelta(days=7)
    return {"valid_from": _iso(start), "valid_to": _iso(max(DEMO_DATE, today) + timedelta(days=90))}


def coupon_templates(product_id: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """POST /admin/coupons bodies; the product coupon needs one of the demo catalog's product ids."""
    window = _window(now)
    templates: list[dict[str, Any]] = [
        {"template_id": "demo_newcomer_99_10", "name": "新人券 满99减10", "type": "amount_off",
         "amount_off_fen": 1000, "threshold_fen": 9900, "valid_days": 30, "per_user_limit": 1, "total": 100000},
        {"template_id": "demo_all_300_30", "name": "全场 满300减30", "type": "amount_off", "amount_off_fen": 3000,
         "threshold_fen": 30000, **window, "per_user_limit": 2, "total": 50000},
        {"template_id": "demo_phone_95", "name": "手机 95折 最高减100元", "type": "percent_off", "percent_off": 5,
         "max_discount_fen": 10000, "threshold_fen": 0, **window, "scope": "category",
         "scope_ids": [PHONE_CATEGORY_ID], "per_user_limit": 1, "total": 20000},
        {"template_id": "demo_points_50_10", "name": "积分兑换 满50减10", "type": "amount_off",
         "amount_off_fen": 1000, "threshold_fen": 5000, "valid_days": 30, "per_user_limit": 1, "total": 10000,
         "claimable": False},  # sold in the points store (rewards()), never free
    ]  # fmt: skip
    if product_id:
        templates.append(
            {"template_id": "demo_product_500_50", "name": "爆款单品 满500减50", "type": "amount_off",
             "amount_off_fen": 5000, "threshold_fen": 50000, **window, "scope": "product",
             "scope_ids": [product_id], "per_user_limit": 1, "total": 5000}
        )  # fmt: skip
    return templates


def rewards() -> list[dict[str, Any]]:
    """POST /admin/points/rewards bodies (the coupon reward names a template of coupon_templates()): a coupon, goods
    for points only, and goods for points plus cash (paid with /pay; the points come back if it is left unpaid)."""
    return [
        {"reward_id": "demo_reward_coupon_10", "kind": "coupon", "title": "满50减10 优惠券", "points": 500,
         "coupon_template_id": "demo_points_50_10"},
        {"reward_id": "demo_reward_tote_bag", "kind": "goods", "title": "定制帆布袋",
         "image_url": "/demo-media/rewards/tote-bag.svg", "points": 2000, "stock": 200},
        {"reward_id": "demo_reward_mug", "kind": "goods", "title": "陶瓷马克杯（积分+现金）",
         "image_url": "/demo-media/rewards/mug.svg", "points": 1500, "cash_fen": 1990, "stock": 100},
    ]  # fmt: skip


def admin_points_grant(admin_user_id: str) -> dict[str, Any]:
    """POST /admin/points/grants body: demo points for the admin account, once (idempotent by ref)."""
    return {"user_id": admin_user_id, "points": ADMIN_DEMO_POINTS, "reason": "演示积分", "ref": ADMIN_GRANT_REF}
