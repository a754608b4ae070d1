"""What the personal center's objects are and their limits, independent of storage."""

from __future__ import annotations

from dataclasses import dataclass

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


def normalize_keyword(keyword: str) -> str:
    """The form two searches are the same in: whitespace collapsed, case folded, at most MAX_KEYWORD_CHARS."""
    return " ".join(keyword.split()).casefold()[:MAX_KEYWORD_CHARS]
