"""Personal center rules: addresses (one default, at most 20), favorites, footprints and search history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.catalog.service import summary
from chalicelib.clock import epoch_seconds, iso, parse_iso, precise_iso, utcnow
from chalicelib.errors import ChangedMeanwhile, Conflict, NotFound
from chalicelib.ids import new_id
from chalicelib.observability import logger
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.profile.domain import (
    FOOTPRINT_TTL_SECONDS,
    MAX_ADDRESSES,
    MAX_FOOTPRINTS,
    MAX_KEYWORD_CHARS,
    MAX_SEARCHES,
    normalize_keyword,
)
from chalicelib.profile.repository import DefaultChange, ProfileRepository
from chalicelib.profile.schemas import AddressWrite
from chalicelib.retry import retrying

MAX_ID_CHARS = 128


# -- addresses ---------------------------------------------------------------------------------------------------


def _default_first_then_newest(addresses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest_first = sorted(addresses, key=lambda a: a["address_id"], reverse=True)  # ids are time-ordered
    return sorted(newest_first, key=lambda a: not a["is_default"])


def list_addresses(repo: ProfileRepository, user_id: str) -> dict[str, Any]:
    return page(_default_first_then_newest(repo.addresses(user_id)), None)


def get_address(repo: ProfileRepository, user_id: str, address_id: str) -> dict[str, Any]:
    """One of the user's addresses (for orders); NotFound for another user's or a deleted one."""
    return found_address(repo.address(user_id, address_id))


def found_address(address: dict[str, Any] | None) -> dict[str, Any]:
    """The address read for an order, or NotFound (another user's or a deleted one)."""
    if address is None:
        raise NotFound("No such address")
    return address


def create_address(repo: ProfileRepository, user_id: str, write: AddressWrite) -> dict[str, Any]:
    """Add an address; the first one, or one asked to be, becomes the default. 409 past MAX_ADDRESSES."""

    def attempt() -> dict[str, Any]:
        book = repo.address_book(user_id)
        if book.address_count >= MAX_ADDRESSES:
            raise Conflict(f"At most {MAX_ADDRESSES} addresses: delete one first")
        now = iso(utcnow())
        address = {
            "address_id": new_id("a"),
            **write.fields(),
            "is_default": bool(write.is_default) or book.address_count == 0,
            "created_at": now,
            "updated_at": now,
        }
        repo.add_address(user_id, address, book, MAX_ADDRESSES)
        return address

    return retrying(attempt)


def replace_address(repo: ProfileRepository, user_id: str, address_id: str, write: AddressWrite) -> dict[str, Any]:
    """Replace every field; is_default true/false moves or clears the default, omitted leaves it as it is."""

    def attempt() -> dict[str, Any]:
        current = get_address(repo, user_id, address_id)
        book = repo.address_book(user_id)
        was_default = book.default_id == address_id
        wanted = was_default if write.is_default is None else write.is_default
        change: DefaultChange = None
        if wanted != was_default:
            change = "set" if wanted else "clear"
        address = {**current, **write.fields(), "is_default": wanted, "updated_at": iso(utcnow())}
        repo.replace_address(user_id, address, book, change)
        return address

    return retrying(attempt)


def delete_address(repo: ProfileRepository, user_id: str, address_id: str) -> None:
    """Delete an address; deleting the default makes the newest remaining address the default."""

    def attempt() -> None:
        book = repo.address_book(user_id)
        promote = None
        if book.default_id == address_id:
            others = [a["address_id"] for a in repo.addresses(user_id) if a["address_id"] != address_id]
            promote = max(others, default=None)
        repo.remove_address(user_id, address_id, book, promote)

    retrying(attempt)


# -- favorites ---------------------------------------------------------------------------------------------------


def _card(product: dict[str, Any]) -> dict[str, Any]:
    return {**summary(product), "available": bool(product["on_sale"])}


def add_favorite(repo: ProfileRepository, user_id: str, product_id: str) -> dict[str, Any]:
    """Favorite a product (404 if there is none); again is a no-op. The product's favorite_count counts it once."""

    def attempt() -> dict[str, Any]:
        moment = utcnow()
        if repo.add_favorite(user_id, product_id, iso(moment), precise_iso(moment)):
            return {"product_id": product_id, "favorited_at": iso(moment), "newly_added": True}
        existing = repo.favorite(user_id, product_id)
        if existing is None:
            raise ChangedMeanwhile()  # removed between our write and this read: add it again
        return {"product_id": product_id, "favorited_at": existing["favorited_at"], "newly_added": False}

    return retrying(attempt)


def one_favorite(repo: ProfileRepository, user_id: str, product_id: str) -> dict[str, Any]:
    """Whether I favorited this product, and when (products are not checked: an unknown id is not a favorite)."""
    favorite = repo.favorite(user_id, product_id)
    return {
        "product_id": product_id,
        "favorited": favorite is not None,
        "favorited_at": favorite["favorited_at"] if favorite is not None else None,
    }


def remove_favorite(repo: ProfileRepository, user_id: str, product_id: str) -> None:
    """Unfavorite a product; a product that is not a favorite is a no-op (uncounted)."""

    def attempt() -> None:
        favorite = repo.favorite(user_id, product_id)
        if favorite is not None:
            repo.remove_favorite(user_id, favorite)

    retrying(attempt)


def list_favorites(repo: ProfileRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    """Newest first, as product cards; products deleted from the catalog are left out, off-sale ones shown."""
    scope = f"favorites|{user_id}"
    entries, last_key = repo.favorites(user_id, query.page_size, decode_cursor(query.cursor, scope))
    products = repo.product_summaries([entry["product_id"] for entry in entries])
    items = [
        {**_card(products[entry["product_id"]]), "favorited_at": entry["favorited_at"]}
        for entry in entries
        if entry["product_id"] in products
    ]
    return page(items, encode_cursor(last_key, scope))


# -- footprints --------------------------------------------------------------------------------------------------


def _parse_view(user_id: Any, product_id: Any, viewed_at: Any) -> datetime | None:
    if not (isinstance(user_id, str) and isinstance(product_id, str)):
        return None
    if not (0 < len(user_id) <= MAX_ID_CHARS and 0 < len(product_id) <= MAX_ID_CHARS):
        return None
    try:
        return parse_iso(viewed_at)
    except (ValueError, TypeError):
        return None


def record_footprints(repo: ProfileRepository, views: list[tuple[str, str, str]]) -> int:
    """Store a batch of (user_id, product_id, viewed_at ISO) views as footprints; returns how many were kept.

    One footprint per user and product keeps the latest view; a redelivered or older batch changes nothing.
    Each user keeps the newest MAX_FOOTPRINTS; a footprint expires FOOTPRINT_TTL_SECONDS after the view.
    """
    latest: dict[tuple[str, str], datetime] = {}
    for user_id, product_id, viewed_at in views:
        moment = _parse_view(user_id, product_id, viewed_at)
        if moment is None:
            logger.warning("dropping a malformed footprint", extra={"user_id": str(user_id)[:MAX_ID_CHARS]})
            continue
        if latest.get((user_id, product_id), moment) <= moment:
            latest[(user_id, product_id)] = moment
    closed = {user_id for user_id in {user_id for user_id, _ in latest} if repo.account_closed(user_id)}
    latest = {key: moment for key, moment in latest.items() if key[0] not in closed}  # deleted since the view
    now = epoch_seconds()
    kept = 0
    for (user_id, product_id), moment in latest.items():
        expires_at = int(moment.timestamp()) + FOOTPRINT_TTL_SECONDS
        if expires_at <= now:
            continue
        footprint = {
            "product_id": product_id,
            "viewed_at": iso(moment),
            "order_key": precise_iso(moment),
            "expires_at": expires_at,
        }
        repo.save_footprint(user_id, footprint)
        kept += 1
    for user_id in {user_id for user_id, _ in latest}:
        footprints = repo.footprints(user_id)
        live = _newest_live_footprints(footprints)
        kept_ids = {f["product_id"] for f in live[:MAX_FOOTPRINTS]}
        dropped = [f for f in footprints if f["product_id"] not in kept_ids]
        if dropped:
            repo.drop_footprints(user_id, dropped)
    return kept


def _newest_live_footprints(footprints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = epoch_seconds()
    live = [f for f in footprints if f["expires_at"] > now]  # TTL deletion lags: expired ones may still be stored
    return sorted(live, key=lambda f: f["order_key"], reverse=True)


def list_footprints(repo: ProfileRepository, user_id: str) -> dict[str, Any]:
    """Newest first, one per product, as product cards; products deleted from the catalog are left out."""
    footprints = _newest_live_footprints(repo.footprints(user_id))[:MAX_FOOTPRINTS]
    products = repo.product_summaries([f["product_id"] for f in footprints])
    items = [
        {**_card(products[f["product_id"]]), "viewed_at": f["viewed_at"]}
        for f in footprints
        if f["product_id"] in products
    ]
    return page(items, None)


def clear_footprints(repo: ProfileRepository, user_id: str) -> None:
    repo.clear_footprints(user_id)


# -- search history ----------------------------------------------------------------------------------------------


def record_search(repo: ProfileRepository, user_id: str, keyword: str, searched_at: str | datetime) -> None:
    """Remember a search (off the request path); the same keyword again (case and spacing aside) moves it up."""
    normalized = normalize_keyword(keyword)
    if not normalized:
        return
    try:
        moment = parse_iso(searched_at)
    except (ValueError, TypeError):
        logger.warning("dropping a search with a malformed time", extra={"searched_at": str(searched_at)[:64]})
        return
    if repo.account_closed(user_id):
        return  # the account was deleted after this search was logged
    search = {
        "normalized": normalized,
        "keyword": " ".join(keyword.split())[:MAX_KEYWORD_CHARS],
        "searched_at": iso(moment),
        "order_key": precise_iso(moment),
    }
    repo.save_search(user_id, search)
    older = sorted(repo.searches(user_id), key=lambda s: s["order_key"], reverse=True)[MAX_SEARCHES:]
    if older:
        repo.drop_searches(user_id, older)


def list_search_history(repo: ProfileRepository, user_id: str) -> dict[str, Any]:
    searches = sorted(repo.searches(user_id), key=lambda s: s["order_key"], reverse=True)[:MAX_SEARCHES]
    return page([{"keyword": s["keyword"], "searched_at": s["searched_at"]} for s in searches], None)


def clear_search_history(repo: ProfileRepository, user_id: str) -> None:
    repo.clear_searches(user_id)


# -- account deletion --------------------------------------------------------------------------------------------


def erase_user(repo: ProfileRepository, user_id: str) -> None:
    """The user deleted their account: their addresses, favorites (uncounted on the products), footprints and
    search history go. Idempotent."""
    start = None
    while True:
        entries, start = repo.favorites(user_id, 100, start)
        for entry in entries:
            remove_favorite(repo, user_id, entry["product_id"])
        if not start:
            break
    repo.clear_addresses(user_id)
    repo.clear_footprints(user_id)
    repo.clear_searches(user_id)
