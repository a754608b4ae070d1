"""Flash sales: the admin's sessions, what buyers see, admission on the request path, the decision of each attempt
off the admission queue, unpaid wins giving their units back, and the close of ended sessions.

The request path never writes a shared item: an attempt is checked against a short-lived snapshot of the session
and its shards (at most one read of each per `cache_seconds` per container), the buyer's own holding counts the
limit, and the attempt is queued. The queue's consumer decides attempts in arrival order, each taking its units from
the SKU's stock shards by a conditional write (so WON units never exceed promo_stock), and then places its order
through the orders context (kind flash_sale). The message is queued before the attempt is written: a request that
dies in between leaves a message whose attempt never appears, which the consumer marks after ADMIT_GRACE_SECONDS.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import iso, parse_iso, precise_iso, utcnow
from chalicelib.errors import Conflict, InvalidState, NotFound, OutOfStock, ValidationError
from chalicelib.flashsale.domain import (
    DELETED,
    ENDED,
    NOT_ADMITTED,
    QUEUED,
    SCHEDULED,
    UPCOMING,
    Attempt,
    Ended,
    FlashItem,
    LimitReached,
    NotStarted,
    Session,
    SoldOut,
    shard_of,
    shards_for,
    stock_changes,
)
from chalicelib.flashsale.repository import FlashSaleRepository, SetAsideRefused
from chalicelib.flashsale.schemas import AdminSessionsQuery, AttemptWrite, SessionWrite
from chalicelib.ids import new_id
from chalicelib.logistics.freight import FreightTemplate
from chalicelib.logistics.repository import FreightTemplates, NoFreightTemplates
from chalicelib.orders.placing import check_key
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.pricing import checkout as pricing
from chalicelib.profile import service as profile_service
from chalicelib.profile.repository import ProfileRepository

ADMIT_GRACE_SECONDS = 30  # a queued attempt not written by then never will be (its request died)
KEEP_SECONDS = 90 * 86400  # attempts and keys are kept this long after the session ends (TTL)
CLOSE_LOOKBACK = timedelta(days=7)
LISTED_SESSIONS = 50
CLAIM_TRIES = 5


class AdmissionQueue(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Queue one attempt for its decision; raises if the queue refused it."""

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """A message that cannot be decided yet comes back after `seconds`."""


class NotWrittenYet(Exception):
    """The queued attempt is not written yet: decide it again in a moment."""


