"""The search engine: answers searches and suggestions from the SQLite FTS5 index file.

Pure code: no AWS, no HTTP. The indexer writes the file (chalicelib/search/building.py: build_index); the search
function opens it with SearchIndex (read-only, one per warm container). Segmentation and pinyin
(chalicelib.search.text) load on first use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.search import matching, prices, scanning, suggesting, text
from chalicelib.search.columns import FacetColumns, Filters, matching_rowids
from chalicelib.search.matching import match_expressions
from chalicelib.search.sqlite import connect

SORTS = ("relevance", "sales", "price_asc", "price_desc", "newest", "rating")
MAX_PAGE = 50  # deeper pages cost more and nobody reads them; the API clamps to this too
MAX_PAGE_SIZE = 100
RECOMMENDATIONS = 6
FACET_LIMIT = 20
DID_YOU_MEAN_TRIES = 4  # candidate queries tried (one cheap search each) when nothing matched
# Where a Latin word must be found to be taken as itself rather than as pinyin (the pinyin column holds pinyin)
_LATIN_COLUMNS = "{title subtitle brand category specs description}"
BANDLESS_ROWS = 30_000  # a browse over a price range in categories holding at most this many rows counts them
RANK_WINDOW = 1_000  # relevance scores this many matches (the best sellers), or as many as the page reaches

# Rowids follow sales (best seller first, see _write_index), so "by sales" is "by rowid": an index on
# (category_id) or (brand_id) then already holds the order, since SQLite keeps the rowid as its last column. Every
# sort ends with the rowid, so ties fall to the better seller whether a browse walks the sort's index (facets_by_newest
# and facets_by_rating end with the rowid: the walk needs no sort) or gathers its rows and sorts them.
_ORDER = {
    "sales": "f.rowid",
    "price_asc": "f.price ASC, f.rowid",
    "price_desc": "f.price DESC, f.rowid",
    "newest": "f.newest, f.rowid",
    "rating": "f.rating, f.rowid",
}
_BROWSE_INDEX = {
    "relevance": "NOT INDEXED",  # sales order, which is rowid order
    "sales": "NOT INDEXED",
    "price_asc": "INDEXED BY facets_by_price",
    "price_desc": "INDEXED BY facets_by_price",
    "newest": "INDEXED BY facets_by_newest",
    "rating": "INDEXED BY facets_by_rating",
}


def _no_facets() -> dict[str, list[dict[str, Any]]]:
    return {"category": [], "brand": []}


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


class SearchIndex:
    """A read-only view of one index file; cheap enough to keep one per warm container."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._conn.execute("PRAGMA cache_size = -32000")
        self._conn.execute("PRAGMA temp_store = MEMORY")
        self._columns: FacetColumns | None = None  # read on the first worded search
        self._pinyin_words: dict[str, tuple[str, int]] | None = None  # read on the first joined pinyin
        self.categories = {
            row[0]: {"category_id": row[0], "name": row[1], "parent_id": row[2]}
            for row in self._conn.execute("SELECT category_id, name, parent_id FROM categories")
        }
        self.brands = dict(self._conn.execute("SELECT brand_id, name FROM brands").fetchall())
        self._pair_sizes: Counter[int] = Counter()
        for pair, n in self._conn.execute("SELECT pair, n FROM browse_counts"):
            self._pair_sizes[pair] += n
        self.size = sum(self._pair_sizes.values())
        children: dict[str | None, list[str]] = defaultdict(list)
        for category in self.categories.values():
            children[category["parent_id"]].append(category["category_id"])
        self._children = dict(children)
        self._pairs: dict[int, tuple[str, str]] = {
            row[0]: (row[1], row[2]) for row in self._conn.execute("SELECT pair, category_id, brand_id FROM pairs")
        }

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

    def search(self, query: SearchQuery, look_further: bool = True) -> dict[str, Any]:
        """Items of the page, total, facets and recommendations; zero hits retry relaxed, and a query that still
        finds nothing gets `did_you_mean` (a query that finds something, or None) and suggestions."""
        if query.sort not in SORTS:
            raise SearchError(f"unknown sort {query.sort!r}")
        page = min(max(query.page, 1), MAX_PAGE)
        page_size = min(max(query.page_size, 1), MAX_PAGE_SIZE)
        result: dict[str, Any] = {"items": [], "total": 0, "page": page, "facets": {"category": [], "brand": []}}
        relaxed = False
        suggestions: list[str] = []
        did_you_mean: str | None = None
        if not query.text.strip():
            total, items, facets = self._run(None, query, page, page_size)
        else:
            words = self.query_words(query.text)
            total, items, facets, relaxed = self._match(words, query, page, page_size)
            if not total and look_further:
                suggestions = self._zero_result_suggestions(query.text)
                did_you_mean = self._did_you_mean(query, words)
        result.update(items=items, total=total, facets=facets)
        result["recommendations"] = self._recommendations(items, facets)
        result["relaxed"] = relaxed
        result["suggestions"] = suggestions
        result["did_you_mean"] = did_you_mean
        return result

    def query_words(self, query_text: str) -> list[str]:
        """The content words of a query, with full pinyin the catalog does not hold as Latin read back as Chinese
        (`saodijiqiren` or `sao di ji qi ren` -> 扫地机器人), so pinyin finds what the Chinese finds."""
        typed = text.query_words(query_text)
        apart = len(typed) > 1 and all(word.isascii() and word.isalpha() for word in typed)
        if apart and not any(self._holds_as_latin(word) for word in typed):  # syllables typed apart: read joined
            typed = ["".join(typed)]
        words: list[str] = []
        for word in typed:
            chinese = None
            if matching.could_be_pinyin(word) and not self._holds_as_latin(word):
                chinese = matching.words_of_pinyin(word, self._pinyin_word)
            words.extend(chinese or [word])
        return list(dict.fromkeys(words))

    def _holds_as_latin(self, word: str) -> bool:
        return self._matches(matching.within(_LATIN_COLUMNS, matching.quote(word)))

    def _match(
        self, words: list[str], query: SearchQuery, page: int, page_size: int
    ) -> tuple[int, list[dict[str, Any]], dict[str, list[dict[str, Any]]], bool]:
        """The first of match_expressions that finds something: every word, then relaxed (see matching)."""
        named_only = query.sort != "relevance"
        unknown = frozenset(word for word in words if not self._matches(matching.term(word)))
        attempts = match_expressions(words, unknown, named_only=named_only)
        if attempts and not attempts[0][1]:
            total, items, facets = self._run(attempts[0][0], query, page, page_size)
            if total:
                return total, items, facets, False
            columns = matching.NAMED_COLUMNS if named_only else matching.RELAXED_COLUMNS
            weak = frozenset(
                word
                for word in words
                if word not in unknown and not self._matches(matching.within(columns, matching.term(word)))
            )
            attempts = match_expressions(words, unknown, weak, named_only=named_only)
        for expression, is_relaxed in attempts:
            if not is_relaxed:
                continue
            total, items, facets = self._run(expression, query, page, page_size)
            if total:
                return total, items, facets, True
        return 0, [], _no_facets(), False

    def _matches(self, expression: str) -> bool:
        """Whether any product matches (the first hit ends the look-up: cheap even for a broad word)."""
        found = self._conn.execute("SELECT 1 FROM product_text WHERE product_text MATCH ? LIMIT 1", (expression,))
        return found.fetchone() is not None

    def _pinyin_word(self, pinyin: str) -> tuple[str, int] | None:
        """The shop's word under this pinyin: a dict read once (a few thousand rows), as reading a joined pinyin
        looks up every piece of it (210 for 20 letters), which cost ~0.2 ms a query as single statements."""
        if self._pinyin_words is None:
            rows = self._conn.execute("SELECT pinyin, word, products FROM pinyin_words")
            self._pinyin_words = {pinyin: (word, products) for pinyin, word, products in rows}
        return self._pinyin_words.get(pinyin)

    def _did_you_mean(self, query: SearchQuery, words: list[str]) -> str | None:
        """A query near one that found nothing that finds something on its own terms (same filters), or None: the
        words products name, then completions of the query and of each word."""
        candidates: list[str] = []
        named = [w for w in words if self._matches(matching.within(matching.NAMED_COLUMNS, matching.term(w)))]
        if named and len(named) < len(words):
            candidates.append(" ".join(named))
        candidates.extend(self.suggest(query.text, limit=2))
        for word in words:
            candidates.extend(self.suggest(word, limit=2))
        tried: set[str] = set()
        for candidate in candidates:
            if candidate in tried or candidate == query.text or len(tried) >= DID_YOU_MEAN_TRIES:
                continue
            tried.add(candidate)
            found = self.search(replace(query, text=candidate, page=1, page_size=1), look_further=False)
            if found["total"] and not found["relaxed"]:
                return candidate
        return None

    def _pairs_for(self, category_ids: list[str] | None, brand_id: str | None) -> list[int] | None:
        """The (category, brand) pair numbers a filter allows; None when it allows all."""
        if category_ids is None and brand_id is None:
            return None
        wanted = set(category_ids) if category_ids is not None else None
        return [
            pair
            for pair, (category_id, pair_brand) in self._pairs.items()
            if (wanted is None or category_id in wanted) and (brand_id is None or pair_brand == brand_id)
        ]

    def _run(
        self, expression: str | None, query: SearchQuery, page: int, page_size: int
    ) -> tuple[int, list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        empty: tuple[int, list[dict[str, Any]], dict[str, list[dict[str, Any]]]] = (0, [], _no_facets())
        category_ids = self.subtree(query.category_id) if query.category_id is not None else None
        pairs = self._pairs_for(category_ids, query.brand_id)
        where: list[str] = []
        args: list[Any] = []
        if pairs is not None:
            if not pairs:
                return empty
            where.append(f"f.pair IN ({', '.join(map(str, pairs))})")  # integers from the index itself
        priced = query.price_min_fen is not None or query.price_max_fen is not None
        if query.price_min_fen is not None:
            where.append("f.price >= ?")
            args.append(query.price_min_fen)
        if query.price_max_fen is not None:
            where.append("f.price <= ?")
            args.append(query.price_max_fen)
        if query.in_stock:
            where.append("f.stock = 1")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        offset = (page - 1) * page_size
        if expression is not None:
            in_pairs = frozenset(pairs) if pairs is not None else None
            filters = Filters(in_pairs, query.price_min_fen, query.price_max_fen, bool(query.in_stock))
            matched, rowids = self._worded(expression, where, args, filters, query.sort, offset, page_size)
            total = sum(matched.values())
            return (total, self._cards(rowids), self._facets(list(matched.items()))) if total else empty
        if priced and pairs is not None and sum(self._pair_sizes[pair] for pair in pairs) <= BANDLESS_ROWS:
            # A category's price range: its rows counted in facets_by_pair, one range of prices for each (pair,
            # stock), cheaper than the bands' reads for the whole shop (~0.2 ms for 10,000 rows against ~1.5 ms).
            stocks = "" if query.in_stock else " AND f.stock IN (0, 1)"  # stock is 0 or 1: the price is a range
            source = "facets f INDEXED BY facets_by_pair"
            sql = f"SELECT f.pair, count(*) FROM {source} {clause}{stocks} GROUP BY f.pair"  # noqa: S608
            counts = self._conn.execute(sql, args).fetchall()
        elif priced:
            # A price range matches most of the shop: counted from the price bands, not row by row.
            in_range = prices.range_counts(self._conn, query.price_min_fen, query.price_max_fen)
            allowed = set(pairs) if pairs is not None else None
            by_pair: Counter[int] = Counter()
            for (pair, stock), n in in_range.items():
                if (allowed is None or pair in allowed) and (stock or not query.in_stock):
                    by_pair[pair] += n
            counts = sorted(by_pair.items())
        else:
            cube = [w.replace("f.", "") for w in where]
            cube_clause = f"WHERE {' AND '.join(cube)}" if cube else ""
            sql = f"SELECT pair, sum(n) FROM browse_counts {cube_clause} GROUP BY pair"  # noqa: S608
            counts = self._conn.execute(sql, args).fetchall()
        total = sum(row[1] for row in counts)
        if not total:
            return empty
        if offset >= total:
            return total, [], self._facets(counts)
        source = "facets f"  # the sort's index finds the page: most rows pass a browse's filters
        order = _ORDER["sales" if query.sort == "relevance" else query.sort]
        if (offset + page_size) * self.size < total * total and self._walks(query, total):
            # Most rows pass the browse's filters: walking the sort's own index meets the page sooner than
            # gathering every match and sorting it.
            source = f"facets f {_BROWSE_INDEX[query.sort]}"
        rowids = [
            row[0]
            for row in self._conn.execute(
                f"SELECT f.rowid FROM {source} {clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
                [*args, page_size, offset],
            )
        ]
        return total, self._cards(rowids), self._facets(counts)

    def _worded(
        self, expression: str, where: list[str], args: list[Any], filters: Filters, sort: str, offset: int, limit: int
    ) -> tuple[Counter[int], list[int]]:
        """(matches by pair, rowids of the page) of a worded search: the matches come from the FTS table alone and
        are filtered, counted and sorted on the facet columns in memory (chalicelib/search/columns.py)."""
        if self._columns is None:
            self._columns = FacetColumns(self._conn)
        found = self._columns
        if sort != "relevance":
            ids = found.keep(matching_rowids(self._conn, expression), filters)
            return found.counts(ids), found.page(ids, sort, offset, limit)
        # Only the RANK_WINDOW best sellers among the matches are scored: bm25 over every match of a broad word
        # costs milliseconds per thousand rows, and a page past them is never read.
        window = max(RANK_WINDOW, offset + limit)
        clause = f"WHERE {' AND '.join(['product_text MATCH ?', *where])}"
        by_pair, ranked, last = scanning.ranked_page(self._conn, clause, [expression, *args], window, offset, limit)
        if last is not None:  # matches past the window: counted, never ranked
            after = found.keep(matching_rowids(self._conn, expression, after=last), filters)
            by_pair.update(found.counts(after))
        return by_pair, ranked

    def _walks(self, query: SearchQuery, total: int) -> bool:
        """Whether a browse may walk its sort's index. Prices follow categories (books cost little, phones much):
        from the dear end, the price index of the whole shop can pass nearly every row before a cheap category's
        first one, so a price sort walks only when the filters keep a third of the shop; gathering that many rows
        from facets_by_pair and sorting them costs about a whole walk (~0.1 µs a row against ~0.04)."""
        return not query.sort.startswith("price_") or total * 3 > self.size

    def _cards(self, rowids: list[int]) -> list[dict[str, Any]]:
        return scanning.cards(self._conn, rowids)

    def _facets(self, counts: list[tuple[int, int]]) -> dict[str, list[dict[str, Any]]]:
        by_category: Counter[str] = Counter()
        by_brand: Counter[str] = Counter()
        for pair, count in counts:
            category_id, brand_id = self._pairs[pair]
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
        shown = {item["product_id"] for item in items}
        pairs = self._pairs_for([category_id], None) if category_id else None
        limit = RECOMMENDATIONS + len(shown)
        held = sum(self._pair_sizes[pair] for pair in pairs or ())
        rowids = scanning.best_sellers(self._conn, pairs, limit, walk=limit * self.size < held * held)
        return [card for card in self._cards(rowids) if card["product_id"] not in shown][:RECOMMENDATIONS]

    def _zero_result_suggestions(self, query_text: str) -> list[str]:
        """Suggestions for a query nothing matched: completions of it, else of its first word, else top ones."""
        words = text.query_words(query_text)
        for prefix in (query_text, *(words[:1])):
            found = self.suggest(prefix, limit=5)
            if found:
                return found
        return (self._top_suggestions("") or [])[:5]

    # ------------------------------------------------------------------------------------------------ suggest

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Completions of a prefix typed as Chinese, full pinyin (`shouji`) or initials (`sj`), most popular first."""
        return suggesting.suggest(self._conn, prefix, limit)

    def _top_suggestions(self, key: str) -> list[str] | None:
        return suggesting.top_suggestions(self._conn, key)
