"""Search results are exact: totals, facet counts and the order of every sort over a generated catalog, computed
again here from the products themselves (relevance from its definition in plain SQL), before and after changes in
place. The catalog is larger than the relevance window (RANK_WINDOW) so that broad words take every path, and browses
(no words) of the whole shop, of categories and of price ranges take the index walks and the gathers; ties in every
sort's key (price, sales, creation time, rating) fall to the better seller."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.search import engine, matching
from chalicelib.search.building import build_index, newest_key, rating_key
from chalicelib.search.documents import ProductDoc
from chalicelib.search.engine import SearchIndex, SearchQuery
from chalicelib.search.sqlite import connect
from chalicelib.search.updating import apply_changes

PRODUCTS = 1_300
WORDS = {"qor": 0.8, "vex": 0.25, "tal": 0.04}  # made-up words: no synonym, no pinyin, no stop word
CATEGORIES = {"c_kitchen": "kitchen", "c_garden": "garden", "c_office": "office"}
BRANDS = {"b_acme": "Acme", "b_zeta": "Zeta", "b_omni": "Omni", "b_nova": "Nova"}


def catalog(seed: int = 15) -> list[ProductDoc]:
    rng = random.Random(seed)
    docs = []
    for number in range(PRODUCTS):
        category_id = rng.choice(sorted(CATEGORIES))
        brand_id = rng.choice(sorted(BRANDS))
        words = [word for word, share in WORDS.items() if rng.random() < share]
        sales = rng.choice([0, 0, 1, 5, 5, 20, rng.randint(0, 5000)])  # ties in sales: product id decides
        docs.append(
            ProductDoc(
                product_id=f"p_{number:05d}",
                title=" ".join([BRANDS[brand_id], *words, f"m{number}"]),
                subtitle="",
                description="",
                brand_id=brand_id,
                brand_name=BRANDS[brand_id],
                category_id=category_id,
                category_path=("c_home", category_id),
                category_names=("home", CATEGORIES[category_id]),
                specs="",
                price_fen=rng.choice([990, 1990, 1990, 4990, rng.randint(100, 100_000)]),  # ties in price
                sales=sales,
                rating_avg=(0.0, 3.0, 4.5)[number % 3],  # ties in rating: a third unrated, the rest in few groups
                review_count=0 if number % 3 == 0 else number % 4,
                view_count=0,
                created_at=f"2026-01-01T00:{number // 300:02d}:00Z",  # ties in creation time: 300 a minute
                in_stock=rng.random() > 0.2,
                on_sale=rng.random() > 0.02,
                image_url=None,
            )
        )
    return docs


def expected(docs: list[ProductDoc], word: str, query: SearchQuery) -> tuple[list[ProductDoc], Counter, Counter]:
    """The matches of one word (every product for a browse: no word) under the query's filters, in sales order (the
    rowid order), with facet counts."""
    on_sale = sorted((d for d in docs if d.on_sale), key=lambda d: (-d.sales, -d.review_count, d.product_id))
    found = [
        d
        for d in on_sale
        if (not word or word in d.title.split())
        and (query.category_id is None or query.category_id in d.category_path)
        and (query.brand_id is None or d.brand_id == query.brand_id)
        and (query.price_min_fen is None or d.price_fen >= query.price_min_fen)
        and (query.price_max_fen is None or d.price_fen <= query.price_max_fen)
        and (not query.in_stock or d.in_stock)
    ]
    return found, Counter(d.category_id for d in found), Counter(d.brand_id for d in found)


def by_relevance(path: Path, word: str, found: list[ProductDoc]) -> list[str]:
    """The documented ranking in plain SQL: the first RANK_WINDOW matches in sales order, by bm25 scaled by
    popularity, then sales order."""
    window = [d.product_id for d in found[: engine.RANK_WINDOW]]
    conn = connect(path)
    try:
        rows = conn.execute(
            "SELECT p.product_id FROM product_text t CROSS JOIN facets f ON f.rowid = t.rowid"
            " JOIN products p ON p.rowid = f.rowid WHERE product_text MATCH ?"
            " ORDER BY bm25(product_text, 10.0, 8.0, 5.0, 5.0, 2.0, 1.0, 3.0) * (1 + 0.02 * f.popularity), f.rowid",
            [matching.term(word)],
        ).fetchall()
    finally:
        conn.close()
    inside = set(window)
    return [row[0] for row in rows if row[0] in inside]


def listed(index: SearchIndex, query: SearchQuery, pages: int) -> list[str]:
    ids: list[str] = []
    for page in range(1, pages + 1):
        ids += [item["product_id"] for item in index.search(dataclasses.replace(query, page=page))["items"]]
    return ids


QUERIES = [
    SearchQuery(text="qor"),
    SearchQuery(text="qor", price_min_fen=1990, in_stock=True),
    SearchQuery(text="qor", category_id="c_garden", price_max_fen=4990),
    SearchQuery(text="vex", brand_id="b_zeta"),
    SearchQuery(text="vex", category_id="c_home", price_min_fen=1000, price_max_fen=50_000),
    SearchQuery(text="tal", in_stock=True),
    SearchQuery(),
    SearchQuery(in_stock=True),
    SearchQuery(category_id="c_garden"),
    SearchQuery(category_id="c_office", brand_id="b_nova"),
    SearchQuery(price_min_fen=1990, price_max_fen=4990),
    SearchQuery(category_id="c_kitchen", price_min_fen=1000, in_stock=True),
]
ORDERS = {
    "sales": lambda d: 0,  # stable: sales order as found
    "price_asc": lambda d: d.price_fen,
    "price_desc": lambda d: -d.price_fen,
    "newest": newest_key,
    "rating": rating_key,
}


def assert_exact(index: SearchIndex, path: Path, docs: list[ProductDoc]) -> None:
    for base in QUERIES:
        found, categories, brands = expected(docs, base.text, base)
        for sort in engine.SORTS:
            query = dataclasses.replace(base, sort=sort, page_size=50)
            result = index.search(query)
            assert result["total"] == len(found), (query, result["total"], len(found))
            assert {f["id"]: f["count"] for f in result["facets"]["category"]} == dict(categories), query
            assert {f["id"]: f["count"] for f in result["facets"]["brand"]} == dict(brands), query
            if sort == "relevance" and base.text:  # every page of the window: the match past it must not be ranked
                wanted = by_relevance(path, base.text, found)
                pages = -(-len(wanted) // 50)
            else:  # a browse by relevance is by sales; ties in a sort's key fall to rowid order (the better seller)
                key = ORDERS["sales" if sort == "relevance" else sort]
                in_order = sorted(enumerate(found), key=lambda rank_doc: (key(rank_doc[1]), rank_doc[0]))
                wanted = [d.product_id for _rank, d in in_order][:150]
                pages = 3
            assert listed(index, query, pages=pages) == wanted, query


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ProductDoc]]:
    path = tmp_path_factory.mktemp("scanning") / "index.sqlite"
    docs = catalog()
    build_index(docs, str(path))
    return path, docs


def test_a_broad_word_matches_more_than_the_relevance_window(built: tuple[Path, list[ProductDoc]]) -> None:
    path, _docs = built
    with SearchIndex(str(path)) as index:
        assert index.search(SearchQuery(text="qor"))["total"] > engine.RANK_WINDOW


def test_totals_facets_and_every_sort_order_are_exact(built: tuple[Path, list[ProductDoc]]) -> None:
    # GIVEN an index of a catalog with ties in price and sales, WHEN words are searched with filters and each sort
    path, docs = built
    with SearchIndex(str(path)) as index:
        # THEN totals, facet counts and the pages are what the products themselves give
        assert_exact(index, path, docs)


def test_results_stay_exact_after_changes_in_place(built: tuple[Path, list[ProductDoc]], tmp_path: Path) -> None:
    # GIVEN a copy of the index where prices, stock, categories and words of products changed, some went off sale
    path, docs = built
    copy = tmp_path / "changed.sqlite"
    copy.write_bytes(path.read_bytes())
    rng = random.Random(4)
    changed = []
    for doc in rng.sample([doc for doc in docs if doc.on_sale], 120):  # on sale: they keep their rowids
        changed.append(
            dataclasses.replace(
                doc,
                price_fen=rng.choice([990, 4990, 77_000]),
                in_stock=not doc.in_stock,
                category_id="c_office",
                category_path=("c_home", "c_office"),
                category_names=("home", "office"),
                title=f"{doc.title} tal" if "tal" not in doc.title else doc.title.replace(" tal", ""),
                on_sale=rng.random() > 0.1,
            )
        )
    apply_changes(str(copy), changed)
    by_id = {doc.product_id: doc for doc in docs} | {doc.product_id: doc for doc in changed}
    # WHEN the same searches run on it, THEN they are exact for the changed catalog (changed products keep their
    # place in sales order until the next full build, and this catalog's changes keep sales as they were)
    with SearchIndex(str(copy)) as index:
        assert_exact(index, copy, list(by_id.values()))
