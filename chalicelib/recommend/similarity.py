"""Item-item similarity from co-occurrence in shoppers' behaviour: sparse matrices, top k neighbours per product.

numpy and scipy are imported here and only by the scheduled refresh: `import app` never loads this module.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from chalicelib.recommend.behaviour import KIND_WEIGHTS, SECONDS_PER_DAY, Interaction

# Product relationships change slowly: a month-old co-purchase still says the two go together.
SIMILARITY_HALF_LIFE_DAYS = 30.0
# 0.5 is cosine; above it a popular neighbour is penalised less (towards P(j | i)), which suits what people buy.
ASYMMETRY = 0.7
# A pair seen together little is mostly chance: its similarity is scaled by c / (c + SHRINKAGE), c its co-occurrence
# (one shared view is about 0.5, one shared purchase about 6). Tuned on bench/recommend.py --seed 3.
SHRINKAGE = 5.0
# Pairs whose co-occurrence is below this are dropped (0 keeps every pair seen together at all).
MIN_SUPPORT = 0.0
# Products whose co-occurrences are computed at once: bounds the memory of X^T X whatever the catalog size.
BLOCK_PRODUCTS = 4096


@dataclass(frozen=True)
class Behaviour:
    """Interactions as integer codes (ids sorted, so a smaller code is a smaller id): what the sparse maths reads."""

    user_ids: list[str]
    product_ids: list[str]
    users: np.ndarray  # int32 code of each interaction's user
    products: np.ndarray  # int32 code of each interaction's product
    weights: np.ndarray  # float64 KIND_WEIGHTS of each interaction's kind
    at: np.ndarray  # float64 epoch seconds

    def matrix(self, now: float, half_life_days: float) -> sp.csr_matrix:
        """users x products: log(1 + sum of decayed kind weights). The log keeps ten views from outweighing a buy."""
        age_days = np.maximum(now - self.at, 0.0) / SECONDS_PER_DAY
        # Floored so that very old behaviour counts for almost nothing, yet never for an exact zero the maths drops.
        decayed = np.maximum(self.weights * np.exp2(-age_days / half_life_days), 1e-9)
        shape = (len(self.user_ids), len(self.product_ids))
        summed = sp.csr_matrix((decayed, (self.users, self.products)), shape=shape)  # duplicates are added up
        summed.sum_duplicates()
        np.log1p(summed.data, out=summed.data)
        return summed

    def last_seen(self) -> np.ndarray:
        """Per user code: the epoch seconds of their latest interaction."""
        latest = np.full(len(self.user_ids), -np.inf)
        np.maximum.at(latest, self.users, self.at)
        return latest


def _codes(values: list[str]) -> tuple[list[str], np.ndarray]:
    """Sorted distinct values and each value's code in them."""
    first_seen: dict[str, int] = {}
    codes = np.fromiter((first_seen.setdefault(v, len(first_seen)) for v in values), np.int64, len(values))
    vocabulary = list(first_seen)
    order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
    rank = np.empty(len(vocabulary), np.int32)
    rank[order] = np.arange(len(vocabulary), dtype=np.int32)
    return [vocabulary[i] for i in order], rank[codes]


def encode(interactions: Iterable[Interaction]) -> Behaviour:
    """The columnar form of interactions; encode once and hand it to item_item and for_all_users."""
    rows = interactions if isinstance(interactions, list) else list(interactions)
    user_ids, users = _codes([r.user_id for r in rows])
    product_ids, products = _codes([r.product_id for r in rows])
    weights = np.fromiter((KIND_WEIGHTS[r.kind] for r in rows), np.float64, len(rows))
    at = np.fromiter((r.at for r in rows), np.float64, len(rows))
    return Behaviour(user_ids, product_ids, users, products, weights, at)


