"""Counting a browse over a price range without scanning it: price bands with cumulative counts.

A browse with a price range and no words ("everything from 100 to 5,100 yuan") matches most of the shop; counting
it row by row (for the total and the facets) was the slowest search there was. The index keeps price bands (about
BANDS of them, cut at price quantiles) and, for every band and every (category+brand pair, in stock) couple, how
many products cost less than the band's low end. The count of a range is then two band reads and two scans of at
most one band each. Pure SQLite; the build writes the tables, an update in place shifts them, the engine reads them.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

BANDS = 64  # more bands: shorter edge scans per query, but more rows to shift per changed product

SCHEMA = """
CREATE TABLE price_bands (band INTEGER PRIMARY KEY, low INTEGER NOT NULL);
-- below: products of this (pair, stock) whose price is under the band's low end.
CREATE TABLE band_counts (
    band INTEGER NOT NULL, pair INTEGER NOT NULL, stock INTEGER NOT NULL, below INTEGER NOT NULL,
    PRIMARY KEY (band, pair, stock)
) WITHOUT ROWID;
"""

Couple = tuple[int, int]  # (pair, stock)


def write_bands(conn: sqlite3.Connection) -> None:
    """Cut the bands at price quantiles of the facets table and fill the cumulative counts (after facets)."""
    prices = [row[0] for row in conn.execute("SELECT price FROM facets ORDER BY price")]
    lows = sorted({0, *(prices[len(prices) * band // BANDS] for band in range(1, BANDS))}) if prices else [0]
    conn.executemany("INSERT INTO price_bands VALUES (?, ?)", list(enumerate(lows)))
    running: Counter[Couple] = Counter()
    rows = conn.execute("SELECT price, pair, stock FROM facets ORDER BY price").fetchall()
    position = 0
    out: list[tuple[int, int, int, int]] = []
    for band, low in enumerate(lows):
        while position < len(rows) and rows[position][0] < low:
            running[(rows[position][1], rows[position][2])] += 1
            position += 1
        out.extend((band, pair, stock, running[(pair, stock)]) for pair, stock in _couples(rows))
    conn.executemany("INSERT INTO band_counts VALUES (?, ?, ?, ?)", out)


def _couples(rows: list[tuple[int, int, int]]) -> list[Couple]:
    return sorted({(row[1], row[2]) for row in rows})


def shift(conn: sqlite3.Connection, pair: int, stock: int, price: int, delta: int) -> None:
    """A product of this couple at this price came (+1) or went (-1): every band above its price counts it."""
    exists = conn.execute("SELECT 1 FROM band_counts WHERE pair = ? AND stock = ? LIMIT 1", (pair, stock)).fetchone()
    if exists is None:  # a new couple: nothing below any band yet
        conn.execute("INSERT INTO band_counts SELECT band, ?, ?, 0 FROM price_bands", (pair, stock))
    above = conn.execute("SELECT band FROM price_bands WHERE low > ?", (price,)).fetchall()
    conn.executemany(
        "UPDATE band_counts SET below = below + ? WHERE band = ? AND pair = ? AND stock = ?",
        [(delta, band, pair, stock) for (band,) in above],
    )  # one key each: the rows of a couple are spread over the bands


def _below(conn: sqlite3.Connection, price: int) -> Counter[Couple]:
    """Products of each couple that cost less than `price`."""
    band, low = conn.execute(
        "SELECT band, low FROM price_bands WHERE low <= ? ORDER BY band DESC LIMIT 1", (price,)
    ).fetchone()
    rows = conn.execute("SELECT pair, stock, below FROM band_counts WHERE band = ?", (band,))
    counts: Counter[Couple] = Counter({(pair, stock): below for pair, stock, below in rows})
    for pair, stock, extra in conn.execute(
        "SELECT pair, stock, count(*) FROM facets INDEXED BY facets_by_price WHERE price >= ? AND price < ?"
        " GROUP BY pair, stock",
        (low, price),
    ):
        counts[(pair, stock)] += extra
    return counts


def range_counts(conn: sqlite3.Connection, low: int | None, high: int | None) -> Counter[Couple]:
    """Products of each couple with low <= price <= high (None: unbounded)."""
    if high is None:
        upper: Counter[Couple] = Counter(
            {(pair, stock): n for pair, stock, n in conn.execute("SELECT pair, stock, n FROM browse_counts")}
        )
    else:
        upper = _below(conn, high + 1)
    if low:
        upper.subtract(_below(conn, low))
    return +upper  # drops the couples with nothing in range
