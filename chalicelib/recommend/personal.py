"""For you: each shopper's picks from their recent behaviour through the item-item table, never what they bought.

for_you scores one shopper in plain Python; for_all_users scores every active shopper at once with sparse matrices
(numpy/scipy, imported only by the scheduled refresh). Both give the same lists for the same input.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from chalicelib.recommend.behaviour import Interaction, decayed_weight
from chalicelib.recommend.similarity import Behaviour, SimilarItems, encode, top_k_per_row

# A shopper's taste drifts: last week's footprints say more about today than last month's.
PROFILE_HALF_LIFE_DAYS = 7.0
# Products the shopper looked at, favourited or carted but did not buy come back with this share of their weight:
# an abandoned cart is often bought on a later visit.
REVISIT = 0.5
# Scores are rounded before ranking so that the per-shopper and the batch sums, added in different orders, rank
# alike; ties then go to the smaller product_id.
SCORE_DECIMALS = 9
# The same floor as Behaviour.matrix: ancient behaviour counts for almost nothing, never for exactly nothing.
WEIGHT_FLOOR = 1e-9
# Shoppers scored at once: bounds the memory of their score matrix whatever the number of shoppers.
BLOCK_USERS = 8192

Neighbours = Mapping[str, list[tuple[str, float]]]


def profile(user_history: Iterable[Interaction], now: float, half_life_days: float) -> dict[str, float]:
    """product_id -> how much the shopper cares about it now: log(1 + sum of decayed kind weights)."""
    summed: dict[str, float] = {}
    for interaction in user_history:
        weight = max(decayed_weight(interaction, now, half_life_days), WEIGHT_FLOOR)
        summed[interaction.product_id] = summed.get(interaction.product_id, 0.0) + weight
    return {product_id: math.log1p(total) for product_id, total in summed.items()}


def _topped_up(ranked: list[str], exclude: Collection[str], fallback: Iterable[str], k: int) -> list[str]:
    picks = ranked[:k]
    taken = set(picks)
    for product_id in fallback:
        if len(picks) >= k:
            break
        if product_id not in taken and product_id not in exclude:
            taken.add(product_id)
            picks.append(product_id)
    return picks


def for_you(
    user_history: list[Interaction],
    neighbours: Neighbours,
    exclude: Collection[str],
    fallback: list[str],
    k: int = 20,
    *,
    now: float | None = None,
    half_life_days: float = PROFILE_HALF_LIFE_DAYS,
    revisit: float = REVISIT,
) -> list[str]:
    """One shopper's top k: sum over their products h of weight(h) x sim(h, j), plus revisit x weight(h) for h
    itself; `exclude` (what they bought) removed; topped up from `fallback` (hot) when short.

    `now` defaults to the shopper's latest interaction. A shopper with no history gets the fallback.
    """
    if not user_history:
        return _topped_up([], exclude, fallback, k)
    moment = now if now is not None else max(i.at for i in user_history)
    weights = profile(user_history, moment, half_life_days)
    scores: dict[str, float] = {}
    for product_id, weight in weights.items():
        scores[product_id] = scores.get(product_id, 0.0) + revisit * weight
        for neighbour, similarity in neighbours.get(product_id, []):
            scores[neighbour] = scores.get(neighbour, 0.0) + weight * similarity
    ranked = sorted(
        ((round(score, SCORE_DECIMALS), product_id) for product_id, score in scores.items() if score > 0),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return _topped_up([p for _, p in ranked if p not in exclude], exclude, fallback, k)


def _neighbour_matrix(neighbours: Neighbours, behaviour: Behaviour) -> tuple[list[str], sp.csr_matrix, np.ndarray]:
    """The product vocabulary (behaviour's products plus any neighbour), the neighbour matrix over it, and where
    each of behaviour's product codes lands in it."""
    if isinstance(neighbours, SimilarItems) and neighbours.product_ids == behaviour.product_ids:
        return behaviour.product_ids, neighbours.matrix, np.arange(len(behaviour.product_ids))
    targets = {t for listed in neighbours.values() for t, _ in listed}
    vocabulary = sorted(set(behaviour.product_ids) | set(neighbours) | targets)
    index = {p: i for i, p in enumerate(vocabulary)}
    sources, columns, scores = [], [], []
    for product_id, listed in neighbours.items():
        for target, score in listed:
            sources.append(index[product_id])
            columns.append(index[target])
            scores.append(score)
    matrix = sp.csr_matrix((scores, (sources, columns)), shape=(len(vocabulary), len(vocabulary)), dtype=np.float64)
    moved = np.fromiter((index[p] for p in behaviour.product_ids), np.int64, len(behaviour.product_ids))
    return vocabulary, matrix, moved


def for_all_users(
    interactions: Iterable[Interaction] | Behaviour,
    neighbours: Neighbours,
    bought: Mapping[str, Collection[str]],
    fallback: list[str],
    k: int = 20,
    active_since: float | None = None,
    *,
    now: float | None = None,
    half_life_days: float = PROFILE_HALF_LIFE_DAYS,
    revisit: float = REVISIT,
    candidates: Collection[str] | None = None,
) -> dict[str, list[str]]:
    """user_id -> top k picks for every shopper with an interaction at or after `active_since` (all when None).
    Only products in `candidates` (say, the sellable ones) are picked when it is given.

    The batch form of for_you, one sparse product for all: scores = P @ N + revisit x P, where P is active shoppers x
    products (their profiles) and N the neighbour table. `now` defaults to the latest interaction. Pass the
    item_item result as `neighbours` and an encoded Behaviour as `interactions` to skip re-encoding.
    """
    behaviour = interactions if isinstance(interactions, Behaviour) else encode(interactions)
    if len(behaviour.at) == 0:
        return {}
    moment = now if now is not None else float(behaviour.at.max())
    active: np.ndarray[Any, Any] = np.arange(len(behaviour.user_ids))
    if active_since is not None:
        active = np.flatnonzero(behaviour.last_seen() >= active_since)
    vocabulary, neighbour_matrix, moved = _neighbour_matrix(neighbours, behaviour)

    own = behaviour.matrix(moment, half_life_days)[active].tocoo()
    profiles = sp.csr_matrix((own.data, (own.row, moved[own.col])), shape=(len(active), len(vocabulary)))
    # Revisiting is a product's similarity to itself: one product of sparse matrices scores both.
    with_itself = (neighbour_matrix + revisit * sp.identity(len(vocabulary), format="csr")).tocsr()
    if candidates is not None:  # other products get no score at all: the top k is taken among candidates only
        wanted = set(candidates)
        allowed = np.fromiter((p in wanted for p in vocabulary), np.float64, len(vocabulary))
        with_itself = (with_itself @ sp.diags(allowed)).tocsr()
        with_itself.eliminate_zeros()

    index = {p: i for i, p in enumerate(vocabulary)}
    rows, columns = [], []
    for row, user in enumerate(active.tolist()):
        for product_id in bought.get(behaviour.user_ids[user], ()):
            if product_id in index:
                rows.append(row)
                columns.append(index[product_id])
    mask = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=profiles.shape)
    mask.data[:] = 1.0  # a product listed twice is still masked once

    def block_top_k(start: int) -> sp.csr_matrix:
        end = min(start + BLOCK_USERS, len(active))
        scores = (profiles[start:end] @ with_itself).tocsr()
        if mask[start:end].nnz:
            scores = (scores - scores.multiply(mask[start:end])).tocsr()
            scores.eliminate_zeros()
        scores.data = np.round(scores.data, SCORE_DECIMALS)
        return top_k_per_row(scores, k)

    blocks = [block_top_k(start) for start in range(0, len(active), BLOCK_USERS)]
    top = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, len(vocabulary)))

    picks: dict[str, list[str]] = {}
    for row, user in enumerate(active.tolist()):
        user_id = behaviour.user_ids[user]
        ranked = [vocabulary[c] for c in top.indices[top.indptr[row] : top.indptr[row + 1]].tolist()]
        picks[user_id] = _topped_up(ranked, bought.get(user_id, ()), fallback, k)
    return picks
