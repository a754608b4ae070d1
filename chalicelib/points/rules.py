"""The one definition of the points rules: earning, deduction and its cap (served by GET /points/rules)."""

from __future__ import annotations

from typing import Any

POINTS_PER_YUAN_EARNED = 1  # granted when an order is received, per whole yuan paid
POINTS_PER_YUAN_DEDUCTION = 100  # 100 points take 1 yuan off
MAX_DEDUCTION_SHARE_PERCENT = 50  # points pay at most half of what is payable
DEDUCTION_STEP_POINTS = POINTS_PER_YUAN_DEDUCTION  # points are used in whole yuan: multiples of 100
FEN_PER_YUAN = 100
POINTS_EXPIRE = False  # points never expire (docs/data-model.md says why)


def points_to_fen(points: int) -> int:
    """What these points take off, in fen (100 points = 100 fen: exact for any count)."""
    return max(points, 0) * FEN_PER_YUAN // POINTS_PER_YUAN_DEDUCTION


def max_points_for(payable_fen: int) -> int:
    """The most points usable on this payable amount: worth at most MAX_DEDUCTION_SHARE_PERCENT of it, rounded down
    to whole yuan (a multiple of DEDUCTION_STEP_POINTS); 0 for nothing payable."""
    if payable_fen <= 0:
        return 0
    max_fen = payable_fen * MAX_DEDUCTION_SHARE_PERCENT // 100
    whole_yuan = max_fen // FEN_PER_YUAN
    return whole_yuan * POINTS_PER_YUAN_DEDUCTION


def is_usable_amount(points: int) -> bool:
    """Points an order may use: a positive multiple of DEDUCTION_STEP_POINTS (0 means none)."""
    return points >= 0 and points % DEDUCTION_STEP_POINTS == 0


def points_earned_for(paid_fen: int) -> int:
    """Points an order earns once received: POINTS_PER_YUAN_EARNED per whole yuan actually paid."""
    if paid_fen <= 0:
        return 0
    return paid_fen // FEN_PER_YUAN * POINTS_PER_YUAN_EARNED


def describe() -> dict[str, Any]:
    """GET /points/rules."""
    return {
        "points_per_yuan_earned": POINTS_PER_YUAN_EARNED,
        "points_per_yuan_deduction": POINTS_PER_YUAN_DEDUCTION,
        "max_deduction_share_percent": MAX_DEDUCTION_SHARE_PERCENT,
        "deduction_step_points": DEDUCTION_STEP_POINTS,
        "earned_when": "order_completed",
        "expires": POINTS_EXPIRE,
        "summary": [
            f"每实付 1 元得 {POINTS_PER_YUAN_EARNED} 积分，订单完成（确认收货且退货期结束）后到账",
            f"{POINTS_PER_YUAN_DEDUCTION} 积分抵 1 元，按整元使用",
            f"积分最多抵扣订单应付金额的 {MAX_DEDUCTION_SHARE_PERCENT}%",
            "积分长期有效，可在积分商城兑换优惠券或礼品",
        ],
    }