class Snapshot:
    """Values kept for `seconds` (0: read every time): the hot reads of the request path, per container."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        kept = self._values.get(key)
        if self.seconds > 0 and kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        value = load()
        if self.seconds > 0:
            self._values[key] = (now, value)
        return value


@dataclass(frozen=True)
class FlashSale:
    """What flash sales touch: their repository, the catalog (prices, stock), the buyer's addresses, the admission
    queue, the pay deadline of a won order, the snapshot of the request path, and the freight templates (where a
    SKU delivers)."""

    repo: FlashSaleRepository
    catalog: CatalogRepository
    profile: ProfileRepository
    queue: AdmissionQueue
    pay_seconds: int = 300
    snapshot: Snapshot = field(default_factory=lambda: Snapshot(0))
    freight: FreightTemplates = field(default_factory=NoFreightTemplates)


# -- the admin's sessions ----------------------------------------------------------------------------------------


def _items(fs: FlashSale, body: SessionWrite) -> tuple[FlashItem, ...]:
    skus = fs.catalog.skus_by_ids([item.sku_id for item in body.items])
    missing = [item.sku_id for item in body.items if item.sku_id not in skus]
    if missing:
        raise NotFound(f"No such SKU: {', '.join(missing)}", sku_ids=missing)
    dear = [item.sku_id for item in body.items if item.promo_price_fen >= int(skus[item.sku_id]["price_fen"])]
    if dear:
        raise ValidationError(
            f"promo_price_fen must be below the SKU's price: {', '.join(dear)}",
            errors=[{"field": "items.promo_price_fen", "message": f"Below the SKU's price: {', '.join(dear)}"}],
        )
    items = tuple(
        FlashItem(
            sku_id=item.sku_id,
            product_id=str(skus[item.sku_id]["product_id"]),
            title=str(skus[item.sku_id]["title"]),
            image_url=skus[item.sku_id].get("image_url"),
            price_fen=int(skus[item.sku_id]["price_fen"]),
            promo_price_fen=item.promo_price_fen,
            promo_stock=item.promo_stock,
            per_user_limit=item.per_user_limit,
            shards=shards_for(item.promo_stock),
        )
        for item in body.items
    )
    return items


def _checked_times(body: SessionWrite, now: datetime) -> tuple[str, str]:
    if body.ends_at <= now:
        raise ValidationError(
            "ends_at must be ahead", errors=[{"field": "ends_at", "message": "Give an end in the future."}]
        )
    return iso(body.starts_at), iso(body.ends_at)


def _refusal(fs: FlashSale, takes: dict[str, int], otherwise: Exception) -> Exception:
    """Why setting the units aside was refused, read back: the SKUs whose stock is short, else `otherwise`."""
    skus = fs.catalog.skus_by_ids([sku_id for sku_id, units in takes.items() if units > 0])
    short = [
        sku_id for sku_id, units in takes.items() if units > 0 and int(skus.get(sku_id, {}).get("stock", 0)) < units
    ]
    if short:
        return OutOfStock(f"Not enough stock to set aside: {', '.join(short)}", sku_ids=short)
    return otherwise


def create_session(fs: FlashSale, body: SessionWrite) -> dict[str, Any]:
    """POST /admin/flash-sales: the promo stock is set aside from each SKU at once (409 OUT_OF_STOCK names the
    SKUs short of it; nothing changes)."""
    now = utcnow()
    starts_at, ends_at = _checked_times(body, now)
    at = iso(now)
    session = Session(new_id("fs"), body.title, starts_at, ends_at, _items(fs, body), SCHEDULED, at, at)
    try:
        fs.repo.create_session(session)
    except SetAsideRefused:
        takes = {item.sku_id: item.promo_stock for item in session.items}
        raise _refusal(fs, takes, Conflict("The stock changed meanwhile; try again")) from None
    return session.view({item.sku_id: item.promo_stock for item in session.items}, now, admin=True)


def _session(fs: FlashSale, session_id: str) -> Session:
    session = fs.repo.session(session_id)
    if session is None or session.state == DELETED:
        raise NotFound("No such flash sale")
    return session


def _before_start(session: Session, now: datetime) -> None:
    if session.state != SCHEDULED or session.has_started(now):
        raise InvalidState("A flash sale can be changed or deleted only before it starts")


def replace_session(fs: FlashSale, session_id: str, body: SessionWrite) -> dict[str, Any]:
    """PUT /admin/flash-sales/{session_id}, before the start (409 after): the SKUs' stock moves by the difference."""
    now = utcnow()
    old = _session(fs, session_id)
    _before_start(old, now)
    starts_at, ends_at = _checked_times(body, now)
    new = replace(old, title=body.title, starts_at=starts_at, ends_at=ends_at, items=_items(fs, body))
    new = replace(new, updated_at=iso(now))
    try:
        fs.repo.replace_session(old, new, iso(now))
    except SetAsideRefused:
        takes = {sku_id: -change for sku_id, change in stock_changes(old.items, new.items).items()}
        raise _refusal(fs, takes, InvalidState("The flash sale started or changed meanwhile")) from None
    return new.view({item.sku_id: item.promo_stock for item in new.items}, now, admin=True)


def delete_session(fs: FlashSale, session_id: str) -> None:
    """DELETE /admin/flash-sales/{session_id}, before the start (409 after): the promo stock goes back."""
    now = utcnow()
    session = _session(fs, session_id)
    _before_start(session, now)
    try:
        fs.repo.delete_session(session, iso(now), iso(now))
    except SetAsideRefused:
        raise InvalidState("The flash sale started or changed meanwhile") from None


