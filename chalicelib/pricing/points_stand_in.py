"""The points deduction rules pricing codes against, until chalicelib.points.rules (written in parallel) lands."""

from __future__ import annotations

POINTS_PER_YUAN_DEDUCTION = 100
MAX_DEDUCTION_SHARE_PERCENT = 50


def points_to_fen(points: int) -> int:
    """100 points take 1 yuan (100 fen) off: one point is one fen."""
    return max(points, 0) * 100 // POINTS_PER_YUAN_DEDUCTION


def max_points_for(payable_fen: int) -> int:
    """The most points an order of payable_fen may use: up to half of it."""
    return max(payable_fen, 0) * MAX_DEDUCTION_SHARE_PERCENT // 100 * POINTS_PER_YUAN_DEDUCTION // 100