class SimilarItems(Mapping[str, list[tuple[str, float]]]):
    """product_id -> [(similar product_id, score)], best first: a read-only view over the top-k sparse matrix."""

    def __init__(self, product_ids: list[str], top_k: sp.csr_matrix) -> None:
        self.product_ids = product_ids
        self.matrix = top_k
        self._index = {p: i for i, p in enumerate(product_ids)}
        # Rows with no neighbour are not keys: their products need the content fallback.
        self._rows = np.flatnonzero(np.diff(top_k.indptr))

    def __getitem__(self, product_id: str) -> list[tuple[str, float]]:
        row = self._index[product_id]
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        if start == end:
            raise KeyError(product_id)
        columns, scores = self.matrix.indices[start:end], self.matrix.data[start:end]
        return [(self.product_ids[c], float(s)) for c, s in zip(columns.tolist(), scores.tolist(), strict=True)]

    def __iter__(self) -> Iterator[str]:
        return (self.product_ids[row] for row in self._rows.tolist())

    def __len__(self) -> int:
        return len(self._rows)


def _kth_largest(scores: sp.csr_matrix, rows: np.ndarray, k: int) -> np.ndarray:
    """The k-th largest value of each of `rows` (all have more than k entries), row by row in one np.partition per
    width class: rows are padded with -inf to the next power of two, so the padding at most doubles the work."""
    counts = np.diff(scores.indptr)[rows]
    widths = 1 << np.ceil(np.log2(counts)).astype(np.int64)
    kth = np.empty(len(rows))
    for width in np.unique(widths).tolist():
        chosen = np.flatnonzero(widths == width)
        offsets = np.arange(width)
        present = offsets < counts[chosen, None]
        padded = np.full((len(chosen), width), -np.inf)
        padded[present] = scores.data[(scores.indptr[rows[chosen], None] + offsets)[present]]
        kth[chosen] = np.partition(padded, width - k, axis=1)[:, width - k]
    return kth