def admin_sessions(fs: FlashSale, query: AdminSessionsQuery) -> dict[str, Any]:
    """GET /admin/flash-sales: every session, latest end first."""
    start = decode_cursor(query.cursor, "admin-flash-sales")
    sessions, last = fs.repo.sessions_page(query.page_size, start)
    return page(_views(fs, sessions, utcnow(), admin=True), encode_cursor(last, "admin-flash-sales"))


# -- what buyers see ------------------------------------------------------------------------------------------------


def _remaining(fs: FlashSale, sessions: list[Session]) -> dict[tuple[str, str], int]:
    key = tuple(session.session_id for session in sessions)
    shards = fs.snapshot.get(("remaining", key), lambda: fs.repo.remaining(sessions))
    return {name: sum(units.values()) for name, units in shards.items()}


def _views(fs: FlashSale, sessions: list[Session], now: datetime, admin: bool = False) -> list[dict[str, Any]]:
    remaining = _remaining(fs, sessions) if sessions else {}
    return [
        session.view(
            {item.sku_id: remaining.get((session.session_id, item.sku_id), 0) for item in session.items},
            now,
            admin=admin,
        )
        for session in sessions
    ]


def running_and_upcoming(fs: FlashSale) -> dict[str, Any]:
    """GET /flash-sales: the sessions running now and those to come, ending soonest first."""
    now = utcnow()
    sessions = fs.snapshot.get("listed", lambda: fs.repo.sessions_ending_after(iso(now), LISTED_SESSIONS))
    shown = [session for session in sessions if session.status(now) != ENDED]
    return page(_views(fs, shown, now), None)


def _cached_session(fs: FlashSale, session_id: str) -> Session:
    session = fs.snapshot.get(("session", session_id), lambda: fs.repo.session(session_id))
    if session is None or session.state == DELETED:
        raise NotFound("No such flash sale")
    return session


def get_session(fs: FlashSale, session_id: str) -> dict[str, Any]:
    """GET /flash-sales/{session_id}."""
    return _views(fs, [_cached_session(fs, session_id)], utcnow())[0]


# -- admission -------------------------------------------------------------------------------------------------------


