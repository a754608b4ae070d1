"""Levels, rules and growth as plain values: the level is computed from growth under the current table at read time,
so an edit of the table re-levels everyone at once."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from chalicelib.errors import Conflict, ValidationError

DEFAULT_LEVELS: list[dict[str, Any]] = [
    {"level": 1, "name": "普通会员", "min_growth": 0, "discount_percent": 100, "benefits": ["积分兑换", "每日签到"]},
    {"level": 2, "name": "白银会员", "min_growth": 500, "discount_percent": 98, "benefits": ["会员价 98 折"]},
    {"level": 3, "name": "黄金会员", "min_growth": 2000, "discount_percent": 95,
     "benefits": ["会员价 95 折", "生日礼包"]},
    {"level": 4, "name": "钻石会员", "min_growth": 10000, "discount_percent": 90,
     "benefits": ["会员价 9 折", "专属客服", "优先发货"]},
]  # fmt: skip
DEFAULT_RULES: dict[str, int] = {
    "growth_per_yuan": 1,
    "growth_per_review": 10,
    "checkin_points": 5,
    "checkin_growth": 2,
}
GROWTH_REASONS = ("order", "refund", "review", "checkin")


class AlreadyCheckedIn(Conflict):
    code, default_message = "ALREADY_CHECKED_IN", "Checked in today already"


def check_levels(levels: list[dict[str, Any]]) -> None:
    """Levels 1..n in order, min_growth rising from 0 (else 400)."""
    if [level["level"] for level in levels] != list(range(1, len(levels) + 1)):
        raise ValidationError("Levels are numbered 1, 2, ... in order")
    growths = [level["min_growth"] for level in levels]
    if growths[0] != 0 or any(later <= earlier for earlier, later in pairwise(growths)):
        raise ValidationError("min_growth starts at 0 for level 1 and rises with each level")


def level_of(levels: list[dict[str, Any]], growth: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The level a growth value reaches, and the next one (None at the top)."""
    reached = [level for level in levels if level["min_growth"] <= growth]
    current = reached[-1]
    following = [level for level in levels if level["level"] == current["level"] + 1]
    return current, (following[0] if following else None)


def membership_view(levels: list[dict[str, Any]], growth: int) -> dict[str, Any]:
    current, following = level_of(levels, growth)
    return {
        "level": current["level"],
        "name": current["name"],
        "growth": growth,
        "discount_percent": current["discount_percent"],
        "next_level": None
        if following is None
        else {name: following[name] for name in ("level", "name", "min_growth")},
        "growth_to_next": 0 if following is None else following["min_growth"] - growth,
        "benefits": list(current["benefits"]),
    }


def member_price(day_price_fen: int, discount_percent: int, admin_price_fen: int | None) -> int:
    """A SKU's member price at a level: staff's price for it, else the price of the day at the level's discount."""
    if admin_price_fen is not None:
        return admin_price_fen
    return day_price_fen * discount_percent // 100


def growth_for_paid(paid_fen: int, growth_per_yuan: int) -> int:
    """Growth for an order's payment: growth_per_yuan per whole yuan of the goods paid (shipping excluded)."""
    return max(paid_fen, 0) // 100 * growth_per_yuan


def growth_taken_back(earned: int, refunded_fen: int, paid_fen: int) -> int:
    """What a refund of refunded_fen (of the goods' paid_fen) takes back of the growth earned: pro rata, rounded up,
    never more than was earned."""
    if earned <= 0 or paid_fen <= 0:
        return 0
    return min(earned, -(-earned * max(refunded_fen, 0) // paid_fen))


def checkin_today(last_day: str | None, last_streak: int, today: str) -> dict[str, Any]:
    """Whether today's check-in is done, and the streak a member has now: today's or yesterday's (it goes on with
    today's check-in), else 0."""
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    alive = last_day in (today, yesterday)
    return {"checked_in_today": last_day == today, "checkin_streak": last_streak if alive else 0}


def streak_after(last_day: str | None, last_streak: int, today: str) -> int:
    """Consecutive check-in days counting today: one more than yesterday's, else 1."""
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    return last_streak + 1 if last_day == yesterday else 1
