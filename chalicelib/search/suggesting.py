"""Suggestions read from the index file: completions of a prefix typed as Chinese, full pinyin or initials."""

from __future__ import annotations

import json
import sqlite3

from chalicelib.search import text
from chalicelib.search.building import SUGGEST_SCAN, SUGGEST_TOP_KEEP, SUGGEST_TOP_PREFIX


def suggest(conn: sqlite3.Connection, prefix: str, limit: int = 10) -> list[str]:
    """Completions of a prefix, most popular first: the precomputed tops of a short or hot prefix, else a scan of
    the few keys that start with it."""
    key = "".join(text.normalize(prefix[: text.MAX_QUERY_CHARS]).split())
    if not key or limit <= 0:
        return []
    if limit <= SUGGEST_TOP_KEEP:
        found = top_suggestions(conn, key)
        if found is not None:
            return found[:limit]
        if len(key) <= SUGGEST_TOP_PREFIX:
            return []  # every short prefix that leads anywhere has its tops
    # Not hot, so few keys start with it (a prefix longer than SUGGEST_HOT_LENGTH may have more: capped).
    rows = conn.execute(
        "SELECT text, weight FROM suggestions WHERE key >= ? AND key < ? LIMIT ?",
        (key, key + "\U0010ffff", SUGGEST_SCAN * 4),
    ).fetchall()
    best: dict[str, int] = {}
    for phrase, weight in rows:
        best[phrase] = max(weight, best.get(phrase, weight))
    return sorted(best, key=lambda phrase: (-best[phrase], len(phrase), phrase))[:limit]


def top_suggestions(conn: sqlite3.Connection, key: str) -> list[str] | None:
    row = conn.execute("SELECT texts FROM suggestion_tops WHERE prefix = ?", (key,)).fetchone()
    return list(json.loads(row[0])) if row else None
