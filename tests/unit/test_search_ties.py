"""Ties in a browse sorted by newest or rating fall to the better seller, on every page: products created in the
same second, or rated the same (all the unrated ones), are listed best seller first, whichever way the engine reads
the page (walking the sort's index, or gathering a category's or a price range's rows and sorting them)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from chalicelib.search.building import build_index, newest_key, rating_key
from chalicelib.search.documents import ProductDoc
from chalicelib.search.engine import SearchIndex, SearchQuery

CATEGORIES = ("c_kitchen", "c_garden", "c_office", "c_toys")
BRANDS = ("b_acme", "b_zeta", "b_omni", "b_nova", "b_kilo")
PAGE_SIZE = 10


def catalog(count: int = 800, seed: int = 11) -> list[ProductDoc]:
    """Products created in one of three seconds, most of them unrated, every one with its own sales figure."""
    rng = random.Random(seed)
    sales = rng.sample(range(10_000), count)
    docs = []
    for number in range(count):
        category = CATEGORIES[0] if number % 2 else rng.choice(CATEGORIES)  # one large category, three small
        rated = rng.random() < 0.25
        docs.append(
            ProductDoc(
                product_id=f"p_{number:04d}",
                title=f"thing m{number}",
                subtitle="",
                description="",
                brand_id=rng.choice(BRANDS),
                brand_name="brand",
                category_id=category,
                category_path=("c_home", category),
                category_names=("home", category),
                specs="",
                price_fen=rng.choice([990, 1990, 4990, 9990, rng.randint(100, 20_000)]),
                sales=sales[number],
                rating_avg=4.5 if rated else 0.0,
                review_count=3 if rated else 0,
                view_count=0,
                created_at=f"2026-03-0{rng.randint(1, 3)}T08:00:00Z",
                in_stock=rng.random() > 0.2,
                on_sale=True,
                image_url=None,
            )
        )
    return docs


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchIndex, list[ProductDoc]]]:
    path = tmp_path_factory.mktemp("ties") / "index.sqlite"
    docs = catalog()
    build_index(docs, str(path))
    with SearchIndex(str(path)) as index:
        yield index, docs


def every_page(index: SearchIndex, query: SearchQuery) -> list[str]:
    ids: list[str] = []
    for page in range(1, 51):
        items = index.search(dataclasses.replace(query, page=page, page_size=PAGE_SIZE))["items"]
        if not items:
            break
        ids += [item["product_id"] for item in items]
    return ids


def kept(doc: ProductDoc, query: SearchQuery) -> bool:
    return (
        (query.category_id is None or query.category_id in doc.category_path)
        and (query.brand_id is None or doc.brand_id == query.brand_id)
        and (query.price_min_fen is None or doc.price_fen >= query.price_min_fen)
        and (query.price_max_fen is None or doc.price_fen <= query.price_max_fen)
        and (not query.in_stock or doc.in_stock)
    )


BROWSES = {
    "the whole shop": SearchQuery(),
    "the whole shop in stock": SearchQuery(in_stock=True),
    "a large category": SearchQuery(category_id="c_kitchen"),
    "a small category": SearchQuery(category_id="c_garden"),
    "a category and brand": SearchQuery(category_id="c_office", brand_id="b_zeta"),
    "a wide price range": SearchQuery(price_min_fen=990, price_max_fen=20_000),
    "a narrow price range": SearchQuery(price_min_fen=1990, price_max_fen=4990),
    "a category's price range in stock": SearchQuery(category_id="c_kitchen", price_max_fen=4990, in_stock=True),
}
KEYS = {"newest": newest_key, "rating": rating_key}


@pytest.mark.parametrize("sort", sorted(KEYS))
@pytest.mark.parametrize("browse", sorted(BROWSES))
def test_a_browse_by_newest_or_rating_lists_tied_products_best_seller_first_on_every_page(
    shop: tuple[SearchIndex, list[ProductDoc]], browse: str, sort: str
) -> None:
    # GIVEN a shop whose products tie by the hundred on creation time and rating, each with its own sales
    index, docs = shop
    query = dataclasses.replace(BROWSES[browse], sort=sort)
    wanted = [
        d.product_id for d in sorted((d for d in docs if kept(d, query)), key=lambda d: (KEYS[sort](d), -d.sales))
    ]
    assert len(wanted) > PAGE_SIZE and len(set(map(KEYS[sort], docs))) <= 3
    # WHEN the browse is read page after page
    listed = every_page(index, query)
    # THEN the products come in the sort's order, ties best seller first, each page going on where the last ended
    assert listed == wanted[: 50 * PAGE_SIZE]
