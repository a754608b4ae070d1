"""What a flash sale is and its rules, with no I/O: sessions and their items, attempts, and how units are taken
from a SKU's promo stock shards.

A session sets `promo_stock` units of each SKU aside from the SKU's stock when it is made; the units live in
`shards` counters of their own (a partition each), so admission never funnels through one item. An attempt is
admitted on the request path (its buyer's limit counted at once) and decided later, in arrival order, by the
admission queue's consumer: it takes units from the shards (starting with the attempt's own) or loses.

    attempt: QUEUED --units taken--> CLAIMED --order placed--> WON   (shown as QUEUED until WON)
             QUEUED | CLAIMED --no units, or the session ended--> LOST (reason SOLD_OUT | ENDED | ...)
             WON --its order cancelled unpaid--> WON with its units back (returned_at) and the limit freed
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from chalicelib.clock import parse_iso
from chalicelib.errors import Conflict

UPCOMING, ACTIVE, ENDED = "UPCOMING", "ACTIVE", "ENDED"
SCHEDULED, CLOSED, DELETED = "SCHEDULED", "CLOSED", "DELETED"
QUEUED, CLAIMED, WON, LOST = "QUEUED", "CLAIMED", "WON", "LOST"
SOLD_OUT, LIMIT_REACHED = "SOLD_OUT", "LIMIT_REACHED"
NOT_ADMITTED = "NOT_ADMITTED"  # a queued message whose attempt was never written (its request failed)
MAX_SHARDS = 4  # promo stock counters per SKU
MAX_ITEMS = 8  # a replacement's one transaction (old and new SKUs, their shards) stays under 100 actions


class SoldOut(Conflict):
    """409 SOLD_OUT: nothing left of the SKU in this session."""

    code, default_message = "SOLD_OUT", "Sold out"


class LimitReached(Conflict):
    """409 LIMIT_REACHED: the buyer's queued and won units would pass the per-user limit."""

    code, default_message = "LIMIT_REACHED", "Per-user limit reached"


class NotStarted(Conflict):
    code, default_message = "NOT_STARTED", "This flash sale has not started"


class Ended(Conflict):
    code, default_message = "ENDED", "This flash sale has ended"


@dataclass(frozen=True)
class FlashItem:
    """A SKU of a session: its promo price, the units set aside for it and the per-user limit."""

    sku_id: str
    product_id: str
    title: str
    image_url: str | None
    price_fen: int
    promo_price_fen: int
    promo_stock: int
    per_user_limit: int
    shards: int

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FlashItem:
        values: dict[str, Any] = {f.name: record.get(f.name) for f in fields(cls)}
        return cls(**values)

    def record(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def shard_stock(self) -> dict[int, int]:
        """The promo stock spread evenly over the shards."""
        base, extra = divmod(self.promo_stock, self.shards)
        return {shard: base + (1 if shard < extra else 0) for shard in range(self.shards)}


@dataclass(frozen=True)
class Session:
    session_id: str
    title: str
    starts_at: str
    ends_at: str
    items: tuple[FlashItem, ...]
    state: str = SCHEDULED
    created_at: str = ""
    updated_at: str = ""
    closed_at: str | None = None

    def status(self, now: datetime) -> str:
        if self.state != SCHEDULED or now >= parse_iso(self.ends_at):
            return ENDED
        return ACTIVE if now >= parse_iso(self.starts_at) else UPCOMING

    def has_started(self, now: datetime) -> bool:
        return now >= parse_iso(self.starts_at)

    def item(self, sku_id: str) -> FlashItem | None:
        return next((item for item in self.items if item.sku_id == sku_id), None)

    def view(self, remaining: dict[str, int], now: datetime, admin: bool = False) -> dict[str, Any]:
        """What GET /flash-sales/{session_id} shows: `remaining` per SKU is what its shards still hold (0 once the
        session has ended: the unsold rest went back to the SKU)."""
        status = self.status(now)
        shown: dict[str, Any] = {
            "session_id": self.session_id,
            "title": self.title,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "status": status,
            "items": [
                {
                    **{name: getattr(item, name) for name in ITEM_FIELDS},
                    "remaining": 0 if self.state == CLOSED else remaining.get(item.sku_id, 0),
                }
                for item in self.items
            ],
        }
        if admin:
            shown.update(created_at=self.created_at, updated_at=self.updated_at, closed_at=self.closed_at)
        return shown


ITEM_FIELDS = (
    "sku_id",
    "product_id",
    "title",
    "image_url",
    "price_fen",
    "promo_price_fen",
    "promo_stock",
    "per_user_limit",
)


@dataclass(frozen=True)
class Attempt:
    attempt_id: str
    user_id: str
    session_id: str
    sku_id: str
    quantity: int
    address_id: str | None
    shard: int
    status: str
    created_at: str
    claims: dict[int, int] = field(default_factory=dict)
    order_id: str | None = None
    reason: str | None = None
    decided_at: str | None = None
    returned_at: str | None = None

    def view(self) -> dict[str, Any]:
        """What GET /flash-sales/attempts/{attempt_id} shows: units taken but no order yet is still QUEUED."""
        status = QUEUED if self.status == CLAIMED else self.status
        return {
            "attempt_id": self.attempt_id,
            "session_id": self.session_id,
            "sku_id": self.sku_id,
            "quantity": self.quantity,
            "status": status,
            "order_id": self.order_id if status == WON else None,
            "reason": self.reason if status == LOST else None,
            "created_at": self.created_at,
            "decided_at": self.decided_at if status in (WON, LOST) else None,
        }


def shards_for(promo_stock: int) -> int:
    """How many counters a SKU's promo stock is split over: MAX_SHARDS, fewer for fewer units."""
    return max(1, min(MAX_SHARDS, promo_stock))


def shard_of(attempt_id: str, shards: int) -> int:
    """The shard an attempt tries first (spreads the claims over the counters)."""
    return zlib.crc32(attempt_id.encode()) % shards


def plan_claim(remaining: dict[int, int], quantity: int, first: int) -> dict[int, int] | None:
    """Units to take from each shard for `quantity`, from `first` round the others; None when they hold fewer."""
    if sum(remaining.values()) < quantity:
        return None
    order = sorted(remaining, key=lambda shard: (shard - first) % max(len(remaining), 1))
    taken: dict[int, int] = {}
    wanted = quantity
    for shard in order:
        take = min(wanted, remaining[shard])
        if take > 0:
            taken[shard] = take
            wanted -= take
        if wanted == 0:
            break
    return taken


def stock_changes(old: tuple[FlashItem, ...], new: tuple[FlashItem, ...]) -> dict[str, int]:
    """What each SKU's stock gives (negative) or gets back (positive) when a session's items change."""
    changes: dict[str, int] = {}
    for item in old:
        changes[item.sku_id] = changes.get(item.sku_id, 0) + item.promo_stock
    for item in new:
        changes[item.sku_id] = changes.get(item.sku_id, 0) - item.promo_stock
    return {sku_id: change for sku_id, change in changes.items() if change}
