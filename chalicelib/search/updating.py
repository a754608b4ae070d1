"""Changing a built index file in place for a few changed products, so that a catalog edit costs the products it
touched, not a rebuild. Pure code: no AWS, no HTTP. The indexer copies the published file, applies the changes
with apply_changes and publishes the copy; a full build (chalicelib/search/building.py) on a schedule refreshes
what changes leave as they were (sales order of the rowids, the ranking of suggestions)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.search import prices, text
from chalicelib.search.building import (
    COLUMNS,
    FACET_INSERT,
    NAMING_COLUMNS,
    PRODUCT_INSERT,
    SCHEMA_VERSION,
    SUGGEST_HOT_LENGTH,
    SUGGEST_TOP_KEEP,
    SUGGEST_TOP_PREFIX,
    TEXT_INSERT,
    index_rows,
    name_words,
    stored_columns,
    suggestion_keys,
)
from chalicelib.search.documents import ProductDoc
from chalicelib.search.sqlite import connect


class IncompatibleIndex(ValueError):
    """The file was built by another schema version: only a full build can replace it."""


@dataclass(frozen=True)
class ChangeStats:
    updated: int  # changed products written (in place, or added at the end)
    added: int  # of which were not in the index before
    removed: int  # products taken out (off sale, deleted, archived)


def apply_changes(path: str, docs: Iterable[ProductDoc], removed: Iterable[str] = ()) -> ChangeStats:
    """Write the current state of changed products into the index file at `path`, in one transaction.

    Each doc replaces its product's rows (a product off sale is taken out); each id in `removed` is taken out.
    A product already in the index keeps its rowid, so its place among the best sellers holds until the next full
    build; a new one gets the next rowid (new products have sold nothing yet). New words get their pinyin, and a
    product's names become suggestions.
    """
    conn = connect(path, isolation_level=None)
    try:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            raise IncompatibleIndex(f"index schema {version[0] if version else None}, this code {SCHEMA_VERSION}")
        # A scratch copy that is thrown away if anything fails: no journal on disk, no fsync.
        conn.execute("PRAGMA journal_mode = MEMORY")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -64000")
        conn.execute("BEGIN IMMEDIATE")
        updated = added = taken_out = 0
        for product_id in dict.fromkeys(removed):
            taken_out += _take_out(conn, product_id) is not None
        for doc in docs:
            rowid = _take_out(conn, doc.product_id)
            if not doc.on_sale:
                taken_out += rowid is not None
                continue
            if rowid is None:
                added += 1
                rowid = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM doc_text").fetchone()[0]
            _put(conn, rowid, doc)
            updated += 1
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return ChangeStats(updated=updated, added=added, removed=taken_out)


def _take_out(conn: sqlite3.Connection, product_id: str) -> int | None:
    """Remove a product's rows; its rowid, or None if it was not in the index."""
    row = conn.execute(
        "SELECT p.rowid, f.pair, f.stock, f.price, d.columns FROM products p JOIN facets f ON f.rowid = p.rowid"
        " JOIN doc_text d ON d.rowid = p.rowid WHERE p.product_id = ?",
        (product_id,),
    ).fetchone()
    if row is None:
        return None
    rowid, pair, stock, price, stored = row
    # A contentless FTS5 table forgets a row only when told the exact text it was indexed with.
    conn.execute(
        "INSERT INTO product_text (product_text, rowid, title, subtitle, brand, category, specs, description, pinyin)"
        " VALUES ('delete', ?, ?, ?, ?, ?, ?, ?, ?)",
        (rowid, *stored_columns(stored)),
    )
    for table in ("products", "facets", "doc_text"):
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))  # noqa: S608 - table names are literals
    conn.execute("UPDATE browse_counts SET n = n - 1 WHERE pair = ? AND stock = ?", (pair, stock))
    prices.shift(conn, pair, stock, price, -1)
    return int(rowid)


