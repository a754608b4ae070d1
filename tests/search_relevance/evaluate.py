"""Runs the judged query set (judged.toml) against an index of the demo catalog: precision@5 and nDCG@10."""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.search.documents import ProductDoc
from chalicelib.search.engine import SearchIndex, SearchQuery

JUDGED = Path(__file__).resolve().parent / "judged.toml"


def product_id_of(slug: str) -> str:
    """The demo catalog's product id of a slug (local/demo_catalog.py derives it the same way)."""
    return "p_" + hashlib.sha1(slug.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


@dataclass(frozen=True)
class Judged:
    query: str
    grades: dict[str, int]  # product id -> 2 (exact answer) or 1 (relevant)


def judged_queries(docs: tuple[ProductDoc, ...]) -> list[Judged]:
    with JUDGED.open("rb") as handle:
        raw: list[dict[str, Any]] = tomllib.load(handle)["query"]
    known = {doc.product_id for doc in docs}
    judged = []
    for entry in raw:
        grades: dict[str, int] = {}
        categories, brands = set(entry.get("categories", ())), set(entry.get("brands", ()))
        if categories or brands:
            for doc in docs:
                if (not categories or doc.category_id in categories) and (not brands or doc.brand_id in brands):
                    grades[doc.product_id] = 1
        for slug in entry.get("best", ()):
            product_id = product_id_of(slug)
            if product_id not in known:
                raise ValueError(f"{entry['q']}: no demo product {slug}")
            grades[product_id] = 2
        judged.append(Judged(entry["q"], grades))
    return judged


def precision_at(ranked: list[str], grades: dict[str, int], k: int) -> float:
    hits = sum(1 for product_id in ranked[:k] if grades.get(product_id, 0) > 0)
    return hits / min(k, len(grades))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int) -> float:
    def dcg(gains: list[int]) -> float:
        return sum((2**gain - 1) / math.log2(place + 2) for place, gain in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(product_id, 0) for product_id in ranked]) / ideal


@dataclass(frozen=True)
class Scores:
    per_query: list[tuple[str, float, float]]  # (query, precision@5, nDCG@10)

    @property
    def precision_at_5(self) -> float:
        return sum(p for _q, p, _n in self.per_query) / len(self.per_query)

    @property
    def ndcg_at_10(self) -> float:
        return sum(n for _q, _p, n in self.per_query) / len(self.per_query)


def evaluate(index: SearchIndex, docs: tuple[ProductDoc, ...]) -> Scores:
    per_query = []
    for judged in judged_queries(docs):
        result = index.search(SearchQuery(text=judged.query, page_size=10))
        ranked = [item["product_id"] for item in result["items"]]
        per_query.append((judged.query, precision_at(ranked, judged.grades, 5), ndcg_at(ranked, judged.grades, 10)))
    return Scores(per_query)
