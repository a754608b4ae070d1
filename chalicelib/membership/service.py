"""Members club: the level table, my membership, growth, and the daily check-in (once per Asia/Shanghai day)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import now_iso, shanghai_day, utcnow
from chalicelib.errors import NotFound, ValidationError
from chalicelib.membership.domain import (
    DEFAULT_LEVELS,
    DEFAULT_RULES,
    check_levels,
    checkin_today,
    membership_view,
    streak_after,
)
from chalicelib.membership.repository import MembershipRepository
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying

ATTEMPTS = 5
LEVELS_TTL_SECONDS = 60


def level_table(repo: MembershipRepository) -> dict[str, Any]:
    stored = repo.level_table()
    levels, rules = stored if stored is not None else (DEFAULT_LEVELS, DEFAULT_RULES)
    return {"items": levels, "rules": {**DEFAULT_RULES, **rules}}


class LevelCache:
    """The level table as pricing reads it on every cart and order: kept for a minute per warm container (it changes
    rarely; an edit here forgets it at once)."""

    def __init__(self) -> None:
        self._table: dict[str, Any] | None = None
        self._read_at = 0.0

    def get(self, repo: MembershipRepository) -> dict[str, Any]:
        if self._table is None or time.monotonic() - self._read_at > LEVELS_TTL_SECONDS:
            self._table = level_table(repo)
            self._read_at = time.monotonic()
        return self._table

    def forget(self) -> None:
        self._table = None


level_cache = LevelCache()


def set_level_table(
    repo: MembershipRepository, levels: list[dict[str, Any]], rules: dict[str, int] | None
) -> dict[str, Any]:
    """Replace the levels (and rules, if given); everyone's level follows at once (it is read from growth)."""
    check_levels(levels)
    current = level_table(repo)
    repo.save_level_table(levels, rules if rules is not None else current["rules"], now_iso())
    level_cache.forget()
    return level_table(repo)


def my_membership(repo: MembershipRepository, user_id: str) -> dict[str, Any]:
    """My level and growth, and whether today's (Asia/Shanghai) check-in is done."""
    last = repo.last_checkin(user_id)
    today = checkin_today(last[0] if last else None, last[1] if last else 0, shanghai_day(utcnow()))
    return {**membership_view(level_table(repo)["items"], repo.growth(user_id)), **today}


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


def set_member_prices(
    repo: MembershipRepository, catalog: CatalogRepository, sku_id: str, items: list[tuple[int, int]]
) -> dict[str, Any]:
    """Replace a SKU's member prices (level, price_fen): each level once and in the table, each price at most the
    SKU's list price (else 400); 404 for no such SKU."""
    levels = {level["level"]: level for level in level_table(repo)["items"]}
    errors = [
        {"field": f"items.{i}.level", "message": f"No member level {level}, or given twice."}
        for i, (level, _) in enumerate(items)
        if level not in levels or [other for other, _ in items].count(level) > 1
    ]
    if errors:
        raise ValidationError("Each member price names a level of the table, once", errors=errors)
    sku = catalog.skus_by_ids([sku_id]).get(sku_id)
    if sku is None:
        raise NotFound(f"No such SKU: {sku_id}")
    over = [
        {"field": f"items.{i}.price_fen", "message": f"At most the list price, {sku['price_fen']} fen."}
        for i, (_, price) in enumerate(items)
        if price > int(sku["price_fen"])
    ]
    if over:
        raise ValidationError("A member price is at most the SKU's list price", errors=over)
    if catalog.set_member_prices(sku_id, dict(items), now_iso()) is None:
        raise NotFound(f"No such SKU: {sku_id}")
    return {
        "sku_id": sku_id,
        "items": [
            {"level": level, "name": levels[level]["name"], "price_fen": price} for level, price in sorted(items)
        ],
    }
