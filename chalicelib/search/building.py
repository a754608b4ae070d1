"""Building the search index file: the SQLite FTS5 tables of the products on sale (segmented text and pinyin,
weighted columns, rowids in sales order) and the precomputed suggestions. Pure code: no AWS, no HTTP; the indexer
writes the file with build_index, and chalicelib/search/engine.py answers searches from it."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.search import prices, text
from chalicelib.search.documents import ProductDoc
from chalicelib.search.sqlite import connect

SCHEMA_VERSION = "6"
# bm25 column weights, in the column order of product_text: title > subtitle > brand = category > specs > description.
COLUMNS = ("title", "subtitle", "brand", "category", "specs", "description", "pinyin")
WEIGHTS = (10.0, 8.0, 5.0, 5.0, 2.0, 1.0, 3.0)
NAMING_COLUMNS = ("title", "subtitle", "brand", "category", "specs")  # whose Chinese words pinyin may stand for
SUGGEST_TOP_PREFIX = 3  # prefixes up to this many characters have their top suggestions precomputed
SUGGEST_TOP_KEEP = 10
SUGGEST_HOT_LENGTH = 16  # prefixes up to this long get precomputed tops when they are hot
SUGGEST_SCAN = 64  # a prefix shared by more keys than this is hot
QUERY_WEIGHT = 20  # a past query searched n times weighs as much as a product sold 20 * n times


@dataclass(frozen=True)
class BuildStats:
    """What one index build did."""

    products: int
    skipped_off_sale: int
    suggestions: int
    seconds: float
    bytes: int


def build_index(docs: Iterable[ProductDoc], path: str, popular_queries: Iterable[tuple[str, int]] = ()) -> BuildStats:
    """Write a complete index file at `path` (a temp file renamed over it); off-sale products are not indexed."""
    started = time.perf_counter()
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(prefix=".search-", suffix=".sqlite", dir=directory)
    os.close(fd)
    try:
        conn = connect(temp_path)
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
            review_count INTEGER NOT NULL, category_id TEXT NOT NULL, brand_id TEXT NOT NULL,
            brand_name TEXT NOT NULL, created_at TEXT NOT NULL, in_stock INTEGER NOT NULL
        );
        -- The narrow twin of products that filters, facets and sorts read: a few integers a row, so scanning
        -- thousands of matches touches few pages. pair numbers a (category, brand) couple; newest and rating
        -- sort ascending (newest_key, rating_key): a product changed later gets its place without renumbering.
        CREATE TABLE facets (
            rowid INTEGER PRIMARY KEY, pair INTEGER NOT NULL, price INTEGER NOT NULL, stock INTEGER NOT NULL,
            newest INTEGER NOT NULL, rating INTEGER NOT NULL, popularity REAL NOT NULL
        );
        CREATE TABLE pairs (pair INTEGER PRIMARY KEY, category_id TEXT NOT NULL, brand_id TEXT NOT NULL);
        -- Facet counts of a browse without a price filter, precomputed: (pair, in stock) -> products.
        CREATE TABLE browse_counts (
            pair INTEGER NOT NULL, stock INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (pair, stock)
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE product_text USING fts5(
            title, subtitle, brand, category, specs, description, pinyin,
            content = '', tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE VIRTUAL TABLE product_vocab USING fts5vocab(product_text, 'col');
        -- What each row put in product_text (compressed): a contentless table needs it to take the row out again
        -- when the product changes (chalicelib/search/updating.py).
        CREATE TABLE doc_text (rowid INTEGER PRIMARY KEY, columns BLOB NOT NULL);
        -- Full pinyin -> the Chinese word of the shop it stands for (the one in most products), for queries typed
        -- in pinyin without spaces.
        CREATE TABLE pinyin_words (pinyin TEXT PRIMARY KEY, word TEXT NOT NULL, products INTEGER NOT NULL)
            WITHOUT ROWID;
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
    pairs: dict[tuple[str, str], int] = {}
    product_rows = []
    facet_rows = []
    text_rows = []
    stored_rows = []
    for rowid, doc in enumerate(on_sale, start=1):
        for depth, (category_id, name) in enumerate(zip(doc.category_path, doc.category_names, strict=False)):
            categories.setdefault(category_id, (name, doc.category_path[depth - 1] if depth else None))
        brands.setdefault(doc.brand_id, doc.brand_name)
        pair = pairs.setdefault((doc.category_id, doc.brand_id), len(pairs) + 1)
        rows = index_rows(rowid, doc, pair)
        product_rows.append(rows.product)
        facet_rows.append(rows.facets)
        text_rows.append(rows.text)
        stored_rows.append(rows.stored)
    conn.executemany(PRODUCT_INSERT, product_rows)
    conn.executemany(FACET_INSERT, facet_rows)
    conn.executemany("INSERT INTO pairs VALUES (?, ?, ?)", [(n, c, b) for (c, b), n in pairs.items()])
    conn.execute("INSERT INTO browse_counts SELECT pair, stock, count(*) FROM facets GROUP BY pair, stock")
    conn.executemany(TEXT_INSERT, text_rows)
    conn.executemany("INSERT INTO doc_text VALUES (?, ?)", stored_rows)
    conn.executemany(
        "INSERT INTO categories VALUES (?, ?, ?)", [(cid, name, parent) for cid, (name, parent) in categories.items()]
    )
    conn.executemany("INSERT INTO brands VALUES (?, ?)", list(brands.items()))
    conn.executescript(prices.SCHEMA)
    _write_pinyin_words(conn)
    suggestion_count = _write_suggestions(conn, on_sale, popular_queries)
    conn.executescript(
        """
        CREATE INDEX facets_by_pair ON facets (pair, stock, price);
        CREATE INDEX facets_by_price ON facets (price, pair, stock);
        CREATE INDEX facets_by_newest ON facets (newest);
        CREATE INDEX facets_by_rating ON facets (rating);
        CREATE INDEX suggestions_by_key ON suggestions (key, weight);
        INSERT INTO product_text (product_text) VALUES ('optimize');
        """
    )
    prices.write_bands(conn)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    conn.commit()
    conn.execute("VACUUM")
    return len(on_sale), skipped, suggestion_count


PRODUCT_INSERT = "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
FACET_INSERT = "INSERT INTO facets VALUES (?, ?, ?, ?, ?, ?, ?)"
TEXT_INSERT = (
    "INSERT INTO product_text (rowid, title, subtitle, brand, category, specs, description, pinyin)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SEPARATOR = "\x1f"  # never in a tokenised column (tokens hold [a-z0-9] and CJK, joined by spaces)


@dataclass(frozen=True)
class IndexRows:
    """The rows one product puts in the index file."""

    product: tuple[Any, ...]
    facets: tuple[Any, ...]
    text: tuple[Any, ...]
    stored: tuple[int, bytes]


def index_rows(rowid: int, doc: ProductDoc, pair: int) -> IndexRows:
    columns = _document_columns(doc)
    return IndexRows(
        product=(
            rowid,
            doc.product_id,
            doc.title,
            doc.price_fen,
            doc.image_url,
            doc.sales,
            doc.rating_avg,
            doc.review_count,
            doc.category_id,
            doc.brand_id,
            doc.brand_name,
            doc.created_at,
            int(doc.in_stock),
        ),
        facets=(
            rowid,
            pair,
            doc.price_fen,
            int(doc.in_stock),
            newest_key(doc),
            rating_key(doc),
            math.log1p(max(doc.sales, 0) + max(doc.review_count, 0)),
        ),
        text=(rowid, *columns),
        stored=(rowid, zlib.compress(_SEPARATOR.join(columns).encode("utf-8"), 1)),
    )


def stored_columns(stored: bytes) -> list[str]:
    """The product_text columns a row was indexed with (from doc_text)."""
    return zlib.decompress(stored).decode("utf-8").split(_SEPARATOR)


def newest_key(doc: ProductDoc) -> int:
    """Sorts ascending newest first: minus the creation time in seconds (no or a bad time sorts last)."""
    try:
        return -int(datetime.fromisoformat(doc.created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def rating_key(doc: ProductDoc) -> int:
    """Sorts ascending best rated first: the rating, then the number of reviews (rowid, i.e. sales, breaks ties)."""
    return -(round(doc.rating_avg * 10) * 10_000_000 + min(max(doc.review_count, 0), 9_999_999))


def brand_alias(brand_id: str) -> str:
    """The Latin alias hidden in a brand id (b_three_squirrels -> three squirrels), so `huawei` finds 华为."""
    return brand_id.removeprefix("b_").replace("_", " ")


def _whole_name(name: str) -> str:
    """A name as one token when it is all Chinese (`手机数码`), else as its words."""
    normal = "".join(text.normalize(name).split())
    return normal if text.is_cjk_word(normal) else text.index_text(name)


def _write_pinyin_words(conn: sqlite3.Connection) -> None:
    columns = ", ".join(f"'{column}'" for column in NAMING_COLUMNS)
    best: dict[str, tuple[str, int]] = {}
    for word, products in conn.execute(
        f"SELECT term, sum(doc) FROM product_vocab WHERE col IN ({columns}) GROUP BY term"  # noqa: S608
    ):
        if text.has_cjk(word):
            pinyin = text.pinyin_of(word)[0]
            if pinyin and (pinyin not in best or products > best[pinyin][1]):
                best[pinyin] = (word, products)
    conn.executemany("INSERT INTO pinyin_words VALUES (?, ?, ?)", [(p, w, n) for p, (w, n) in best.items()])


def _document_columns(doc: ProductDoc) -> tuple[str, str, str, str, str, str, str]:
    brand = f"{doc.brand_name} {brand_alias(doc.brand_id)}"
    category = " ".join(doc.category_names)
    # The leaf category by its words, its parents only as whole names: 手机数码 above 智能手表 must not make a watch
    # match 手机.
    parents = " ".join(_whole_name(name) for name in doc.category_names[:-1])
    pinyin = " ".join(text.pinyin_tokens(f"{doc.title} {doc.brand_name} {category}"))
    return (
        text.index_text(doc.title),
        text.index_text(doc.subtitle),
        text.index_text(brand),
        f"{parents} {text.index_text(doc.category_names[-1] if doc.category_names else '')}".strip(),
        text.index_text(doc.specs),
        text.index_text(doc.description),
        pinyin,
    )


def _suggestion_sources(docs: list[ProductDoc], popular_queries: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Suggestion text -> popularity: titles by sales, brands and categories by their products' sales, past queries."""
    weights: Counter[str] = Counter()
    for doc in docs:
        weights[doc.title.strip()] = max(weights[doc.title.strip()], doc.sales)
        for word in name_words(doc):  # 连衣 -> 连衣裙: titles start with brands, words complete inside them
            weights[word] += doc.sales + 1
        if doc.brand_name:
            weights[doc.brand_name] += doc.sales + 1
        for name in doc.category_names:
            weights[name] += doc.sales + 1
    for query, count in popular_queries:
        query = " ".join(query.split())[: text.MAX_QUERY_CHARS]
        if query:
            weights[query] += QUERY_WEIGHT * max(int(count), 0) + 1
    return dict(weights)


