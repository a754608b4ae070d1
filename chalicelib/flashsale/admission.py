"""The asynchronous side of flash sales: each queued attempt decided (units taken from the stock shards, then its
order placed through the orders context), an unpaid win's units given back, and ended sessions closed (their unsold
rest back to the SKUs). Every step is a conditional write, so a message delivered twice changes nothing twice."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.errors import ChangedMeanwhile, NotFound, ValidationError
from chalicelib.flashsale.domain import (
    CLAIMED,
    ENDED,
    LOST,
    NOT_ADMITTED,
    QUEUED,
    SCHEDULED,
    SOLD_OUT,
    WON,
    Attempt,
    Session,
    plan_claim,
)
from chalicelib.flashsale.service import ADMIT_GRACE_SECONDS, CLAIM_TRIES, CLOSE_LOOKBACK, FlashSale, NotWrittenYet
from chalicelib.logistics.freight import Undeliverable
from chalicelib.orders.domain import Order
from chalicelib.orders.placing import FlashOrder, place_flash_order
from chalicelib.orders.service import Shop

WRITE_WAITS, WRITE_WAIT_SECONDS = 10, 0.2  # up to 2 s for an attempt queued but not written yet, then retry later


class Batch:
    """What one batch of the queue reads once: each session (through the container's snapshot) and each SKU's shards
    (a consistent read, then kept up to date with the batch's own claims; read again only after a lost race). So a
    batch of 10 attempts reads the hot shard items once, not 10 times."""

    def __init__(self, fs: FlashSale) -> None:
        self.fs = fs
        self._shards: dict[tuple[str, str], dict[int, int]] = {}

    def session(self, session_id: str) -> Session | None:
        session: Session | None = self.fs.snapshot.get(
            ("session", session_id), lambda: self.fs.repo.session(session_id)
        )
        return session

    def shards(self, session: Session, sku_id: str, fresh: bool = False) -> dict[int, int]:
        key = (session.session_id, sku_id)
        if fresh or key not in self._shards:
            self._shards[key] = dict(self.fs.repo.remaining([session], consistent=True).get(key, {}))
        return self._shards[key]

    def taken(self, session_id: str, sku_id: str, claims: dict[int, int]) -> None:
        shards = self._shards.get((session_id, sku_id), {})
        for shard, units in claims.items():
            shards[shard] = shards.get(shard, 0) - units


def decide(fs: FlashSale, shop: Shop, message: dict[str, Any], queued_at: datetime, batch: Batch | None = None) -> str:
    """Decide one queued attempt: WON (its order placed), LOST (SOLD_OUT, or ENDED once the session is over), or
    nothing again for one decided already. NotWrittenYet while its attempt may still be written."""
    batch = batch or Batch(fs)
    now = utcnow()
    found = fs.repo.attempt(str(message["attempt_id"]))
    for _ in range(WRITE_WAITS):  # its request writes it just after queueing it: wait a moment, keep its place
        if found is not None or (now - queued_at).total_seconds() >= ADMIT_GRACE_SECONDS:
            break
        time.sleep(WRITE_WAIT_SECONDS)
        found = fs.repo.attempt(str(message["attempt_id"]))
    if found is None:
        if (now - queued_at).total_seconds() < ADMIT_GRACE_SECONDS:
            raise NotWrittenYet(str(message["attempt_id"]))
        never = Attempt(**{**message, "status": LOST, "reason": NOT_ADMITTED, "decided_at": iso(now)})
        return "not_admitted" if fs.repo.tombstone(never) else "decided_already"
    if found.status in (WON, LOST):
        return "decided_already"
    session = batch.session(found.session_id)
    if found.status == QUEUED:
        claimed = _claim(fs, batch, found, session, now)
        if claimed is None:
            return "lost"
        found = claimed
    return _place(fs, shop, found, session)


def _ended(session: Session | None, attempt: Attempt, now: datetime) -> bool:
    return session is None or session.state != SCHEDULED or parse_iso(attempt.created_at) >= parse_iso(session.ends_at)


def _claim(fs: FlashSale, batch: Batch, attempt: Attempt, session: Session | None, now: datetime) -> Attempt | None:
    """QUEUED -> CLAIMED with units taken from the shards; None once it is LOST (nothing left, or it came too
    late)."""
    at = iso(now)
    if session is None or _ended(session, attempt, now):
        _lose(fs, attempt, ENDED, at)
        return None
    shards = batch.shards(session, attempt.sku_id)
    for _ in range(CLAIM_TRIES):
        claims = plan_claim(shards, attempt.quantity, attempt.shard)
        if claims is None:
            _lose(fs, attempt, ENDED if now >= parse_iso(session.ends_at) else SOLD_OUT, at)
            return None
        if fs.repo.claim(attempt, claims, at):
            batch.taken(session.session_id, attempt.sku_id, claims)
            return replace(attempt, status=CLAIMED, claims=claims)
        current = fs.repo.attempt(attempt.attempt_id)
        if current is None or current.status != QUEUED:  # another delivery decided it meanwhile
            return current if current is not None and current.status == CLAIMED else None
        shards = batch.shards(session, attempt.sku_id, fresh=True)  # another batch took units meanwhile
    raise ChangedMeanwhile("The promo stock kept changing; deciding the attempt again")


def _lose(fs: FlashSale, attempt: Attempt, reason: str, at: str) -> None:
    """QUEUED -> LOST with its units of the limit freed; raises (the message comes back) if a race kept it QUEUED."""
    if not fs.repo.lose(attempt, reason, at):
        current = fs.repo.attempt(attempt.attempt_id)
        if current is not None and current.status == QUEUED:
            raise ChangedMeanwhile("The attempt could not be marked lost; deciding it again")


def _place(fs: FlashSale, shop: Shop, attempt: Attempt, session: Session | None) -> str:
    """CLAIMED -> WON with its order; LOST (its units back) when the order cannot be placed any more."""
    item = session.item(attempt.sku_id) if session is not None else None
    if item is None:
        raise ChangedMeanwhile("A claimed attempt of an unknown flash sale item")
    won = FlashOrder(
        attempt_id=attempt.attempt_id,
        user_id=attempt.user_id,
        sku_id=attempt.sku_id,
        quantity=attempt.quantity,
        unit_price_fen=item.promo_price_fen,
        address_id=attempt.address_id,
        pay_seconds=fs.pay_seconds,
    )
    try:
        order = place_flash_order(shop, won)
    except (NotFound, ValidationError, Undeliverable):  # the SKU or the address went away (or out of the SKU's
        # delivery area since its admission): the units go back
        _give_back(fs, attempt, lost_reason=SOLD_OUT)
        return "lost"
    fs.repo.win(attempt, str(order["order_id"]), iso(utcnow()))
    return "won"


def _give_back(fs: FlashSale, attempt: Attempt, lost_reason: str | None = None) -> bool:
    for _ in range(CLAIM_TRIES):
        session = fs.repo.session(attempt.session_id)
        to_session = session is not None and session.state == SCHEDULED
        if fs.repo.give_back(attempt, to_session, iso(utcnow()), lost_reason):
            return True
        current = fs.repo.attempt(attempt.attempt_id)
        if current is None or current.returned_at or current.status not in (WON, CLAIMED):
            return False  # given back already
    raise ChangedMeanwhile("The flash sale kept changing; giving the units back again")


def give_back(fs: FlashSale, order: Order) -> str:
    """orders.service.FlashUnits: a flash-sale order cancelled unpaid gives its units back to the session (or to
    the SKU once the session has closed) and frees the buyer's limit, once."""
    found = fs.repo.attempt(order.source_ref or "")
    if found is None:
        return "missing"
    if found.status != WON or found.order_id != order.order_id or found.returned_at:
        return "given_back_already"
    return "given_back" if _give_back(fs, found) else "given_back_already"


def close_ended(fs: FlashSale, limit: int = 50) -> dict[str, int]:
    """The schedule's sweep: every session that has ended is CLOSED, its shards' unsold rest back to the SKUs."""
    now = utcnow()
    closed = 0
    for session in fs.repo.sessions_ended(iso(now - CLOSE_LOOKBACK), iso(now), limit):
        for _ in range(CLAIM_TRIES):
            shards = fs.repo.remaining([session], consistent=True)
            seen = {sku_id: units for (_, sku_id), units in shards.items()}
            if fs.repo.close_session(session, seen, iso(now)):
                closed += 1
                break
    return {"closed": closed}
