"""The facet columns a worded search reads from memory say what the index file's facets table says, also after
changes in place leave gaps in the rowids and add products at the end; their filters and pages are what the SQL
over that table gives (`ORDER BY <key>, rowid`: ties in price, date and rating fall to the better seller)."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.search.building import build_index
from chalicelib.search.columns import FacetColumns, Filters, matching_rowids
from chalicelib.search.documents import ProductDoc
from chalicelib.search.sqlite import connect
from chalicelib.search.updating import apply_changes

BRANDS = ("b_acme", "b_zeta", "b_omni")
CATEGORIES = ("c_kitchen", "c_garden")


def catalog(count: int = 300, seed: int = 7) -> list[ProductDoc]:
    rng = random.Random(seed)
    return [
        ProductDoc(
            product_id=f"p_{number:04d}",
            title=f"{rng.choice(BRANDS)} qor m{number}" if rng.random() < 0.7 else f"vex m{number}",
            subtitle="",
            description="",
            brand_id=rng.choice(BRANDS),
            brand_name="brand",
            category_id=(category := rng.choice(CATEGORIES)),
            category_path=("c_home", category),
            category_names=("home", category),
            specs="",
            price_fen=rng.choice([990, 1990, 4990, rng.randint(100, 9_000)]),  # ties in price
            sales=rng.choice([0, 1, 5, rng.randint(0, 500)]),
            rating_avg=rng.choice([4.0, 4.5]),
            review_count=rng.choice([0, 10]),  # ties in rating
            view_count=0,
            created_at=f"2026-0{rng.randint(1, 3)}-01T00:00:00Z",  # ties in date
            in_stock=rng.random() > 0.3,
            on_sale=True,
            image_url=None,
        )
        for number in range(count)
    ]


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index changed in place: products taken out (gaps in the rowids), others changed, new ones added."""
    path = tmp_path_factory.mktemp("columns") / "index.sqlite"
    docs = catalog()
    build_index(docs, str(path))
    rng = random.Random(3)
    edits = [dataclasses.replace(doc, price_fen=4990, in_stock=not doc.in_stock) for doc in rng.sample(docs, 30)]
    added = [dataclasses.replace(doc, product_id=f"p_new{n}") for n, doc in enumerate(rng.sample(docs, 10))]
    apply_changes(str(path), [*edits, *added], removed=[doc.product_id for doc in rng.sample(docs, 25)])
    return path


SORT_KEYS = {"price_asc": "price", "price_desc": "price DESC", "newest": "newest", "rating": "rating"}
FILTERS = [
    Filters(),
    Filters(pairs=frozenset({1, 2, 3}), in_stock=True),
    Filters(price_min=1990),
    Filters(price_max=4990, in_stock=True),
    Filters(price_min=990, price_max=4990),
]


def sql_where(filters: Filters) -> str:
    where = ["product_text MATCH ?"]
    if filters.pairs is not None:
        where.append(f"f.pair IN ({', '.join(map(str, sorted(filters.pairs)))})")
    if filters.price_min is not None:
        where.append(f"f.price >= {filters.price_min}")
    if filters.price_max is not None:
        where.append(f"f.price <= {filters.price_max}")
    if filters.in_stock:
        where.append("f.stock = 1")
    return " AND ".join(where)


def test_the_columns_hold_every_products_facets_after_changes_in_place(changed: Path) -> None:
    # GIVEN an index with gaps in its rowids and products added at the end, WHEN its columns are read
    conn = connect(changed)
    try:
        columns = FacetColumns(conn)
        rows = conn.execute("SELECT rowid, pair, price, stock, newest, rating FROM facets").fetchall()
        gaps = set(range(1, max(row[0] for row in rows) + 1)) - {row[0] for row in rows}
    finally:
        conn.close()
    # THEN each product's pair, price, stock and sort keys are the facets table's, and a gap holds nothing
    assert gaps
    for rowid, *values in rows:
        held = [columns.pair[rowid], columns.price[rowid], columns.stock[rowid]]
        assert [*held, columns.newest[rowid], columns.rating[rowid]] == values
    assert all(columns.pair[rowid] == 0 for rowid in gaps)


@pytest.mark.parametrize("filters", FILTERS)
def test_filtered_counts_and_every_sorted_page_are_what_sql_gives(changed: Path, filters: Filters) -> None:
    conn = connect(changed)
    try:
        columns = FacetColumns(conn)
        # WHEN a word's matches are filtered, counted and paged on the columns
        kept = columns.keep(matching_rowids(conn, '"qor"'), filters)
        source = f"product_text t CROSS JOIN facets f ON f.rowid = t.rowid WHERE {sql_where(filters)}"
        # THEN they are the rows, counts and pages of the same query in SQL (ties in rowid order)
        rows = conn.execute(f"SELECT f.rowid, f.pair FROM {source} ORDER BY t.rowid", ['"qor"']).fetchall()  # noqa: S608
        assert kept == [row[0] for row in rows]
        assert columns.counts(kept) == Counter(row[1] for row in rows)
        for sort, key in SORT_KEYS.items():
            for offset in (0, 20, 60):
                sql = f"SELECT f.rowid FROM {source} ORDER BY f.{key}, f.rowid LIMIT 20 OFFSET {offset}"  # noqa: S608
                wanted = [row[0] for row in conn.execute(sql, ['"qor"'])]
                assert columns.page(kept, sort, offset, 20) == wanted, (sort, offset)
        assert columns.page(kept, "sales", 20, 20) == kept[20:40]
    finally:
        conn.close()


def test_matches_past_a_rowid_are_the_rest_of_the_matches(changed: Path) -> None:
    conn = connect(changed)
    try:
        every = matching_rowids(conn, '"qor"')
        # WHEN the matches after the tenth are asked for, THEN they are the rest, in rowid order
        assert matching_rowids(conn, '"qor"', after=every[9]) == every[10:]
        assert every == sorted(every)
        assert matching_rowids(conn, '"nothinglikeit"') == []
    finally:
        conn.close()
