"""Where flash sales are kept (the Protocol the services use): the Dynamo implementation is
chalicelib/flashsale/dynamo_repository.py, the only module touching the flash-sale models."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.flashsale.domain import Attempt, Session


class SetAsideRefused(Exception):
    """A session's transaction was cancelled: `short` names the SKUs whose stock could not give the units (empty:
    the session changed meanwhile or a concurrent write got in between)."""

    def __init__(self, short: list[str]) -> None:
        super().__init__(", ".join(short))
        self.short = short


class FlashSaleRepository(Protocol):
    def create_session(self, session: Session) -> None:
        """At once: the session and its listing put, each SKU's stock less its promo stock (never below zero), the
        shards filled. SetAsideRefused (nothing changes) if a SKU's stock is short."""

    def replace_session(self, old: Session, new: Session, before: str) -> None:
        """At once, while `old` is SCHEDULED and starts after `before`: the session and listing replaced, the SKUs'
        stock moved by the difference, the shards refilled. SetAsideRefused otherwise."""

    def delete_session(self, session: Session, before: str, at: str) -> None:
        """At once, while SCHEDULED and starting after `before`: DELETED, unlisted, the shards emptied into their
        SKUs' stock. SetAsideRefused otherwise."""

    def close_session(self, session: Session, seen: dict[str, dict[int, int]], at: str) -> bool:
        """At once, while SCHEDULED and every shard still holds what `seen` says: CLOSED, the shards emptied into
        their SKUs' stock (SKUs removed since get nothing); False otherwise."""

    def session(self, session_id: str) -> Session | None: ...
    def sessions_ending_after(self, moment: str, limit: int) -> list[Session]:
        """Listed (not deleted) sessions whose end is after `moment`, ending soonest first."""

    def sessions_ended(self, since: str, until: str, limit: int) -> list[Session]:
        """SCHEDULED sessions that ended between `since` and `until`: the ones to close."""

    def sessions_page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Session], dict[str, Any] | None]:
        """Every listed session, latest end first."""

    def remaining(self, sessions: list[Session], consistent: bool = False) -> dict[tuple[str, str], dict[int, int]]:
        """What each shard of each item holds, by (session_id, sku_id) then shard."""

    def held(self, session_id: str, sku_id: str, user_id: str) -> int:
        """The buyer's QUEUED and WON units of the SKU in the session."""

    def key_record(self, user_id: str, key: str) -> dict[str, Any] | None:
        """The attempt an Idempotency-Key made: attempt_id, body_hash."""

    def admit(self, attempt: Attempt, key: str, body_hash: str, limit: int, expires_at: int) -> str:
        """At once: the key kept, the buyer's held units up by the attempt's (never past `limit`), the attempt put
        QUEUED. "admitted", or "key_used", "limit", "tombstoned" or "conflict" when refused (nothing changes)."""

    def attempt(self, attempt_id: str) -> Attempt | None: ...
    def tombstone(self, attempt: Attempt) -> bool:
        """Put this LOST attempt in place of one that was never written (its request failed after queueing it), so
        that it never is; False if the attempt exists."""

    def claim(self, attempt: Attempt, claims: dict[int, int], at: str) -> bool:
        """At once, while the attempt is QUEUED and each shard holds its units: QUEUED -> CLAIMED with the claims,
        the shards less them; False otherwise."""

    def lose(self, attempt: Attempt, reason: str, at: str) -> bool:
        """At once, while QUEUED: LOST with the reason, and the buyer's held units freed; False otherwise."""

    def win(self, attempt: Attempt, order_id: str, at: str) -> bool:
        """CLAIMED -> WON with the order; False otherwise."""

    def give_back(self, attempt: Attempt, to_session: bool, at: str, lost_reason: str | None = None) -> bool:
        """At once: the attempt's claimed units back to its shards (`to_session`, while the session is SCHEDULED)
        or to the SKU's stock (while CLOSED), the buyer's held units freed, and the attempt marked: CLAIMED -> LOST
        with `lost_reason`, or (None) WON with returned_at. False if the attempt or the session is not as expected
        (given back already)."""