def _put(conn: sqlite3.Connection, rowid: int, doc: ProductDoc) -> None:
    for depth, (category_id, name) in enumerate(zip(doc.category_path, doc.category_names, strict=False)):
        parent = doc.category_path[depth - 1] if depth else None
        conn.execute("INSERT OR REPLACE INTO categories VALUES (?, ?, ?)", (category_id, name, parent))
    conn.execute("INSERT OR REPLACE INTO brands VALUES (?, ?)", (doc.brand_id, doc.brand_name))
    pair = _pair(conn, doc.category_id, doc.brand_id)
    rows = index_rows(rowid, doc, pair)
    conn.execute(PRODUCT_INSERT, rows.product)
    conn.execute(FACET_INSERT, rows.facets)
    conn.execute(TEXT_INSERT, rows.text)
    conn.execute("INSERT INTO doc_text VALUES (?, ?)", rows.stored)
    _learn_words(conn, doc, rows.text[1:])
    stock = int(doc.in_stock)
    counted = conn.execute("UPDATE browse_counts SET n = n + 1 WHERE pair = ? AND stock = ?", (pair, stock))
    if counted.rowcount == 0:
        conn.execute("INSERT INTO browse_counts VALUES (?, ?, 1)", (pair, stock))
    prices.shift(conn, pair, stock, doc.price_fen, 1)


def _pair(conn: sqlite3.Connection, category_id: str, brand_id: str) -> int:
    row = conn.execute(
        "SELECT pair FROM pairs WHERE category_id = ? AND brand_id = ?", (category_id, brand_id)
    ).fetchone()
    if row:
        return int(row[0])
    pair = conn.execute("SELECT coalesce(max(pair), 0) + 1 FROM pairs").fetchone()[0]
    conn.execute("INSERT INTO pairs VALUES (?, ?, ?)", (pair, category_id, brand_id))
    return int(pair)


def _learn_words(conn: sqlite3.Connection, doc: ProductDoc, columns: tuple[str, ...]) -> None:
    """A changed product's new words become findable by their joined pinyin, and its title, title words, brand and
    categories become suggestions (appended to the precomputed lists that have room; the next full build ranks
    them among the others)."""
    for column, tokens in zip(COLUMNS, columns, strict=False):
        if column not in NAMING_COLUMNS:
            continue
        for word in dict.fromkeys(tokens.split()):
            if text.has_cjk(word):
                conn.execute(
                    "INSERT INTO pinyin_words VALUES (?, ?, 1) ON CONFLICT (pinyin) DO NOTHING",
                    (text.pinyin_of(word)[0], word),
                )
    weight = max(doc.sales, 0) + 1
    phrases = {doc.title.strip(): max(doc.sales, 0), doc.brand_name: weight}
    phrases |= {name: weight for name in doc.category_names} | dict.fromkeys(name_words(doc), weight)
    for phrase, phrase_weight in phrases.items():
        if not phrase:
            continue
        for key in suggestion_keys(phrase):
            known = conn.execute(
                "SELECT 1 FROM suggestions WHERE key = ? AND text = ? LIMIT 1", (key, phrase)
            ).fetchone()
            if known:
                continue
            conn.execute("INSERT INTO suggestions VALUES (?, ?, ?)", (key, phrase, phrase_weight))
            for length in range(min(SUGGEST_HOT_LENGTH, len(key)) + 1):
                _add_to_top(conn, key[:length], phrase, create=length <= SUGGEST_TOP_PREFIX)


def _add_to_top(conn: sqlite3.Connection, prefix: str, phrase: str, create: bool) -> None:
    row = conn.execute("SELECT texts FROM suggestion_tops WHERE prefix = ?", (prefix,)).fetchone()
    if row is None and not create:
        return
    best = json.loads(row[0]) if row else []
    if phrase in best or len(best) >= SUGGEST_TOP_KEEP:
        return
    best.append(phrase)
    conn.execute("INSERT OR REPLACE INTO suggestion_tops VALUES (?, ?)", (prefix, json.dumps(best, ensure_ascii=False)))
