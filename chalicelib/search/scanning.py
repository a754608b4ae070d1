"""Reading a search's matches cheaply: the engine's SQL for facet counts, a page by relevance and the best sellers
of a category. Pure SQLite over the index file (chalicelib/search/building.py); every function
returns exactly what the plain query would (same rows, same order), only sooner.

Where the time of a worded search went at 100k products (bench/search.py --explain): joining each FTS match to its
facets row, then grouping the joined rows by pair in a temporary B-tree, then doing the join again to sort the page.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from chalicelib.search.building import WEIGHTS

# Relevance: bm25 (negative, lower is better) scaled up by popularity, so that among equally good text matches the
# better-selling product comes first.
POPULARITY_WEIGHT = 0.02
# A worded search: the FTS table drives (never a MATCH per row), each match joined to its row of match_keys (to
# count and filter it: a third of facets' row size, a third of the pages to walk) or of facets (to rank it).
KEYED_MATCHES = "product_text t CROSS JOIN match_keys f ON f.rowid = t.rowid"
RANKED_MATCHES = "product_text t CROSS JOIN facets f ON f.rowid = t.rowid"
_SCORE = f"bm25(product_text, {', '.join(map(str, WEIGHTS))}) * (1 + {POPULARITY_WEIGHT} * f.popularity)"


def pair_counts(conn: sqlite3.Connection, source: str, clause: str, args: list[Any]) -> list[tuple[int, int]]:
    """(pair, matches) of the pairs with matches, by pair. The pairs come back as one string counted here:
    `GROUP BY f.pair` sorted every joined row in a temporary B-tree, which cost as much as the join itself."""
    row = conn.execute(f"SELECT group_concat(f.pair) FROM {source} {clause}", args).fetchone()  # noqa: S608
    if row is None or row[0] is None:
        return []
    return sorted((int(pair), n) for pair, n in Counter(row[0].split(",")).items())


def ranked_page(
    conn: sqlite3.Connection,
    clause: str,
    args: list[Any],
    window: int,
    offset: int,
    limit: int,
) -> tuple[list[tuple[int, int]], list[int]]:
    """(pair counts, rowids of the page) of a search by relevance: the page is the `limit` best scores (then the
    smallest rowid) from `offset` among the first `window` matches in rowid order (the best sellers).

    One statement gathers the first window + 1 matches in the FTS table's own rowid order with their pair and score
    (SQLite keeps them in a temporary table), and returns their count, the last one's rowid, their pairs as one
    string, and the best scores. A search with no more matches than the window is then answered whole (counts
    included) without the second scan that counting and ranking apart cost; a broader one counts the matches after
    those read with pair_counts, and its page still comes from the window (before, a second scan counted every
    match and a third found the window's last rowid).
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
        # The matches after those read: the FTS table seeks past `last` rather than joining them all again.
        counts.update(dict(pair_counts(conn, KEYED_MATCHES, f"{clause} AND t.rowid > ?", [*args, last])))
    return sorted(counts.items()), [rowid for _score, rowid in best[offset : offset + limit]]


def best_sellers(conn: sqlite3.Connection, pairs: list[int] | None, limit: int, walk: bool) -> list[int]:
    """Rowids of the best sellers (smallest rowids) among these pairs (None: the whole shop). `walk`: the pairs hold
    enough of the shop that reading facets in rowid order meets `limit` of them sooner than gathering all their rows
    from facets_by_pair and sorting them."""
    where = f"WHERE pair IN ({', '.join(map(str, pairs))})" if pairs else ""
    source = "facets NOT INDEXED" if walk and pairs else "facets"
    sql = f"SELECT rowid FROM {source} {where} ORDER BY rowid LIMIT ?"  # noqa: S608
    return [row[0] for row in conn.execute(sql, (limit,))]