def title_words(title: str) -> set[str]:
    """The Chinese words of a title (two characters or more, no stop words) that suggestions complete."""
    stops = text.stop_words()
    return {
        word
        for word in text.segmenter().cut(text.normalize(title))
        if len(word) >= 2 and text.is_cjk_word(word) and word not in stops
    }


def name_words(doc: ProductDoc) -> set[str]:
    """The words inside a product's title, brand and category names that suggestions complete."""
    return title_words(" ".join((doc.title, doc.brand_name, *doc.category_names)))


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


def _hot_prefixes(keys: list[str]) -> set[str]:
    """Prefixes (up to SUGGEST_HOT_LENGTH characters) shared by more than SUGGEST_SCAN of the sorted keys.

    Keys i and i + SUGGEST_SCAN share a prefix exactly when more than SUGGEST_SCAN keys have it, so the
    longest common prefixes of those pairs, and their own prefixes, are all the hot ones.
    """
    longest: set[str] = set()
    for first, last in zip(keys, keys[SUGGEST_SCAN:], strict=False):
        common = os.path.commonprefix([first[:SUGGEST_HOT_LENGTH], last[:SUGGEST_HOT_LENGTH]])  # noqa: RUF071
        if common:
            longest.add(common)
    return {prefix[:length] for prefix in longest for length in range(1, len(prefix) + 1)}


