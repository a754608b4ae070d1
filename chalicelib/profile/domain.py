"""What the personal center's objects are and their limits, independent of storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.errors import Conflict

MAX_ADDRESSES = 20
MAX_FOOTPRINTS = 100
FOOTPRINT_TTL_SECONDS = 90 * 24 * 3600
MAX_SEARCHES = 20
MAX_KEYWORD_CHARS = 100


@dataclass(frozen=True)
class AddressBook:
    """The per-user counter item every address write is conditional on: how many addresses, and the default."""

    address_count: int = 0
    default_id: str | None = None


class ChangedMeanwhile(Conflict):
    """What a write was conditional on changed since it was read (a concurrent edit): read again and retry."""

    default_message = "This changed meanwhile, retry"


def order_key(moment: datetime) -> str:
    """A sortable, microsecond-precise UTC stamp: orders entries that share the second their ISO time shows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_keyword(keyword: str) -> str:
    """The form two searches are the same in: whitespace collapsed, case folded, at most MAX_KEYWORD_CHARS."""
    return " ".join(keyword.split()).casefold()[:MAX_KEYWORD_CHARS]
