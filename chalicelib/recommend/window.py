"""The behaviour window as arrays: each business day's lake events turned once into integer columns (a compacted
day object), the days merged by remapping codes. No Python object per event survives the conversion of a day.

numpy only, imported by the refresh inside its functions (`import app` never loads it).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import numpy as np

from chalicelib.analytics.lake import Lake, day_prefix
from chalicelib.clock import parse_iso
from chalicelib.recommend.behaviour import KIND_WEIGHTS, KINDS, PURCHASE_KINDS, SECONDS_PER_DAY

KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}
WEIGHTS = np.array([KIND_WEIGHTS[kind] for kind in KINDS])
PURCHASE = np.array([kind in PURCHASE_KINDS for kind in KINDS])
PRODUCT_EVENT_KINDS = {"product_viewed": "view", "favorite_added": "favorite", "cart_item_added": "cart_add",
                       "review_posted": "review"}  # fmt: skip
ORDER_EVENT_KINDS = {"order_placed": "order", "order_paid": "pay"}
COMPACT_PREFIX = "recommend/days/"
FORMAT = 1  # bumped when the columns change: an older compacted day is then rebuilt
READERS = 8  # parallel S3 requests (botocore's pool holds 10 connections)


def compact_key(day: str) -> str:
    return f"{COMPACT_PREFIX}dt={day}.npz"


def _vocabulary(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values (a numpy string array) and each value's int32 code in them."""
    vocabulary, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return vocabulary, codes.astype(np.int32)


@dataclass
class DayColumns:
    """One business day's behaviour. Interactions (receipts apart: they name an order, not products), the day's
    order lines (which products an order holds) and receipts; strings as sorted vocabularies plus int32 codes."""

    users: np.ndarray
    products: np.ndarray
    orders: np.ndarray
    user: np.ndarray
    product: np.ndarray
    kind: np.ndarray  # int8 codes into KINDS
    at: np.ndarray  # float64 epoch seconds
    line_order: np.ndarray
    line_product: np.ndarray
    receipt_user: np.ndarray
    receipt_order: np.ndarray
    receipt_at: np.ndarray
    skipped: np.ndarray  # one int: lines that could not be read
    source: np.ndarray  # one string: digest of the raw objects compacted (a changed listing rebuilds the day)
    format: np.ndarray  # one int: FORMAT

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(out, **{f.name: getattr(self, f.name) for f in fields(self)})
        return out.getvalue()

    @classmethod
    def from_bytes(cls, body: bytes) -> DayColumns:
        with np.load(io.BytesIO(body), allow_pickle=False) as saved:
            return cls(**{f.name: saved[f.name] for f in fields(cls)})


def day_columns(events: Iterable[Mapping[str, Any]], source: str = "") -> DayColumns:
    """The columns of a day's events (the same reading as before: anonymous views keep user "" and count for hot
    only; order events count once per product line; a receipt counts for the lines of its order seen in the window;
    search_performed and order_refunded name no product)."""
    users: list[str] = []
    products: list[str] = []
    kinds: list[int] = []
    at: list[float] = []
    line_orders: list[str] = []
    line_products: list[str] = []
    receipts: list[tuple[str, str, float]] = []
    skipped = 0
    for event in events:
        try:
            name = str(event["type"])
            moment = parse_iso(event["occurred_at"]).timestamp()
            user_id = str(event.get("user_id") or "")
            if name in PRODUCT_EVENT_KINDS:
                if name != "product_viewed" and not user_id:
                    continue
                product_id = str(event["product_id"])
                users.append(user_id)
                products.append(product_id)
                kinds.append(KIND_CODES[PRODUCT_EVENT_KINDS[name]])  # type: ignore[index]
                at.append(moment)
            elif name in ORDER_EVENT_KINDS:
                order_id = str(event["order_id"])
                lines = list(dict.fromkeys(str(line["product_id"]) for line in event.get("lines") or []))
                line_orders.extend(order_id for _ in lines)
                line_products.extend(lines)
                if user_id:
                    code = KIND_CODES[ORDER_EVENT_KINDS[name]]  # type: ignore[index]
                    for product_id in lines:
                        users.append(user_id)
                        products.append(product_id)
                        kinds.append(code)
                        at.append(moment)
            elif name == "order_received" and user_id:
                receipts.append((user_id, str(event["order_id"]), moment))
        except (KeyError, TypeError, ValueError):
            skipped += 1
    user_vocab, codes = _vocabulary(users + [r[0] for r in receipts])
    product_vocab, product_codes = _vocabulary(products + line_products)
    order_vocab, order_codes = _vocabulary(line_orders + [r[1] for r in receipts])
    n, lines_n = len(users), len(line_orders)
    return DayColumns(
        users=user_vocab, products=product_vocab, orders=order_vocab,
        user=codes[:n], product=product_codes[:n], kind=np.asarray(kinds, np.int8), at=np.asarray(at, np.float64),
        line_order=order_codes[:lines_n], line_product=product_codes[n:],
        receipt_user=codes[n:], receipt_order=order_codes[lines_n:],
        receipt_at=np.asarray([r[2] for r in receipts], np.float64),
        skipped=np.asarray(skipped), source=np.asarray(source), format=np.asarray(FORMAT),
    )  # fmt: skip


@dataclass
class Window:
    """Every interaction of the window as columns; user_ids[user] is "" for an anonymous view."""

    user_ids: np.ndarray
    product_ids: np.ndarray
    user: np.ndarray
    product: np.ndarray
    kind: np.ndarray
    at: np.ndarray
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.user)

    def decayed(self, now: float, half_life_days: float) -> np.ndarray:
        """Each interaction's kind weight, halving every half-life (the future counts whole)."""
        age = np.maximum(now - self.at, 0.0) / SECONDS_PER_DAY
        return WEIGHTS[self.kind] * np.exp2(-age / half_life_days)