def _write_suggestions(
    conn: sqlite3.Connection, docs: list[ProductDoc], popular_queries: Iterable[tuple[str, int]]
) -> int:
    sources = _suggestion_sources(docs, popular_queries)
    rows = [(key, phrase, weight) for phrase, weight in sources.items() for key in suggestion_keys(phrase)]
    conn.executemany("INSERT INTO suggestions VALUES (?, ?, ?)", rows)
    # A prefix that many keys share (short ones, a big brand's pinyin) would cost a wide scan per keystroke:
    # its best suggestions are computed once here. Any other prefix leads to at most SUGGEST_SCAN keys.
    hot = _hot_prefixes(sorted({row[0] for row in rows}))
    tops: dict[str, list[str]] = defaultdict(list)
    for key, phrase, _weight in sorted(rows, key=lambda row: (-row[2], len(row[1]), row[1])):
        for length in range(min(SUGGEST_HOT_LENGTH, len(key)) + 1):  # length 0: the overall best
            prefix = key[:length]
            if length > SUGGEST_TOP_PREFIX and prefix not in hot:
                break
            best = tops[prefix]
            if len(best) < SUGGEST_TOP_KEEP and phrase not in best:
                best.append(phrase)
    conn.executemany(
        "INSERT INTO suggestion_tops VALUES (?, ?)",
        [(prefix, json.dumps(best, ensure_ascii=False)) for prefix, best in tops.items()],
    )
    return len(sources)


# ---------------------------------------------------------------------------------------------------- querying
