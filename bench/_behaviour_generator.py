"""Synthetic shop behaviour with planted taste groups: what bench/recommend.py trains and scores the models on.

Products have a category, a brand and a long-tailed popularity. Taste groups each like a few categories plus a
handful of products from anywhere, with their own preferences inside them. A shopper belongs to one or two groups
and shops in sessions of long-tailed count: views (some from search), a few cart adds, fewer orders (order + pay),
now and then a favourite; a later session may come back to a cart left unbought. One session in ten wanders over
the whole catalog by popularity. Everything is drawn from one seed, so a run is repeatable.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

import numpy as np

from chalicelib.recommend.behaviour import KINDS, Interaction

DAY = 86_400.0
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
PURCHASE_CODE = KIND_CODE["order"]


@dataclass(frozen=True)
class Shape:
    users: int
    products: int
    events: int
    categories: int
    brands: int
    groups: int
    days: float = 60.0


FULL = Shape(users=100_000, products=50_000, events=1_000_000, categories=250, brands=2_500, groups=250)
SMALL = Shape(users=10_000, products=5_000, events=100_000, categories=50, brands=250, groups=40)


@dataclass(frozen=True)
class Generated:
    """Events as columns (time order within each shopper), the catalog, and each event's session."""

    user: np.ndarray  # int32
    product: np.ndarray  # int32
    kind: np.ndarray  # int8, index into KINDS
    at: np.ndarray  # float64 epoch seconds
    session: np.ndarray  # int32
    category: np.ndarray  # per product
    brand: np.ndarray  # per product
    created_at: np.ndarray  # per product
    now: float


def user_id(code: int) -> str:
    return f"u{code:06d}"


def product_id(code: int) -> str:
    return f"p{code:06d}"


class _Picker:
    """Weighted draws from a fixed pool (cumulative weights + bisect: fast for many small draws)."""

    def __init__(self, pool: list[int], weights: list[float]) -> None:
        self.pool = pool
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        return self.pool[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def generate(shape: Shape, seed: int = 7) -> Generated:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    start = 1_780_000_000.0
    now = start + shape.days * DAY

    category = np_rng.integers(0, shape.categories, shape.products)
    brand = (category * (shape.brands // shape.categories) + np_rng.integers(0, 12, shape.products)) % shape.brands
    popularity = np_rng.pareto(1.1, shape.products) + 0.05
    created_at = np_rng.uniform(start - 365 * DAY, now, shape.products)
    by_category: dict[int, list[int]] = {}
    for code, cat in enumerate(category.tolist()):
        by_category.setdefault(cat, []).append(code)

    groups: list[_Picker] = []
    for _ in range(shape.groups):
        liked = rng.sample(range(shape.categories), rng.choice((2, 3, 3, 4)))
        pool = sorted({p for c in liked for p in by_category.get(c, [])} | set(rng.sample(range(shape.products), 40)))
        # Each group has its own favourites inside its categories: popularity times a taste of its own.
        taste = np_rng.lognormal(0.0, 1.2, len(pool))
        groups.append(_Picker(pool, (popularity[pool] * taste).tolist()))
    anything = _Picker(list(range(shape.products)), popularity.tolist())
    group_size = _Picker(list(range(shape.groups)), (np_rng.pareto(1.5, shape.groups) + 0.2).tolist())

    memberships = [
        [group_size.pick(rng)] + ([group_size.pick(rng)] if rng.random() < 0.3 else []) for _ in range(shape.users)
    ]
    activity = _Picker(list(range(shape.users)), np_rng.lognormal(0.0, 1.0, shape.users).tolist())

    columns: dict[str, list] = {"user": [], "product": [], "kind": [], "at": [], "session": []}
    # More sessions are drawn (when, who) than needed, then played in time order until the events run out.
    planned = []
    for _ in range(shape.events // 5):
        planned.append((rng.uniform(start, now), activity.pick(rng)))
    planned.sort()
    left_in_cart: dict[int, list[int]] = {}
    for session, (at, who) in enumerate(planned):
        if len(columns["user"]) >= shape.events:
            break

        def emit(product: int, kind: str, who: int = who, session: int = session) -> None:
            nonlocal at
            at += rng.uniform(5, 90)
            columns["user"].append(who)
            columns["product"].append(product)
            columns["kind"].append(KIND_CODE[kind])
            columns["at"].append(at)
            columns["session"].append(session)

        picker = anything if rng.random() < 0.1 else groups[rng.choice(memberships[who])]
        viewed = [picker.pick(rng) for _ in range(min(1 + int(rng.expovariate(0.22)), 30))]
        pending = left_in_cart.get(who, [])
        if pending and rng.random() < 0.35:
            viewed.insert(0, pending.pop(rng.randrange(len(pending))))
        for product in viewed:
            emit(product, "search_click" if rng.random() < 0.1 else "view")
            if rng.random() < 0.02:
                emit(product, "favorite")
        for product in dict.fromkeys(viewed):
            if rng.random() < 0.12:
                emit(product, "cart_add")
                if rng.random() < 0.45:
                    emit(product, "order")
                    emit(product, "pay")
                else:
                    left_in_cart.setdefault(who, []).append(product)

    count = min(len(columns["user"]), shape.events)
    user = np.asarray(columns["user"][:count], np.int32)
    order = np.lexsort((np.asarray(columns["at"][:count]), user))
    return Generated(
        user=user[order],
        product=np.asarray(columns["product"][:count], np.int32)[order],
        kind=np.asarray(columns["kind"][:count], np.int8)[order],
        at=np.asarray(columns["at"][:count], np.float64)[order],
        session=np.asarray(columns["session"][:count], np.int32)[order],
        category=category,
        brand=brand,
        created_at=created_at,
        now=float(columns["at"][count - 1]),
    )


def interactions(data: Generated, rows: np.ndarray | None = None) -> list[Interaction]:
    """The events (or the selected rows) as the Interaction objects the models take."""
    index = np.arange(len(data.user)) if rows is None else rows
    users = [user_id(u) for u in range(int(data.user.max()) + 1)] if len(data.user) else []
    products = [product_id(p) for p in range(len(data.category))]
    return [
        Interaction(users[u], products[p], KINDS[k], a)
        for u, p, k, a in zip(
            data.user[index].tolist(), data.product[index].tolist(), data.kind[index].tolist(),
            data.at[index].tolist(), strict=True,
        )
    ]  # fmt: skip
