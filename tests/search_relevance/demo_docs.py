"""The demo catalog (local/demo/data) as search documents, without AWS: what the judged set is run against."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from chalicelib.search.documents import ProductDoc, doc_from_catalog
from local.demo import catalog as demo_catalog


def _counters(product_id: str) -> dict[str, float]:
    """Deterministic sales and ratings: the demo seed starts every product at zero, which would make all
    popularity ties; a digest of the id spreads them the same way on every run."""
    digest = hashlib.sha1(product_id.encode(), usedforsecurity=False).digest()
    reviews = digest[1] % 200
    return {
        "sales": int.from_bytes(digest[2:4], "big") % 5000,
        "review_count": reviews,
        "rating_avg": round(3.5 + (digest[4] % 16) / 10, 1) if reviews else 0.0,
    }


@lru_cache(maxsize=1)
def demo_docs() -> tuple[ProductDoc, ...]:
    categories = {c["category_id"]: c for c in demo_catalog.categories()}
    brands = {b["brand_id"]: b for b in demo_catalog.brands()}
    docs = []
    for product in demo_catalog.products():
        record = {**product, **_counters(product["product_id"])}
        docs.append(doc_from_catalog(record, product["skus"], categories, brands))
    return tuple(docs)
