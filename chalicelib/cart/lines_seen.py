"""What this container last saw of each signed-in user's cart: the SKUs with a line and those without, from its
reads of the whole cart (a view, an order placed from the cart) and its own writes, kept `seconds` per user (the
least recently seen user leaving first past `size`).

It only orders an add's writes. An add of a cached SKU that the cart is known to lack goes straight to the
transaction putting the new line (one call); any other add tries more of an existing line first (one UpdateItem,
refused when there is no line: then the transaction). A guess made stale by a write elsewhere (another container,
another device) costs one more call, never a wrong cart: the new line is put on condition that there is none, and
the existing line is updated on condition that it exists."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class _Seen:
    at: float
    lines: set[str] = field(default_factory=set)
    complete: bool = False  # every line of the cart is in `lines`
    without: set[str] = field(default_factory=set)  # SKUs seen to have no line


class LinesSeen:
    def __init__(self, seconds: float = 600, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self._clock = clock
        self._users: OrderedDict[str, _Seen] = OrderedDict()

    def has_no_line(self, user_id: str, sku_id: str) -> bool:
        """Whether the user's cart was seen lately without a line of this SKU."""
        seen = self._users.get(user_id)
        if seen is None or self._clock() - seen.at >= self.seconds:
            return False
        return sku_id in seen.without or (seen.complete and sku_id not in seen.lines)

    def saw_cart(self, user_id: str, sku_ids: Iterable[str]) -> None:
        """The whole cart was read: these are all its lines."""
        self._keep(user_id, _Seen(self._clock(), set(sku_ids), complete=True))

    def saw(self, user_id: str, sku_id: str, has_line: bool) -> None:
        """A write or a refusal told whether the cart has a line of this SKU."""
        seen = self._users.get(user_id)
        if seen is None or self._clock() - seen.at >= self.seconds:
            seen = _Seen(self._clock())
        seen.at = self._clock()
        (seen.lines.add if has_line else seen.lines.discard)(sku_id)
        (seen.without.discard if has_line else seen.without.add)(sku_id)
        self._keep(user_id, seen)

    def forget(self, user_id: str) -> None:
        """What was seen of this user's cart is wrong (a write found it otherwise)."""
        self._users.pop(user_id, None)

    def _keep(self, user_id: str, seen: _Seen) -> None:
        self._users[user_id] = seen
        self._users.move_to_end(user_id)
        while len(self._users) > self.size:
            self._users.popitem(last=False)
