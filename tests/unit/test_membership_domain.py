"""The check-in state a member's page shows: done today or not, and the streak still alive."""

from __future__ import annotations

import pytest

from chalicelib.membership.domain import checkin_today


@pytest.mark.parametrize(
    ("last_day", "last_streak", "expected"),
    [
        (None, 0, {"checked_in_today": False, "checkin_streak": 0}),  # never checked in
        ("2026-12-06", 3, {"checked_in_today": True, "checkin_streak": 3}),  # today
        ("2026-12-05", 3, {"checked_in_today": False, "checkin_streak": 3}),  # yesterday: today's would make it 4
        ("2026-12-04", 3, {"checked_in_today": False, "checkin_streak": 0}),  # a day missed: the streak is broken
    ],
)
def test_the_check_in_state_counts_a_streak_only_while_it_is_alive(
    last_day: str | None, last_streak: int, expected: dict[str, object]
) -> None:
    assert checkin_today(last_day, last_streak, "2026-12-06") == expected
