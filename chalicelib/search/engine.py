"""The search engine: builds the SQLite FTS5 index file, and answers searches and suggestions from it.

Pure code: no AWS, no HTTP. The indexer writes the file with build_index; the search function opens it with
SearchIndex (read-only, one per warm container). Segmentation and pinyin (chalicelib.search.text) load on first use.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.search import text
from chalicelib.search.documents import ProductDoc

SCHEMA_VERSION = "1"
SORTS = ("relevance", "sales", "price_asc", "price_desc", "newest", "rating")
MAX_PAGE = 50  # deeper pages cost more and nobody reads them; the API clamps to this too
MAX_PAGE_SIZE = 50
RECOMMENDATIONS = 6
FACET_LIMIT = 20
# bm25 column weights, in the column order of product_text: title > brand = category > specs > description.
COLUMNS = ("title", "brand", "category", "specs", "description", "pinyin")
WEIGHTS = (10.0, 5.0, 5.0, 2.0, 1.0, 3.0)
# Relevance: bm25 (negative, lower is better) scaled up by popularity, so that among equally good text
# matches the better-selling product comes first.
POPULARITY_WEIGHT = 0.08
SUGGEST_TOP_PREFIX = 3  # prefixes up to this many characters have their top suggestions precomputed
SUGGEST_TOP_KEEP = 10
QUERY_WEIGHT = 20  # a past query searched n times weighs as much as a product sold 20 * n times

_ORDER = {
    "sales": "p.sales DESC, p.rowid",
    "price_asc": "p.price_fen ASC, p.rowid",
    "price_desc": "p.price_fen DESC, p.rowid",
    "newest": "p.created_at DESC, p.rowid",
    "rating": "p.rating_avg DESC, p.review_count DESC, p.rowid",
}
_CARD_COLUMNS = (
    "p.product_id, p.title, p.price_fen, p.image_url, p.sales, p.rating_avg, p.review_count, p.category_id,"
    " p.brand_id, p.brand_name, p.in_stock"
)


@dataclass(frozen=True)
class BuildStats:
    """What one index build did."""

    products: int
    skipped_off_sale: int
    suggestions: int
    seconds: float
    bytes: int


@dataclass(frozen=True)
class SearchQuery:
    """One search: free text (may be empty: a browse) with filters, a sort and a page."""

    text: str = ""
    category_id: str | None = None
    brand_id: str | None = None
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    in_stock: bool | None = None  # True: only products with stock; False or None: no filter
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20


class SearchError(ValueError):
    """A query the engine cannot run (unknown sort); the API validates before, so this is a programming error."""


# ---------------------------------------------------------------------------------------------------- building


def build_index(docs: Iterable[ProductDoc], path: str, popular_queries: Iterable[tuple[str, int]] = ()) -> BuildStats:
    """Write a complete index file at `path` (a temp file renamed over it); off-sale products are not indexed."""
    started = time.perf_counter()
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(prefix=".search-", suffix=".sqlite", dir=directory)
    os.close(fd)
    try:
        conn = sqlite3.connect(temp_path)
        try:
            stats = _write_index(conn, docs, popular_queries)
        finally:
            conn.close()
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    return BuildStats(
        products=stats[0],
        skipped_off_sale=stats[1],
        suggestions=stats[2],
        seconds=time.perf_counter() - started,
        bytes=os.path.getsize(path),
    )


def _write_index(
    conn: sqlite3.Connection, docs: Iterable[ProductDoc], popular_queries: Iterable[tuple[str, int]]
) -> tuple[int, int, int]:
    conn.executescript(
        """
        PRAGMA journal_mode = OFF;
        PRAGMA synchronous = OFF;
        PRAGMA page_size = 4096;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE categories (category_id TEXT PRIMARY KEY, name TEXT NOT NULL, parent_id TEXT);
        CREATE TABLE brands (brand_id TEXT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE products (
            rowid INTEGER PRIMARY KEY, product_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
            price_fen INTEGER NOT NULL, image_url TEXT, sales INTEGER NOT NULL, rating_avg REAL NOT NULL,
            review_count INTEGER NOT NULL, popularity REAL NOT NULL, category_id TEXT NOT NULL,
            brand_id TEXT NOT NULL, brand_name TEXT NOT NULL, created_at TEXT NOT NULL, in_stock INTEGER NOT NULL
        );
        CREATE VIRTUAL TABLE product_text USING fts5(
            title, brand, category, specs, description, pinyin,
            content = '', tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE TABLE suggestions (key TEXT NOT NULL, text TEXT NOT NULL, weight INTEGER NOT NULL);
        CREATE TABLE suggestion_tops (prefix TEXT PRIMARY KEY, texts TEXT NOT NULL) WITHOUT ROWID;
        """
    )
    on_sale: list[ProductDoc] = []
    skipped = 0
    for doc in docs:
        if doc.on_sale:
            on_sale.append(doc)
        else:
            skipped += 1
    # Best sellers get the smallest rowids: ties in every sort then fall to the more popular product.
    on_sale.sort(key=lambda d: (-d.sales, -d.review_count, d.product_id))
    categories: dict[str, tuple[str, str | None]] = {}
    brands: dict[str, str] = {}
    product_rows = []
    text_rows = []
    for rowid, doc in enumerate(on_sale, start=1):
        for depth, (category_id, name) in enumerate(zip(doc.category_path, doc.category_names, strict=False)):
            categories.setdefault(category_id, (name, doc.category_path[depth - 1] if depth else None))
        brands.setdefault(doc.brand_id, doc.brand_name)
        product_rows.append(
            (
                rowid, doc.product_id, doc.title, doc.price_fen, doc.image_url, doc.sales, doc.rating_avg,
                doc.review_count, math.log1p(max(doc.sales, 0) + max(doc.review_count, 0)), doc.category_id,
                doc.brand_id, doc.brand_name, doc.created_at, int(doc.in_stock),
            )
        )  # fmt: skip
        text_rows.append((rowid, *_document_columns(doc)))
    conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", product_rows)
    conn.executemany(
        "INSERT INTO product_text (rowid, title, brand, category, specs, description, pinyin)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        text_rows,
    )
    conn.executemany(
        "INSERT INTO categories VALUES (?, ?, ?)", [(cid, name, parent) for cid, (name, parent) in categories.items()]
    )
    conn.executemany("INSERT INTO brands VALUES (?, ?)", list(brands.items()))
    suggestion_count = _write_suggestions(conn, on_sale, popular_queries)
    conn.executescript(
        """
        CREATE INDEX products_by_category ON products (category_id, sales);
        CREATE INDEX products_by_brand ON products (brand_id, sales);
        CREATE INDEX products_by_price ON products (price_fen);
        CREATE INDEX products_by_created ON products (created_at);
        CREATE INDEX products_by_rating ON products (rating_avg, review_count);
        CREATE INDEX suggestions_by_key ON suggestions (key, weight);
        INSERT INTO product_text (product_text) VALUES ('optimize');
        """
    )
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    conn.commit()
    conn.execute("VACUUM")
    return len(on_sale), skipped, suggestion_count


def brand_alias(brand_id: str) -> str:
    """The Latin alias hidden in a brand id (b_three_squirrels -> three squirrels), so `huawei` finds 华为."""
    return brand_id.removeprefix("b_").replace("_", " ")


def _document_columns(doc: ProductDoc) -> tuple[str, str, str, str, str, str]:
    title = f"{doc.title} {doc.subtitle}"
    brand = f"{doc.brand_name} {brand_alias(doc.brand_id)}"
    category = " ".join(doc.category_names)
    pinyin = " ".join(text.pinyin_tokens(f"{doc.title} {doc.brand_name} {category}"))
    return (
        text.index_text(title),
        text.index_text(brand),
        text.index_text(category),
        text.index_text(doc.specs),
        text.index_text(doc.description),
        pinyin,
    )


def _suggestion_sources(docs: list[ProductDoc], popular_queries: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Suggestion text -> popularity: titles by sales, brands and categories by their products' sales, past queries."""
    weights: Counter[str] = Counter()
    for doc in docs:
        weights[doc.title.strip()] = max(weights[doc.title.strip()], doc.sales)
        if doc.brand_name:
            weights[doc.brand_name] += doc.sales + 1
        for name in doc.category_names:
            weights[name] += doc.sales + 1
    for query, count in popular_queries:
        query = " ".join(query.split())[: text.MAX_QUERY_CHARS]
        if query:
            weights[query] += QUERY_WEIGHT * max(int(count), 0) + 1
    return dict(weights)


def suggestion_keys(phrase: str) -> set[str]:
    """The keys a suggestion is found under: its normalised text, its full pinyin and its initials (no spaces)."""
    normal = "".join(text.normalize(phrase).split())
    keys = {normal}
    if text.has_cjk(normal):
        words = text.segmenter().cut(normal)
        keys.add("".join(text.pinyin_of(word)[0] for word in words))
        keys.add("".join(text.pinyin_of(word)[1] for word in words))
    keys.discard("")
    return keys


def _write_suggestions(
    conn: sqlite3.Connection, docs: list[ProductDoc], popular_queries: Iterable[tuple[str, int]]
) -> int:
    sources = _suggestion_sources(docs, popular_queries)
    rows = [(key, phrase, weight) for phrase, weight in sources.items() for key in suggestion_keys(phrase)]
    conn.executemany("INSERT INTO suggestions VALUES (?, ?, ?)", rows)
    # Short prefixes match most keys: their best suggestions are computed once here, not per keystroke.
    tops: dict[str, list[str]] = defaultdict(list)
    for key, phrase, _weight in sorted(rows, key=lambda row: (-row[2], len(row[1]), row[1])):
        for length in range(1, min(SUGGEST_TOP_PREFIX, len(key)) + 1):
            best = tops[key[:length]]
            if len(best) < SUGGEST_TOP_KEEP and phrase not in best:
                best.append(phrase)
    conn.executemany(
        "INSERT INTO suggestion_tops VALUES (?, ?)",
        [(prefix, json.dumps(best, ensure_ascii=False)) for prefix, best in tops.items()],
    )
    return len(sources)


# ---------------------------------------------------------------------------------------------------- querying


def _quote(token: str) -> str:
    """An FTS5 string: tokens only ever hold [a-z0-9] and CJK, but quoting (and doubling quotes) makes sure."""
    return '"' + token.replace('"', '""') + '"'


def _alternatives(word: str) -> list[str]:
    """FTS5 phrases one query word may match: itself (a mixed Latin word also as its runs) and its synonyms."""
    phrases = []
    for variant in (word, *text.synonyms().get(word, ())):
        phrases.append(_quote(variant))
        runs = text.latin_runs(variant)
        if len(runs) > 1:
            phrases.append(_quote(" ".join(runs)))
    return list(dict.fromkeys(phrases))


def _term(word: str, with_pinyin: bool) -> str:
    phrases = _alternatives(word)
    if with_pinyin and text.has_cjk(word):
        phrases.append("pinyin : " + _quote(text.pinyin_of(word)[0]))
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def match_expressions(words: list[str]) -> list[tuple[str, bool]]:
    """(FTS5 MATCH expression, relaxed) to try in turn: all words; all words or their pinyin; any word."""
    if not words:
        return []
    strict = " AND ".join(_term(word, False) for word in words)
    attempts = [(strict, False)]
    if any(text.has_cjk(word) for word in words):
        attempts.append((" AND ".join(_term(word, True) for word in words), True))
    if len(words) > 1:
        attempts.append((" OR ".join(_term(word, True) for word in words), True))
    return attempts


class SearchIndex:
    """A read-only view of one index file; cheap enough to keep one per warm container."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._conn.execute("PRAGMA cache_size = -32000")
        self._conn.execute("PRAGMA temp_store = MEMORY")
        self.categories = {
            row[0]: {"category_id": row[0], "name": row[1], "parent_id": row[2]}
            for row in self._conn.execute("SELECT category_id, name, parent_id FROM categories")
        }
        self.brands = dict(self._conn.execute("SELECT brand_id, name FROM brands").fetchall())
        children: dict[str | None, list[str]] = defaultdict(list)
        for category in self.categories.values():
            children[category["parent_id"]].append(category["category_id"])
        self._children = dict(children)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def subtree(self, category_id: str) -> list[str]:
        """A category and every category under it."""
        found, todo = [], [category_id]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found.append(current)
            todo.extend(self._children.get(current, ()))
        return found

    # ------------------------------------------------------------------------------------------------ search

    def search(self, query: SearchQuery) -> dict[str, Any]:
        """Items of the page, total, facets and recommendations; zero hits retry relaxed or give suggestions."""
        if query.sort not in SORTS:
            raise SearchError(f"unknown sort {query.sort!r}")
        page = min(max(query.page, 1), MAX_PAGE)
        page_size = min(max(query.page_size, 1), MAX_PAGE_SIZE)
        filters, params = self._filters(query)
        result: dict[str, Any] = {"items": [], "total": 0, "page": page, "facets": {"category": [], "brand": []}}
        relaxed = False
        suggestions: list[str] = []
        if not query.text.strip():
            total, items, facets = self._run(None, filters, params, query.sort, page, page_size)
        else:
            words = text.query_words(query.text)
            total, items, facets = 0, [], {"category": [], "brand": []}
            for expression, is_relaxed in match_expressions(words):
                total, items, facets = self._run(expression, filters, params, query.sort, page, page_size)
                if total:
                    relaxed = is_relaxed
                    break
            if not total:
                suggestions = self._zero_result_suggestions(query.text)
        result.update(items=items, total=total, facets=facets)
        result["recommendations"] = self._recommendations(items, facets)
        result["relaxed"] = relaxed
        result["suggestions"] = suggestions
        return result

    def _filters(self, query: SearchQuery) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.category_id is not None:
            ids = self.subtree(query.category_id)
            clauses.append(f"p.category_id IN ({', '.join('?' * len(ids))})")
            params.extend(ids)
        if query.brand_id is not None:
            clauses.append("p.brand_id = ?")
            params.append(query.brand_id)
        if query.price_min_fen is not None:
            clauses.append("p.price_fen >= ?")
            params.append(query.price_min_fen)
        if query.price_max_fen is not None:
            clauses.append("p.price_fen <= ?")
            params.append(query.price_max_fen)
        if query.in_stock:
            clauses.append("p.in_stock = 1")
        return clauses, params

    def _run(
        self, expression: str | None, filters: list[str], params: list[Any], sort: str, page: int, page_size: int
    ) -> tuple[int, list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        where = list(filters)
        args = list(params)
        if expression is None:
            source = "products p"
            order = _ORDER.get(sort, _ORDER["sales"])
        else:
            source = "product_text t JOIN products p ON p.rowid = t.rowid"
            where.insert(0, "product_text MATCH ?")
            args.insert(0, expression)
            if sort == "relevance":
                weights = ", ".join(str(w) for w in WEIGHTS)
                order = f"bm25(product_text, {weights}) * (1 + {POPULARITY_WEIGHT} * p.popularity), p.rowid"
            else:
                order = _ORDER[sort]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        counts = self._conn.execute(
            f"SELECT p.category_id, p.brand_id, count(*) FROM {source} {clause} GROUP BY 1, 2",  # noqa: S608
            args,
        ).fetchall()
        total = sum(row[2] for row in counts)
        if not total:
            return 0, [], {"category": [], "brand": []}
        rows = self._conn.execute(
            f"SELECT {_CARD_COLUMNS} FROM {source} {clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
            [*args, page_size, (page - 1) * page_size],
        ).fetchall()
        return total, [_card(row) for row in rows], self._facets(counts)

    def _facets(self, counts: list[tuple[str, str, int]]) -> dict[str, list[dict[str, Any]]]:
        by_category: Counter[str] = Counter()
        by_brand: Counter[str] = Counter()
        for category_id, brand_id, count in counts:
            by_category[category_id] += count
            by_brand[brand_id] += count
        return {
            "category": [
                {"id": cid, "name": self.categories.get(cid, {}).get("name", cid), "count": n}
                for cid, n in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_LIMIT]
            ],
            "brand": [
                {"id": bid, "name": self.brands.get(bid, bid), "count": n}
                for bid, n in sorted(by_brand.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_LIMIT]
            ],
        }

    def _recommendations(
        self, items: list[dict[str, Any]], facets: dict[str, list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Best sellers of the best-matching category (the top hit's, else the biggest facet), else of the shop."""
        category_id = (
            items[0]["category_id"] if items else (facets["category"][0]["id"] if facets["category"] else None)
        )
        shown = [item["product_id"] for item in items]
        where = "WHERE p.category_id = ?" if category_id else ""
        args: list[Any] = [category_id] if category_id else []
        rows = self._conn.execute(
            f"SELECT {_CARD_COLUMNS} FROM products p {where} ORDER BY p.sales DESC, p.rowid LIMIT ?",  # noqa: S608
            [*args, RECOMMENDATIONS + len(shown)],
        ).fetchall()
        return [card for card in map(_card, rows) if card["product_id"] not in shown][:RECOMMENDATIONS]

    def _zero_result_suggestions(self, query_text: str) -> list[str]:
        """Suggestions for a query nothing matched: completions of it, else of its first word, else top ones."""
        words = text.query_words(query_text)
        for prefix in (query_text, *(words[:1])):
            found = self.suggest(prefix, limit=5)
            if found:
                return found
        return self._overall_top(5)

    # ------------------------------------------------------------------------------------------------ suggest

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Completions of a prefix typed as Chinese, full pinyin (`shouji`) or initials (`sj`), most popular first."""
        key = "".join(text.normalize(prefix[: text.MAX_QUERY_CHARS]).split())
        if not key or limit <= 0:
            return []
        if len(key) <= SUGGEST_TOP_PREFIX and limit <= SUGGEST_TOP_KEEP:
            return self._top_suggestions(key, limit)
        rows = self._conn.execute(
            "SELECT text, max(weight) AS w FROM suggestions WHERE key >= ? AND key < ?"
            " GROUP BY text ORDER BY w DESC, length(text), text LIMIT ?",
            (key, key + "\U0010ffff", limit),
        ).fetchall()
        return [row[0] for row in rows]

    def _top_suggestions(self, key: str, limit: int) -> list[str]:
        row = self._conn.execute("SELECT texts FROM suggestion_tops WHERE prefix = ?", (key,)).fetchone()
        return list(json.loads(row[0]))[:limit] if row else []

    def _overall_top(self, limit: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT text FROM suggestions GROUP BY text ORDER BY max(weight) DESC, text LIMIT ?", (limit,)
        ).fetchall()
        return [row[0] for row in rows]


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
