"""Reading a search's matches cheaply: the engine's SQL for a page by relevance (with the facet counts of the matches
it read), the best sellers of a category and the result cards. Pure SQLite over the index file
(chalicelib/search/building.py); every function returns exactly what the plain query would (same rows, same order),
only sooner.

Where the time of a worded search went at 100k products (bench/search.py --explain): joining each FTS match to its
facets row, then grouping the joined rows by pair in a temporary B-tree, then doing the join again to sort the page.
The matches a page by relevance does not read, and those of the other sorts, are now counted and sorted on the facet
columns in memory (chalicelib/search/columns.py), without a join.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from chalicelib.search.building import WEIGHTS

# Relevance: bm25 (negative, lower is better) scaled up by popularity, so that among equally good text matches the
# better-selling product comes first.
POPULARITY_WEIGHT = 0.02
# A worded search by relevance: the FTS table drives (never a MATCH per row), each match joined to its row of facets
# (to filter and rank it).
RANKED_MATCHES = "product_text t CROSS JOIN facets f ON f.rowid = t.rowid"
_CARD_COLUMNS = (
    "product_id, title, price_fen, image_url, sales, rating_avg, review_count, category_id, brand_id, brand_name,"
    " in_stock"
)
_SCORE = f"bm25(product_text, {', '.join(map(str, WEIGHTS))}) * (1 + {POPULARITY_WEIGHT} * f.popularity)"


def ranked_page(
    conn: sqlite3.Connection,
    clause: str,
    args: list[Any],
    window: int,
    offset: int,
    limit: int,
) -> tuple[Counter[int], list[int], int | None]:
    """(pair counts of the matches read, rowids of the page, the last rowid read or None) of a search by relevance:
    the page is the `limit` best scores (then the smallest rowid) from `offset` among the first `window` matches in
    rowid order (the best sellers).

    One statement gathers the first window + 1 matches in the FTS table's own rowid order with their pair and score
    (SQLite keeps them in a temporary table), and returns their count, the last one's rowid, their pairs as one
    string, and the best scores. A search with no more matches than the window is then answered whole (counts
    included) without the second scan that counting and ranking apart cost; for a broader one the caller counts the
    matches after the last rowid read (returned; None when every match was read), and its page still comes from the
    window (before, a second scan counted every match and a third found the window's last rowid).
    """
    sql = (
        f"WITH w AS MATERIALIZED (SELECT f.rowid AS id, f.pair AS pair, {_SCORE} AS score"  # noqa: S608
        f" FROM {RANKED_MATCHES} {clause} ORDER BY t.rowid LIMIT ?)"
        " SELECT count(*), max(id), group_concat(pair), NULL FROM w"
        " UNION ALL SELECT * FROM (SELECT NULL, id, NULL, score FROM w ORDER BY score, id LIMIT ?)"
    )
    rows = conn.execute(sql, [*args, window + 1, offset + limit + 1]).fetchall()
    read, last, pairs, _ = next(row for row in rows if row[0] is not None)
    best = sorted((row[3], row[1]) for row in rows if row[0] is None)
    counts: Counter[int] = Counter(map(int, pairs.split(","))) if read else Counter()
    if read > window:  # the last match read is past the window: it takes no part in the ranking
        best = [row for row in best if row[1] != last]
    return counts, [rowid for _score, rowid in best[offset : offset + limit]], last if read > window else None


def best_sellers(conn: sqlite3.Connection, pairs: list[int] | None, limit: int, walk: bool) -> list[int]:
    """Rowids of the best sellers (smallest rowids) among these pairs (None: the whole shop). `walk`: the pairs hold
    enough of the shop that reading facets in rowid order meets `limit` of them sooner than gathering all their rows
    from facets_by_pair and sorting them."""
    where = f"WHERE pair IN ({', '.join(map(str, pairs))})" if pairs else ""
    source = "facets NOT INDEXED" if walk and pairs else "facets"
    sql = f"SELECT rowid FROM {source} {where} ORDER BY rowid LIMIT ?"  # noqa: S608
    return [row[0] for row in conn.execute(sql, (limit,))]


def cards(conn: sqlite3.Connection, rowids: list[int]) -> list[dict[str, Any]]:
    """The result cards of these rowids, in their order."""
    if not rowids:
        return []
    rows = conn.execute(
        f"SELECT rowid, {_CARD_COLUMNS} FROM products WHERE rowid IN ({', '.join(map(str, rowids))})"  # noqa: S608
    ).fetchall()
    by_rowid = {row[0]: _card(row[1:]) for row in rows}
    return [by_rowid[rowid] for rowid in rowids if rowid in by_rowid]


def _card(row: tuple[Any, ...]) -> dict[str, Any]:
    """A result card: the catalog's product summary fields plus brand name, review count and stock flag."""
    return {
        "product_id": row[0],
        "title": row[1],
        "price_fen": row[2],
        "image_url": row[3],
        "sales": row[4],
        "rating_avg": row[5],
        "review_count": row[6],
        "category_id": row[7],
        "brand_id": row[8],
        "brand_name": row[9],
        "in_stock": bool(row[10]),
    }
