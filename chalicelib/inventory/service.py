"""Inventory rules: reserving sold-out SKUs, telling each waiter of a restock once, the low-stock list and alerts."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.catalog.repository import CatalogRepository
from chalicelib.clock import epoch_seconds, iso, now_iso, precise_iso, utcnow
from chalicelib.errors import Conflict, InvalidState, NotFound
from chalicelib.ids import new_id
from chalicelib.inventory.domain import (
    EVENT_MARKER_SECONDS,
    MAX_RESERVATIONS,
    StockChange,
    low_stock_message,
    low_stock_subject,
    restock_text,
)
from chalicelib.inventory.repository import InventoryRepository
from chalicelib.observability import logger
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.retry import retrying

WAITERS_PAGE = 100
ALERT, RESTOCK = "ALERT", "RESTOCK"
LOW_STOCK_SCOPE = "admin-low-stock"


class TextSender(Protocol):
    """Texts a phone (the accounts' SMS sender)."""

    def send(self, phone: str, text: str) -> None: ...


class AdminAlerts(Protocol):
    """Tells the shop's operators (the admin alerts topic)."""

    def publish(self, subject: str, message: str) -> None: ...


class StockEvents(Protocol):
    """Where the catalog stream's stock changes go to be handled one by one (the stock-events queue)."""

    def publish(self, changes: list[StockChange]) -> None: ...


class PhoneBook(Protocol):
    """A user's bound phone, or None."""

    def phone_of(self, user_id: str) -> str | None: ...


# -- reservations ------------------------------------------------------------------------------------------------


def _view(reservation: dict[str, Any], sku: dict[str, Any] | None) -> dict[str, Any]:
    """A reservation with its SKU's card and stock as they are now (the stored copy once the SKU is gone)."""
    stock = int(sku["stock"]) if sku else 0
    return {
        "sku_id": reservation["sku_id"],
        "product_id": reservation["product_id"],
        "title": (sku or {}).get("title") or reservation.get("title") or "",
        "image_url": sku["image_url"] if sku else reservation.get("image_url"),
        "attributes": dict((sku or {}).get("attributes") or reservation.get("attributes") or {}),
        "price_fen": int(sku["price_fen"]) if sku else None,
        "stock": stock,
        "available": bool(sku and stock > 0 and sku.get("on_sale", True)),
        "reserved_at": reservation["reserved_at"],
        "notified_at": reservation.get("notified_at"),
        "notify_result": reservation.get("notify_result"),
    }


def reserve(repo: InventoryRepository, catalog: CatalogRepository, user_id: str, sku_id: str) -> dict[str, Any]:
    """Reserve a sold-out SKU. Idempotent while waiting; a reservation already notified is renewed (a new wait,
    a new text at the next restock). 404 for an unknown SKU, 409 INVALID_STATE while it is in stock."""

    def attempt() -> dict[str, Any]:
        sku = catalog.skus_by_ids([sku_id]).get(sku_id)
        if sku is None:
            raise NotFound("No such SKU")
        existing = repo.reservation(user_id, sku_id)
        if existing is not None and not existing.get("notified_at"):
            return {**_view(existing, sku), "newly_reserved": False}
        if int(sku["stock"]) > 0:
            raise InvalidState("This SKU is in stock: buy it instead of reserving it")
        moment = utcnow()
        reservation = {
            "reservation_id": new_id("rsv"),
            "sku_id": sku_id,
            "product_id": sku["product_id"],
            "title": sku.get("title") or "",
            "image_url": sku.get("image_url"),
            "attributes": dict(sku.get("attributes") or {}),
            "reserved_at": iso(moment),
            "order_key": precise_iso(moment),
            "notified_at": None,
            "notify_result": None,
        }
        if existing is not None:
            repo.renew_reservation(user_id, reservation, existing)
        else:
            if repo.reservation_count(user_id) >= MAX_RESERVATIONS:
                raise Conflict(f"At most {MAX_RESERVATIONS} reservations: cancel one first")
            repo.add_reservation(user_id, reservation, MAX_RESERVATIONS)
        return {**_view(reservation, sku), "newly_reserved": True}

    return retrying(attempt)


def list_reservations(repo: InventoryRepository, catalog: CatalogRepository, user_id: str) -> dict[str, Any]:
    """Newest first, each with its SKU's card and stock now (one Query and one BatchGetItem)."""
    reservations = sorted(repo.reservations(user_id), key=lambda r: r["order_key"], reverse=True)
    skus = catalog.skus_by_ids([r["sku_id"] for r in reservations]) if reservations else {}
    return page([_view(r, skus.get(r["sku_id"])) for r in reservations], None)


def cancel_reservation(repo: InventoryRepository, user_id: str, sku_id: str) -> None:
    """Cancel the user's reservation of a SKU (notified or not); 404 if the user holds none."""

    def attempt() -> None:
        reservation = repo.reservation(user_id, sku_id)
        if reservation is None:
            raise NotFound("No reservation of this SKU")
        repo.remove_reservation(user_id, reservation)

    retrying(attempt)


def forget_user(repo: InventoryRepository, user_id: str) -> None:
    """The user deleted their account: their reservations go (nobody is texted for them). Idempotent."""
    for held in repo.reservations(user_id):

        def attempt(sku_id: str = held["sku_id"]) -> None:
            reservation = repo.reservation(user_id, sku_id)
            if reservation is not None:
                repo.remove_reservation(user_id, reservation)

        retrying(attempt)


# -- stock changes -----------------------------------------------------------------------------------------------


def record_stock_change(repo: InventoryRepository, change: StockChange) -> tuple[bool, bool]:
    """Apply the change to the SKU's low-stock bookkeeping unless a newer (or this) change was applied already.

    Returns (applied, low now). Changes can arrive late, twice or out of order (SQS), so the SKU's state keeps
    the stream sequence number of the change it reflects, and only a newer one replaces it.
    """

    def attempt() -> tuple[bool, bool]:
        state = repo.stock_state(change.sku_id)
        if state is not None and state.seq >= change.seq:
            return False, state.low_since is not None
        low_since = None
        if change.is_low:
            low_since = state.low_since if state is not None and state.low_since else change.at or now_iso()
        repo.advance_stock_state(change, state, low_since)
        return True, low_since is not None

    return retrying(attempt)


def alert_low_stock(repo: InventoryRepository, alerts: AdminAlerts, change: StockChange) -> bool:
    """Publish the change's low-stock alert once: claimed before publishing, given back if publishing fails."""
    expires_at = epoch_seconds() + EVENT_MARKER_SECONDS
    if not repo.claim_event(change.sku_id, change.seq, ALERT, now_iso(), expires_at):
        return False
    try:
        alerts.publish(
            low_stock_subject(change.sku_id, change.new_stock, change.low_stock_threshold), low_stock_message(change)
        )
    except Exception:
        repo.release_event(change.sku_id, change.seq, ALERT)
        raise
    return True


def notify_restock(
    repo: InventoryRepository,
    catalog: CatalogRepository,
    texts: TextSender,
    phones: PhoneBook,
    change: StockChange,
) -> int:
    """Tell every user waiting for the SKU that it is back, each reservation once; returns how many were texted.

    Each reservation is claimed (notified_at set, only if unset) before its text goes out, and given back if the
    text fails, so a retried event texts exactly the ones still owed. The event itself is remembered once done, so
    a late copy of it cannot reach users who reserved again after being told.
    """
    if repo.event_claimed(change.sku_id, change.seq, RESTOCK):
        return 0
    sku = catalog.skus_by_ids([change.sku_id]).get(change.sku_id) or {}
    text = restock_text(sku.get("title") or change.title, dict(sku.get("attributes") or {}), change.new_stock)
    texted = 0
    start: dict[str, Any] | None = None
    while True:
        waiters, start = repo.waiters(change.sku_id, WAITERS_PAGE, start)
        for waiter in waiters:
            if change.at and waiter["reserved_at"] > change.at:
                continue  # reserved after this restock (it sold out again meanwhile): the next restock tells them
            texted += _notify_waiter(repo, texts, phones, waiter, text)
        if not start:
            break
    repo.claim_event(change.sku_id, change.seq, RESTOCK, now_iso(), epoch_seconds() + EVENT_MARKER_SECONDS)
    return texted


def _notify_waiter(
    repo: InventoryRepository, texts: TextSender, phones: PhoneBook, waiter: dict[str, Any], text: str
) -> int:
    phone = phones.phone_of(waiter["user_id"])
    notified_at = now_iso()
    if not repo.claim_notification(waiter, notified_at, "sent" if phone else "no_phone"):
        return 0
    if not phone:
        logger.info("restock not texted: no phone bound", extra={"user_id": waiter["user_id"]})
        return 0
    try:
        texts.send(phone, text)
    except Exception:
        repo.release_notification(waiter, notified_at)
        raise
    return 1


def handle_stock_change(
    repo: InventoryRepository,
    catalog: CatalogRepository,
    texts: TextSender,
    phones: PhoneBook,
    alerts: AdminAlerts,
    change: StockChange,
) -> dict[str, Any]:
    """Everything one stock change sets off: the low-stock list, the low-stock alert, restock texts."""
    applied, low_now = record_stock_change(repo, change)
    alerted = False
    # A late "fell under" whose SKU has been restocked since is history, not news: no alert for it.
    if change.falls_under_threshold and (applied or low_now):
        alerted = alert_low_stock(repo, alerts, change)
    texted = notify_restock(repo, catalog, texts, phones, change) if change.is_restock else 0
    return {"sku_id": change.sku_id, "applied": applied, "alerted": alerted, "texted": texted}


def list_low_stock(repo: InventoryRepository, query: PageQuery) -> dict[str, Any]:
    items, last = repo.low_stock(query.page_size, decode_cursor(query.cursor, LOW_STOCK_SCOPE))
    return page(items, encode_cursor(last, LOW_STOCK_SCOPE))