def top_k_per_row(scores: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k best entries, stored best first; ties go to the smaller column (the smaller product_id).

    `scores` must hold no duplicate entries (what scipy's products and coo -> csr conversions give).
    """
    scores = scores.tocsr()
    counts = np.diff(scores.indptr)
    rows = np.repeat(np.arange(scores.shape[0]), counts)
    candidates = np.arange(scores.nnz)
    long_rows = np.flatnonzero(counts > k)
    if long_rows.size:
        # Only entries at or above their row's k-th largest value can make it: the full sort below stays small.
        threshold = np.full(scores.shape[0], -np.inf)
        threshold[long_rows] = _kth_largest(scores, long_rows, k)
        candidates = np.flatnonzero(scores.data >= threshold[rows])
    order = candidates[np.lexsort((scores.indices[candidates], -scores.data[candidates], rows[candidates]))]
    rank = np.arange(len(order)) - np.searchsorted(rows[order], rows[order], side="left")
    keep = order[rank < k]
    kept = np.bincount(rows[keep], minlength=scores.shape[0])
    indptr = np.concatenate(([0], np.cumsum(kept)))
    return sp.csr_matrix((scores.data[keep], scores.indices[keep], indptr), shape=scores.shape)


def item_item_matrix(
    behaviour: Behaviour,
    now: float,
    k: int = 20,
    *,
    half_life_days: float = SIMILARITY_HALF_LIFE_DAYS,
    asymmetry: float = ASYMMETRY,
    shrinkage: float = SHRINKAGE,
    min_support: float = MIN_SUPPORT,
    candidates: Collection[str] | None = None,
    block: tuple[str | None, str | None] = (None, None),
) -> sp.csr_matrix:
    """products x products, each row's top k neighbours (never itself), best first; only the rows of products whose
    id is in the block [first, end) are filled (None: unbounded), every row by default. Rows do not depend on one
    another, so the rows of a block are those of the whole.

    sim(i, j) = c_ij / (n_i^a * n_j^(1-a)) * c_ij / (c_ij + shrinkage), where c_ij = sum over shoppers of
    x_ui * x_uj (x from Behaviour.matrix) and n_i = c_ii; pairs with c_ij < min_support are dropped. Only products in
    `candidates` (say, the sellable ones) are offered as neighbours when it is given.
    """
    weights = behaviour.matrix(now, half_life_days)
    by_product = weights.T.tocsr()
    norms = np.asarray(weights.multiply(weights).sum(axis=0)).ravel()
    norms[norms == 0] = 1.0
    source_scale, target_scale = norms**-asymmetry, norms ** -(1.0 - asymmetry)
    allowed: np.ndarray[Any, Any] = np.ones(len(behaviour.product_ids), dtype=bool)
    if candidates is not None:
        wanted = set(candidates)
        allowed = np.fromiter((p in wanted for p in behaviour.product_ids), bool, len(behaviour.product_ids))

    size = allowed.size
    lo = bisect_left(behaviour.product_ids, block[0]) if block[0] is not None else 0
    hi = bisect_left(behaviour.product_ids, block[1]) if block[1] is not None else size

    def block_top_k(start: int) -> sp.csr_matrix:
        end = min(start + BLOCK_PRODUCTS, hi)
        together = (by_product[start:end] @ weights).tocsr()
        rows = np.repeat(np.arange(start, end), np.diff(together.indptr))
        columns, support = together.indices, together.data
        score = support * source_scale[rows] * target_scale[columns] * (support / (support + shrinkage))
        keep = (columns != rows) & allowed[columns] & (support >= min_support) & (score > 0)
        block = sp.csr_matrix((score[keep], (rows[keep] - start, columns[keep])), shape=(end - start, allowed.size))
        return top_k_per_row(block, k)

    if not size:
        return sp.csr_matrix((0, 0))
    blocks = [sp.csr_matrix((lo, size))] + [block_top_k(start) for start in range(lo, hi, BLOCK_PRODUCTS)]
    return sp.vstack([*blocks, sp.csr_matrix((size - max(hi, lo), size))], format="csr")


def item_item(
    interactions: Iterable[Interaction] | Behaviour,
    now: float,
    k: int = 20,
    *,
    half_life_days: float = SIMILARITY_HALF_LIFE_DAYS,
    asymmetry: float = ASYMMETRY,
    shrinkage: float = SHRINKAGE,
    min_support: float = MIN_SUPPORT,
    candidates: Collection[str] | None = None,
    block: tuple[str | None, str | None] = (None, None),
) -> SimilarItems:
    """product_id -> its top k similar products with scores, best first (see item_item_matrix for the score).

    Products without any co-occurrence are absent: give them ranking.content_neighbours via with_fallback.
    """
    behaviour = interactions if isinstance(interactions, Behaviour) else encode(interactions)
    top = item_item_matrix(
        behaviour, now, k, half_life_days=half_life_days, asymmetry=asymmetry, shrinkage=shrinkage,
        min_support=min_support, candidates=candidates, block=block,
    )  # fmt: skip
    return SimilarItems(behaviour.product_ids, top)


def with_fallback(
    similar: Mapping[str, list[tuple[str, float]]],
    content: Mapping[str, list[tuple[str, float]]],
    k: int = 20,
) -> dict[str, list[tuple[str, float]]]:
    """Every product's similar items: behaviour first, topped up to k from the content fallback (no repeats).

    Content scores are scaled below the product's weakest behavioural score, so merged lists stay best first.
    """
    merged: dict[str, list[tuple[str, float]]] = {}
    for product_id in sorted(set(similar) | set(content)):
        chosen = list(similar.get(product_id, []))[:k]
        seen = {product_id, *(p for p, _ in chosen)}
        floor = chosen[-1][1] if chosen else 1.0
        for candidate, score in content.get(product_id, []):
            if len(chosen) >= k:
                break
            if candidate not in seen:
                seen.add(candidate)
                chosen.append((candidate, floor * score / 2.0))
        merged[product_id] = chosen
    return merged
