"""Which lists changed since they were last written: an 8-byte digest per stored list, kept as one object in the
lake bucket, so a refresh writes only the lists whose content changed (and each list again before its TTL ends).

numpy only, imported by the refresh inside its functions.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from chalicelib.analytics.lake import Lake
from chalicelib.recommend.refresh import ListKey

STATE_KEY = "recommend/state/lists.npz"
# Lists live 3 days (TTL); one left unchanged is written again once it is a day old, so it never expires while the
# refresh still computes it.
REWRITE_AFTER_SECONDS = 86_400


def digest(product_ids: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(product_ids).encode(), digest_size=8).digest(), "little")


def _name(key: ListKey) -> str:
    return f"{key[0]}#{key[1]}"


@dataclass
class Written:
    """Sorted list names, their digests and when each was last written (epoch seconds)."""

    names: np.ndarray
    digests: np.ndarray  # uint64
    written_at: np.ndarray  # int64

    @classmethod
    def empty(cls) -> Written:
        return cls(np.asarray([], dtype=str), np.zeros(0, np.uint64), np.zeros(0, np.int64))

    @classmethod
    def load(cls, lake: Lake) -> Written:
        body = lake.get_bytes(STATE_KEY)
        if body is None:
            return cls.empty()
        with np.load(io.BytesIO(body), allow_pickle=False) as saved:
            return cls(saved["names"], saved["digests"], saved["written_at"])

    def save(self, lake: Lake) -> None:
        out = io.BytesIO()
        np.savez(out, names=self.names, digests=self.digests, written_at=self.written_at)
        lake.put_bytes(STATE_KEY, out.getvalue(), "application/octet-stream")


def plan(lists: Mapping[ListKey, list[str]], before: Written, now: int) -> tuple[list[ListKey], Written]:
    """The lists to write (new, changed, or a day old) and the state once they are written."""
    keys = list(lists)
    names = np.asarray([_name(key) for key in keys], dtype=str)
    digests = np.fromiter((digest(lists[key]) for key in keys), np.uint64, len(keys))
    position = np.searchsorted(before.names, names) if len(before.names) else np.zeros(len(keys), np.int64)
    position = np.minimum(position, max(len(before.names) - 1, 0))
    known = (before.names[position] == names) if len(before.names) else np.zeros(len(keys), bool)
    same = known & (before.digests[position] == digests) if len(before.names) else known
    fresh = same & (now - before.written_at[position] < REWRITE_AFTER_SECONDS) if len(before.names) else same
    written_at = np.where(fresh, before.written_at[position] if len(before.names) else 0, now).astype(np.int64)
    order = np.argsort(names, kind="stable")
    state = Written(names[order], digests[order], written_at[order])
    return [key for key, keep in zip(keys, fresh.tolist(), strict=True) if not keep], state