def _remap(vocabulary: np.ndarray, part: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.searchsorted(vocabulary, part).astype(np.int32)[codes] if len(codes) else codes.astype(np.int32)


def _union(parts: list[np.ndarray]) -> np.ndarray:
    return np.unique(np.concatenate(parts)) if parts else np.asarray([], dtype=str)


def merge(days: Sequence[DayColumns]) -> Window:
    """The window of these days: vocabularies united, codes remapped, receipts turned into one interaction per
    product line of their order seen anywhere in the window."""
    users = _union([d.users for d in days])
    products = _union([d.products for d in days])
    orders = _union([d.orders for d in days])
    user = [_remap(users, d.users, d.user) for d in days]
    product = [_remap(products, d.products, d.product) for d in days]
    kind = [d.kind for d in days]
    at = [d.at for d in days]
    line_order = np.concatenate([_remap(orders, d.orders, d.line_order) for d in days] or [np.zeros(0, np.int32)])
    line_product = np.concatenate([_remap(products, d.products, d.line_product) for d in days] or [line_order])
    pairs = np.unique(line_order.astype(np.int64) * max(len(products), 1) + line_product)
    by_order, line_of = pairs // max(len(products), 1), (pairs % max(len(products), 1)).astype(np.int32)
    for d in days:
        receipt_order = _remap(orders, d.orders, d.receipt_order)
        start = np.searchsorted(by_order, receipt_order, side="left")
        count = np.searchsorted(by_order, receipt_order, side="right") - start
        repeat = np.repeat(np.arange(len(receipt_order)), count)
        offsets = np.arange(len(repeat)) - np.repeat(np.cumsum(count) - count, count)
        user.append(_remap(users, d.users, d.receipt_user)[repeat])
        product.append(line_of[start[repeat] + offsets])
        kind.append(np.full(len(repeat), KIND_CODES["receive"], np.int8))
        at.append(d.receipt_at[repeat])
    return Window(
        user_ids=users, product_ids=products,
        user=np.concatenate(user or [np.zeros(0, np.int32)]),
        product=np.concatenate(product or [np.zeros(0, np.int32)]),
        kind=np.concatenate(kind or [np.zeros(0, np.int8)]), at=np.concatenate(at or [np.zeros(0)]),
        skipped=int(sum(int(d.skipped) for d in days)),
    )  # fmt: skip


def from_events(events: Iterable[Mapping[str, Any]]) -> Window:
    """A window from event dicts (tests, the local seed): one day's worth of conversion, then merge."""
    return merge([day_columns(events)])


class Bought(Mapping[str, frozenset[str]]):
    """user_id -> the products that shopper bought in the window, over sorted arrays (no dict of sets)."""

    def __init__(self, user_ids: np.ndarray, product_ids: np.ndarray, user: np.ndarray, product: np.ndarray) -> None:
        pairs = np.unique(user.astype(np.int64) * max(len(product_ids), 1) + product)
        self._user = pairs // max(len(product_ids), 1)
        self._product = (pairs % max(len(product_ids), 1)).astype(np.int32)
        buyers, self._start = np.unique(self._user, return_index=True)
        self._end = np.append(self._start[1:], len(self._user))
        # Buyers only (a few in a hundred events): their id -> their rank among buyers.
        self._rank = {user_id: rank for rank, user_id in enumerate(user_ids[buyers].tolist())}
        self._product_ids = product_ids

    def __getitem__(self, user_id: str) -> frozenset[str]:
        rank = self._rank[user_id]
        return frozenset(self._product_ids[self._product[self._start[rank] : self._end[rank]]].tolist())

    def __iter__(self) -> Iterator[str]:
        return iter(self._rank)

    def __len__(self) -> int:
        return len(self._rank)


def bought(window: Window, rows: np.ndarray | None = None) -> Bought:
    chosen = PURCHASE[window.kind] & (window.user_ids[window.user] != "")
    if rows is not None:
        chosen &= rows
    return Bought(window.user_ids, window.product_ids, window.user[chosen], window.product[chosen])


# ------------------------------------------------------------------------------------------------ reading the lake


def _source(keys: Collection[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


def _events_once(lake: Lake, keys: list[str], pool: ThreadPoolExecutor) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for lines in pool.map(lake.lines, sorted(keys)):
        for line in lines:
            event_id = str(line.get("event_id"))
            if event_id not in seen:
                seen.add(event_id)
                yield line


def load_day(lake: Lake, day: str, finished: bool, pool: ThreadPoolExecutor) -> DayColumns:
    """A day's columns: a finished day from its compacted object when that still matches the day's raw objects
    (else rebuilt and stored), the current day straight from the raw objects."""
    keys = lake.keys(day_prefix(day))
    source = _source(keys)
    if finished:
        body = lake.get_bytes(compact_key(day))
        if body is not None:
            stored = DayColumns.from_bytes(body)
            if str(stored.source) == source and int(stored.format) == FORMAT:
                return stored
    columns = day_columns(_events_once(lake, keys, pool), source)
    if finished:
        lake.put_bytes(compact_key(day), columns.to_bytes(), "application/octet-stream")
    return columns


def load_window(lake: Lake, days: int, until: date, log: Callable[[str], None] | None = None) -> Window:
    """The last `days` business days up to `until` (today) as one Window, days read in parallel."""
    chosen = [(until - timedelta(days=offset)).isoformat() for offset in range(max(days, 0) - 1, -1, -1)]
    last = until.isoformat()
    with ThreadPoolExecutor(READERS) as pool, ThreadPoolExecutor(READERS) as objects:
        loaded = list(pool.map(lambda day: load_day(lake, day, day != last, objects), chosen))
    return merge(loaded)
