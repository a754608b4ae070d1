"""What a stock change is, how one is read off a catalog stream record, and the rules that decide what it sets off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.clock import iso

MAX_RESERVATIONS = 50
SEQ_DIGITS = 40  # DynamoDB Streams sequence numbers have 21 to 40 digits: padded, they compare as strings
# A handled event is remembered longer than its message can come back: 4 days on the queue, 14 in the DLQ.
EVENT_MARKER_SECONDS = 20 * 24 * 3600
STOCK_CHANGED = "stock_changed"
SKU_REMOVED = "sku_removed"


@dataclass(frozen=True)
class StockChange:
    """One change of a SKU's stock (or threshold), as the catalog stream saw it; `seq` orders changes of one SKU."""

    sku_id: str
    product_id: str
    old_stock: int
    new_stock: int
    low_stock_threshold: int
    at: str
    seq: str
    type: str = STOCK_CHANGED
    title: str = ""

    def message(self) -> dict[str, Any]:
        """The SQS message body."""
        return {
            "type": self.type,
            "sku_id": self.sku_id,
            "product_id": self.product_id,
            "old_stock": self.old_stock,
            "new_stock": self.new_stock,
            "low_stock_threshold": self.low_stock_threshold,
            "at": self.at,
            "seq": self.seq,
            "title": self.title,
        }

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> StockChange:
        """Parse an SQS message body; ValueError/KeyError/TypeError for one that is not a stock event."""
        kind = str(body.get("type") or STOCK_CHANGED)
        if kind not in (STOCK_CHANGED, SKU_REMOVED):
            raise ValueError(f"not a stock event: {kind}")
        sku_id, seq = str(body["sku_id"]), str(body["seq"])
        if not sku_id or not seq.isdigit():
            raise ValueError("a stock event needs a sku_id and a numeric seq")
        return cls(
            sku_id=sku_id,
            product_id=str(body["product_id"]),
            old_stock=int(body["old_stock"]),
            new_stock=int(body["new_stock"]),
            low_stock_threshold=int(body["low_stock_threshold"]),
            at=str(body["at"]),
            seq=padded_seq(seq),
            type=kind,
            title=str(body.get("title") or ""),
        )

    @property
    def is_restock(self) -> bool:
        """Back in stock: it had none (or less) and now has some."""
        return self.type == STOCK_CHANGED and self.old_stock <= 0 < self.new_stock

    @property
    def falls_under_threshold(self) -> bool:
        """It was at or over its low-stock threshold and is now under it."""
        return self.type == STOCK_CHANGED and self.old_stock >= self.low_stock_threshold > self.new_stock

    @property
    def is_low(self) -> bool:
        """After this change the SKU belongs on the low-stock list."""
        return self.type == STOCK_CHANGED and self.new_stock < self.low_stock_threshold


def padded_seq(seq: str) -> str:
    return seq.rjust(SEQ_DIGITS, "0")


def _number(image: dict[str, Any], name: str) -> int | None:
    value = image.get(name)
    return int(value) if isinstance(value, int | Decimal) else None


def _string(image: dict[str, Any], name: str) -> str:
    value = image.get(name)
    return value if isinstance(value, str) else ""


def stock_change_of(record: dict[str, Any]) -> StockChange | None:
    """The stock change a catalog stream record (Lambda's shape) carries, or None.

    A SKU item (kind "sku") that was modified so that its stock or its low-stock threshold differs is a
    stock_changed; a SKU item removed is a sku_removed (it leaves the low-stock list). A new SKU counts as a
    change from its threshold to its stock: created under the threshold, it is listed (and alerted) as low stock,
    while it can never look like a restock (nobody waits for a SKU that did not exist), so a new SKU at or above its
    threshold is no change at all. Every other item or edit is none of inventory's business.
    """
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    stream = DynamoDBRecord(record)
    change = stream.dynamodb
    if change is None or not change.sequence_number:
        return None
    old, new = change.old_image, change.new_image
    image = new or old
    if _string(image, "kind") != "sku":
        return None
    name = record.get("eventName")
    old_stock, new_stock = _number(old, "stock"), _number(new, "stock")
    if name == "MODIFY":
        if old_stock is None or new_stock is None:
            return None
        old_threshold, threshold = _number(old, "low_stock_threshold"), _number(new, "low_stock_threshold")
        if old_stock == new_stock and old_threshold == threshold:
            return None
        kind = STOCK_CHANGED
    elif name == "INSERT":
        if new_stock is None:
            return None
        threshold = _number(new, "low_stock_threshold")
        if new_stock >= (threshold or 0):
            return None  # not listed, and nobody waits for it: no message (a catalog import sends none per SKU)
        kind, old_stock = STOCK_CHANGED, max(int(threshold or 0), 1)
    elif name == "REMOVE":
        kind, new_stock, threshold = SKU_REMOVED, 0, _number(old, "low_stock_threshold")
        old_stock = old_stock or 0
    else:
        return None
    created = change.approximate_creation_date_time
    return StockChange(
        sku_id=_string(image, "sku_id"),
        product_id=_string(image, "product_id"),
        old_stock=int(old_stock or 0),
        new_stock=int(new_stock or 0),
        low_stock_threshold=int(threshold or 0),
        at=iso(datetime.fromtimestamp(created, UTC)) if created else "",
        seq=padded_seq(change.sequence_number),
        type=kind,
        title=_string(image, "title"),
    )


def restock_text(title: str, attributes: dict[str, str], stock: int) -> str:
    """The restock SMS: what is back, how many, and why the user is told."""
    spec = " ".join(f"{value}" for value in attributes.values())
    name = f"{title} {spec}".strip() or "您预约的商品"
    return f"【Shop】到货提醒：您预约的「{name}」已到货（现有 {stock} 件），先到先得。"


def low_stock_subject(sku_id: str, stock: int, threshold: int) -> str:
    """An SNS subject: ASCII, one line, under 100 characters."""
    subject = f"Low stock: SKU {sku_id} has {stock} left (threshold {threshold})"
    return subject.encode("ascii", "replace").decode()[:99]


def low_stock_message(change: StockChange) -> str:
    return (
        f"SKU {change.sku_id} ({change.title or change.product_id}) fell under its low-stock threshold.\n"
        f"Stock: {change.old_stock} -> {change.new_stock} (threshold {change.low_stock_threshold}) at {change.at}.\n"
        f"Product: {change.product_id}. Restock it with PATCH /admin/skus/{change.sku_id}/stock; "
        "the list is at GET /admin/inventory/low-stock."
    )


@dataclass(frozen=True)
class StockState:
    """The newest stock change applied to a SKU's low-stock bookkeeping; older or repeated changes are skipped."""

    seq: str
    stock: int
    threshold: int
    low_since: str | None = None
