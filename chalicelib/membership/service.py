"""Members club: the level table, my membership, growth, and the daily check-in (once per Asia/Shanghai day)."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import now_iso, shanghai_day, utcnow
from chalicelib.membership.domain import DEFAULT_LEVELS, DEFAULT_RULES, check_levels, membership_view, streak_after
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying

ATTEMPTS = 5


def level_table(repo: MembershipRepository) -> dict[str, Any]:
    stored = repo.level_table()
    levels, rules = stored if stored is not None else (DEFAULT_LEVELS, DEFAULT_RULES)
    return {"items": levels, "rules": {**DEFAULT_RULES, **rules}}


def set_level_table(
    repo: MembershipRepository, levels: list[dict[str, Any]], rules: dict[str, int] | None
) -> dict[str, Any]:
    """Replace the levels (and rules, if given); everyone's level follows at once (it is read from growth)."""
    check_levels(levels)
    current = level_table(repo)
    repo.save_level_table(levels, rules if rules is not None else current["rules"], now_iso())
    return level_table(repo)


def my_membership(repo: MembershipRepository, user_id: str) -> dict[str, Any]:
    return membership_view(level_table(repo)["items"], repo.growth(user_id))


def my_growth(repo: MembershipRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    scope = f"growth|{user_id}"
    items, last_key = repo.growth_entries(user_id, query.page_size, decode_cursor(query.cursor, scope))
    return page(items, encode_cursor(last_key, scope))


def add_growth(repo: MembershipRepository, user_id: str, delta: int, reason: str, ref: str) -> bool:
    """Count a source of growth once (by reason and ref); growth never goes below 0. False if counted before."""

    def attempt() -> bool:
        seen = repo.growth(user_id)
        return repo.add_growth(user_id, max(delta, -seen), reason, ref, now_iso(), seen)

    return retrying(attempt, ATTEMPTS)


def check_in(repo: MembershipRepository, user_id: str) -> dict[str, Any]:
    """Today's (Asia/Shanghai) check-in: points into the ledger (reason checkin) and growth; 409 ALREADY_CHECKED_IN."""
    rules = level_table(repo)["rules"]
    today = shanghai_day(utcnow())

    def attempt() -> dict[str, Any]:
        last = repo.last_checkin(user_id)
        streak = streak_after(last[0] if last else None, last[1] if last else 0, today)
        seen = repo.growth(user_id)
        repo.check_in(user_id, today, streak, rules["checkin_points"], rules["checkin_growth"], seen, now_iso())
        return {"date": today, "points": rules["checkin_points"], "growth": rules["checkin_growth"], "streak": streak}

    return retrying(attempt, ATTEMPTS)
