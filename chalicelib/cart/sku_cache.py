"""What adding to the cart needs of a SKU (on sale, stock, price, title, attributes, image), kept a few seconds per
warm container so that adding more of a hot SKU writes without reading it first.

The cart's stock check is advisory (placing the order takes stock in its transaction, which is authoritative), so a
cached SKU may be up to `seconds` old: a staff change (price, stock, on/off sale) reaches adds within that many
seconds in every container, with no invalidation across containers. Only SKUs that exist are kept (an unknown SKU
is read again on every add), at most `size` of them, the least recently used leaving first."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

KEPT_FIELDS = ("sku_id", "on_sale", "stock", "price_fen", "title", "attributes", "image_url")


class SkuCache:
    """A read-through cache of SKUs by sku_id with a time to live (0 seconds: nothing is kept) and an LRU bound."""

    def __init__(self, seconds: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, sku_id: str) -> dict[str, Any] | None:
        """The SKU as read at most `seconds` ago, or None (never read, forgotten, or too old: read it again)."""
        found = self._kept.get(sku_id)
        if found is None:
            return None
        if self._clock() - found[0] >= self.seconds:
            del self._kept[sku_id]
            return None
        self._kept.move_to_end(sku_id)
        return found[1]

    def put(self, sku_id: str, sku: dict[str, Any]) -> None:
        """Keep a SKU just read (what an add needs of it)."""
        if self.seconds <= 0:
            return
        self._kept[sku_id] = (self._clock(), {name: sku.get(name) for name in KEPT_FIELDS})
        self._kept.move_to_end(sku_id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self) -> None:
        self._kept.clear()
