"""What a points posting and an exchange are, and how they fail, independent of storage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.clock import iso, precise_iso
from chalicelib.errors import Conflict
from chalicelib.ids import new_id

MAX_POINTS_PER_POSTING = 100_000_000


class NotEnoughPoints(Conflict):
    """A debit larger than the balance (the balance never goes negative)."""

    default_message = "Not enough points"


class AlreadyPosted(Conflict):
    """A posting with this reference was made before: nothing changed this time."""

    default_message = "Already posted"


class ExchangeChanged(Conflict):
    """What an exchange was read from changed before it was written: read again."""

    default_message = "This reward changed meanwhile, retry"


def new_entry(delta: int, reason: str, ref: str, moment: datetime) -> dict[str, Any]:
    """A ledger entry: +delta credits, -delta debits."""
    return {
        "entry_id": new_id("pt"),
        "delta": delta,
        "reason": reason,
        "ref": ref,
        "at": iso(moment),
        "order_key": precise_iso(moment),
    }