def _body_hash(session_id: str, body: AttemptWrite) -> str:
    fields = {"session_id": session_id, **body.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _replayed(fs: FlashSale, user_id: str, key: str, digest: str) -> dict[str, Any] | None:
    record = fs.repo.key_record(user_id, key)
    if record is None:
        return None
    if record["body_hash"] != digest:
        raise Conflict("This Idempotency-Key was used with a different request body")
    return {"attempt_id": record["attempt_id"], "status": QUEUED}


def attempt(fs: FlashSale, user_id: str, key: str | None, session_id: str, body: AttemptWrite) -> dict[str, Any]:
    """POST /flash-sales/{session_id}/attempts: 202 QUEUED, decided later in arrival order; 409 NOT_STARTED |
    ENDED | SOLD_OUT | LIMIT_REACHED | UNDELIVERABLE (the SKU's freight template excludes the address's province)
    now; 404 for an unknown session or SKU, 400 without an address. The same Idempotency-Key and body answer the
    first attempt again."""
    key = check_key(key)
    digest = _body_hash(session_id, body)
    if (replayed := _replayed(fs, user_id, key, digest)) is not None:
        return replayed
    now = utcnow()
    session = _cached_session(fs, session_id)
    item = session.item(body.sku_id)
    if item is None:
        raise NotFound("This SKU is not in this flash sale")
    status = session.status(now)
    if status == UPCOMING:
        raise NotStarted(f"This flash sale starts at {session.starts_at}")
    if status == ENDED:
        raise Ended("This flash sale has ended")
    if _remaining(fs, [session]).get((session_id, item.sku_id), 0) <= 0:
        raise SoldOut("Sold out")
    held = fs.repo.held(session_id, item.sku_id, user_id)
    if held + body.quantity > item.per_user_limit:
        raise LimitReached(f"At most {item.per_user_limit} per buyer; you hold {held}")
    address_id = _address_id(fs, user_id, body.address_id)
    _check_deliverable(fs, user_id, item, body.quantity, address_id, now)
    attempt_id = new_id("fa")
    queued = Attempt(
        attempt_id=attempt_id,
        user_id=user_id,
        session_id=session_id,
        sku_id=item.sku_id,
        quantity=body.quantity,
        address_id=address_id,
        shard=shard_of(attempt_id, item.shards),
        status=QUEUED,
        created_at=precise_iso(now),
    )
    fs.queue.send(message_of(queued))  # first: a request that dies after it leaves a message, never a lost attempt
    expires_at = int(parse_iso(session.ends_at).timestamp()) + KEEP_SECONDS
    outcome = fs.repo.admit(queued, key, digest, item.per_user_limit, expires_at)
    if outcome == "key_used" and (replayed := _replayed(fs, user_id, key, digest)) is not None:
        return replayed
    if outcome == "limit":
        raise LimitReached(f"At most {item.per_user_limit} per buyer")
    if outcome != "admitted":
        raise Conflict("The attempt could not be queued; try again")
    return {"attempt_id": attempt_id, "status": QUEUED}


def _address_id(fs: FlashSale, user_id: str, address_id: str | None) -> str:
    if address_id is not None:
        return str(profile_service.get_address(fs.profile, user_id, address_id)["address_id"])  # 404: not mine
    default_id = fs.profile.address_book(user_id).default_id
    if not default_id:
        raise ValidationError(
            "No delivery address: add one or name address_id",
            errors=[{"field": "address_id", "message": "Add an address first, or name one."}],
        )
    return str(default_id)


class _SnapshotFreight:
    """The freight templates through the request path's snapshot (one read of a template per `cache_seconds`)."""

    def __init__(self, fs: FlashSale) -> None:
        self.fs = fs

    def templates(self, template_ids: list[str]) -> dict[str, FreightTemplate]:
        found: dict[str, FreightTemplate] = self.fs.snapshot.get(
            ("freight", tuple(template_ids)), lambda: self.fs.freight.templates(template_ids)
        )
        return found


def _check_deliverable(
    fs: FlashSale, user_id: str, item: FlashItem, quantity: int, address_id: str, now: datetime
) -> None:
    """409 UNDELIVERABLE when the SKU's freight template excludes the address's province: priced as its order will
    be (pricing.shipping_to), before anything is queued. A SKU without a template ships anywhere (no more reads)."""
    sku = fs.snapshot.get(("sku", item.sku_id), lambda: fs.catalog.skus_by_ids([item.sku_id]).get(item.sku_id))
    if sku is None or not sku.get("freight_template_id"):
        return  # a SKU gone meanwhile is the consumer's to refuse
    address = profile_service.get_address(fs.profile, user_id, address_id)
    pricing.shipping_to(_SnapshotFreight(fs), [pricing.line_at(sku, quantity, item.promo_price_fen, now)], address)


def message_of(queued: Attempt) -> dict[str, Any]:
    """The admission queue's message: enough to mark the attempt if it is never written."""
    names = ("attempt_id", "user_id", "session_id", "sku_id", "quantity", "address_id", "shard", "created_at")
    return {name: getattr(queued, name) for name in names}


def get_attempt(fs: FlashSale, user_id: str, attempt_id: str) -> dict[str, Any]:
    """GET /flash-sales/attempts/{attempt_id}: mine, else 404."""
    found = fs.repo.attempt(attempt_id)
    if found is None or found.user_id != user_id or found.reason == NOT_ADMITTED:
        raise NotFound("No such attempt")
    return found.view()
