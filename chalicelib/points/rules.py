"""The one definition of the points rules: earning, deduction and its cap (served by GET /points/rules, edited by PUT
/admin/points/rules; the constants are the rules until an admin changes them)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

POINTS_PER_YUAN_EARNED = 1  # granted when an order is received, per whole yuan paid
POINTS_PER_YUAN_DEDUCTION = 100  # 100 points take 1 yuan off
MAX_DEDUCTION_SHARE_PERCENT = 50  # points pay at most half of what is payable
DEDUCTION_STEP_POINTS = POINTS_PER_YUAN_DEDUCTION  # points are used in whole yuan: multiples of 100
FEN_PER_YUAN = 100
POINTS_EXPIRE = False  # points never expire (docs/data-model.md says why)
DEFAULT_CONTENT = """## 积分规则说明

- **获得**：订单完成（确认收货且退货期结束）后，每实付 1 元得 {earned} 积分；签到等活动另有赠送。
- **抵现**：{deduction} 积分抵 1 元，按整元使用，最多抵扣订单商品金额的 {share}%。
- **兑换**：积分可在积分商城兑换优惠券或礼品；积分加现金的礼品在支付现金后发货，未支付取消时积分和库存退回。
- **有效期**：积分长期有效。
"""


@dataclass(frozen=True)
class PointsRules:
    """The rules in force: what an order earns per yuan, what 1 yuan of deduction costs in points, and the share of
    an order's goods points may pay. An order keeps the values it was placed under (`order_values`)."""

    points_per_yuan_earned: int = POINTS_PER_YUAN_EARNED
    points_per_yuan_deduction: int = POINTS_PER_YUAN_DEDUCTION
    max_deduction_share_percent: int = MAX_DEDUCTION_SHARE_PERCENT
    summary: tuple[str, ...] = ()
    content: str = ""
    updated_at: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> PointsRules:
        """From what is stored (or an order's kept values); missing values are the defaults."""
        if not record:
            return DEFAULT_RULES
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in record.items() if name in known and value is not None}
        for name in ("points_per_yuan_earned", "points_per_yuan_deduction", "max_deduction_share_percent"):
            if name in values:
                values[name] = int(values[name])
        if "summary" in values:
            values["summary"] = tuple(values["summary"])
        return replace(DEFAULT_RULES, **values)

    def order_values(self) -> dict[str, int]:
        """What an order keeps of the rules it was placed under."""
        return {
            "points_per_yuan_earned": self.points_per_yuan_earned,
            "points_per_yuan_deduction": self.points_per_yuan_deduction,
            "max_deduction_share_percent": self.max_deduction_share_percent,
        }


DEFAULT_RULES = PointsRules()


def points_to_fen(points: int, rules: PointsRules = DEFAULT_RULES) -> int:
    """What these points take off, in fen (by default 100 points = 100 fen: exact for any count)."""
    return max(points, 0) * FEN_PER_YUAN // rules.points_per_yuan_deduction


def max_points_for(payable_fen: int, rules: PointsRules = DEFAULT_RULES) -> int:
    """The most points usable on this payable amount: worth at most the rules' share of it, rounded down to whole
    yuan (a multiple of the points per yuan); 0 for nothing payable."""
    if payable_fen <= 0:
        return 0
    max_fen = payable_fen * rules.max_deduction_share_percent // 100
    whole_yuan = max_fen // FEN_PER_YUAN
    return whole_yuan * rules.points_per_yuan_deduction


def is_usable_amount(points: int, rules: PointsRules = DEFAULT_RULES) -> bool:
    """Points an order may use: a positive multiple of the points per yuan (0 means none)."""
    return points >= 0 and points % rules.points_per_yuan_deduction == 0


def points_earned_for(paid_fen: int, rules: PointsRules = DEFAULT_RULES) -> int:
    """Points an order earns once received: points_per_yuan_earned per whole yuan actually paid."""
    if paid_fen <= 0:
        return 0
    return paid_fen // FEN_PER_YUAN * rules.points_per_yuan_earned


def default_summary(rules: PointsRules) -> list[str]:
    return [
        f"每实付 1 元得 {rules.points_per_yuan_earned} 积分，订单完成（确认收货且退货期结束）后到账",
        f"{rules.points_per_yuan_deduction} 积分抵 1 元，按整元使用",
        f"积分最多抵扣订单应付金额的 {rules.max_deduction_share_percent}%",
        "积分长期有效，可在积分商城兑换优惠券或礼品",
    ]


def describe(rules: PointsRules = DEFAULT_RULES) -> dict[str, Any]:
    """GET /points/rules (and PUT /admin/points/rules' answer)."""
    content = rules.content or DEFAULT_CONTENT.format(
        earned=rules.points_per_yuan_earned,
        deduction=rules.points_per_yuan_deduction,
        share=rules.max_deduction_share_percent,
    )
    return {
        **rules.order_values(),
        "deduction_step_points": rules.points_per_yuan_deduction,
        "earned_when": "order_completed",
        "expires": POINTS_EXPIRE,
        "summary": list(rules.summary) or default_summary(rules),
        "content": content,
        "updated_at": rules.updated_at,
    }
