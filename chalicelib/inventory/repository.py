"""The only module that touches inventory's models: reservations and their waiters, stock state, low stock, markers."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.errors import ChangedMeanwhile
from chalicelib.inventory.domain import StockChange, StockState
from chalicelib.inventory.models import (
    RESERVATION_BOOK_SK,
    RESERVATION_PREFIX,
    STATE_SK,
    EventMarkerModel,
    LowStockModel,
    ReservationBookModel,
    ReservationModel,
    StockStateModel,
    WaiterModel,
    event_marker_pk,
    low_stock_pk,
    low_stock_pks,
    stock_state_pk,
    user_pk,
    waiters_pk,
)

RESERVATION_FIELDS = (
    "reservation_id", "sku_id", "product_id", "title", "image_url", "reserved_at", "order_key", "notified_at",
    "notify_result",
)  # fmt: skip


class InventoryRepository(Protocol):
    def reservation(self, user_id: str, sku_id: str) -> dict[str, Any] | None: ...
    def reservations(self, user_id: str) -> list[dict[str, Any]]: ...
    def reservation_count(self, user_id: str) -> int: ...
    def add_reservation(self, user_id: str, reservation: dict[str, Any], max_count: int) -> None:
        """Store a new reservation and its waiter entry and count it, only while the count is under max_count.
        ChangedMeanwhile if the user is at max_count or a reservation of that SKU appeared meanwhile."""

    def renew_reservation(self, user_id: str, reservation: dict[str, Any], notified: dict[str, Any]) -> None:
        """Replace a notified reservation by a new one (waiting again). ChangedMeanwhile if it is not as read."""

    def remove_reservation(self, user_id: str, reservation: dict[str, Any]) -> None:
        """Delete the reservation as read, its waiter entry, and uncount it. ChangedMeanwhile if it changed."""

    def waiters(
        self, sku_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The users still waiting for a SKU (not yet notified), one Query page."""

    def claim_notification(self, waiter: dict[str, Any], notified_at: str, result: str) -> bool:
        """Mark the waiter's reservation notified, once: False if it already was, or is gone or replaced."""

    def release_notification(self, waiter: dict[str, Any], notified_at: str) -> None:
        """Undo a claim whose text could not be sent, so a retry sends it."""

    def stock_state(self, sku_id: str) -> StockState | None: ...
    def advance_stock_state(self, change: StockChange, seen: StockState | None, low_since: str | None) -> None:
        """Record the change as the SKU's newest and put it on (low_since set) or take it off the low-stock list.
        ChangedMeanwhile if the state is no longer `seen`."""

    def low_stock(
        self, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def claim_event(self, sku_id: str, seq: str, what: str, at: str, expires_at: int) -> bool:
        """Remember that this event's `what` is taken or done; False if it already was."""

    def release_event(self, sku_id: str, seq: str, what: str) -> None: ...
    def event_claimed(self, sku_id: str, seq: str, what: str) -> bool: ...


def _reservation_dict(item: ReservationModel) -> dict[str, Any]:
    reservation = {name: getattr(item, name) for name in RESERVATION_FIELDS}
    attributes: Any = item.attributes
    reservation["attributes"] = dict(attributes.as_dict() if isinstance(attributes, MapAttribute) else attributes or {})
    return reservation


def _reservation_item(user_id: str, reservation: dict[str, Any]) -> ReservationModel:
    item = ReservationModel(user_pk(user_id), f"{RESERVATION_PREFIX}{reservation['sku_id']}")
    for name in RESERVATION_FIELDS:
        setattr(item, name, reservation.get(name))
    item.attributes = reservation.get("attributes") or {}
    return item


def _waiter_item(user_id: str, reservation: dict[str, Any]) -> WaiterModel:
    return WaiterModel(
        waiters_pk(reservation["sku_id"]),
        user_id,
        user_id=user_id,
        sku_id=reservation["sku_id"],
        reservation_id=reservation["reservation_id"],
        reserved_at=reservation["reserved_at"],
    )


def _book_key(user_id: str) -> ReservationBookModel:
    return ReservationBookModel(user_pk(user_id), RESERVATION_BOOK_SK)


def _is_condition_failure(error: PutError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _failed_conditions(error: TransactWriteError, actions: int) -> list[bool]:
    """Which actions' conditions failed; re-raises a failure that is not a condition (throttling, validation)."""
    if not getattr(error, "cancellation_reasons", None):
        raise error
    failed = [*cancelled_conditions(error), *[False] * actions][:actions]
    return failed


class DynamoInventoryRepository:
    """InventoryRepository on the accounts table (the user's reservations) and the marketing table (the rest)."""

    # -- reservations --------------------------------------------------------------------------------------------

    def reservation(self, user_id: str, sku_id: str) -> dict[str, Any] | None:
        try:
            item = ReservationModel.get(user_pk(user_id), f"{RESERVATION_PREFIX}{sku_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _reservation_dict(item)

    def reservations(self, user_id: str) -> list[dict[str, Any]]:
        query = ReservationModel.query(
            user_pk(user_id), ReservationModel.sk.startswith(RESERVATION_PREFIX), consistent_read=True
        )
        return [_reservation_dict(item) for item in query]

    def reservation_count(self, user_id: str) -> int:
        try:
            book = ReservationBookModel.get(user_pk(user_id), RESERVATION_BOOK_SK, consistent_read=True)
        except DoesNotExist:
            return 0
        return int(book.reservation_count or 0)

    def add_reservation(self, user_id: str, reservation: dict[str, Any], max_count: int) -> None:
        count = ReservationBookModel.reservation_count
        book_condition = count.does_not_exist() | (count < max_count)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_book_key(user_id), actions=[count.add(1)], condition=book_condition)
                transaction.save(
                    _reservation_item(user_id, reservation), condition=ReservationModel.pk.does_not_exist()
                )
                transaction.save(_waiter_item(user_id, reservation))
        except TransactWriteError as error:
            _failed_conditions(error, 3)
            raise ChangedMeanwhile() from error

    def renew_reservation(self, user_id: str, reservation: dict[str, Any], notified: dict[str, Any]) -> None:
        as_read = (
            ReservationModel.reservation_id == notified["reservation_id"]
        ) & ReservationModel.notified_at.exists()
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(_reservation_item(user_id, reservation), condition=as_read)
                transaction.save(_waiter_item(user_id, reservation))
        except TransactWriteError as error:
            _failed_conditions(error, 2)
            raise ChangedMeanwhile() from error

    def remove_reservation(self, user_id: str, reservation: dict[str, Any]) -> None:
        reservation_id = reservation["reservation_id"]
        waiter = WaiterModel(waiters_pk(reservation["sku_id"]), user_id)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.delete(
                    _reservation_item(user_id, reservation),
                    condition=ReservationModel.reservation_id == reservation_id,
                )
                transaction.update(
                    _book_key(user_id),
                    actions=[ReservationBookModel.reservation_count.add(-1)],
                    condition=ReservationBookModel.reservation_count > 0,
                )
                transaction.delete(
                    waiter, condition=WaiterModel.pk.does_not_exist() | (WaiterModel.reservation_id == reservation_id)
                )
        except TransactWriteError as error:
            _failed_conditions(error, 3)
            raise ChangedMeanwhile() from error

    def waiters(
        self, sku_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results = WaiterModel.query(
            waiters_pk(sku_id), limit=limit, page_size=limit, last_evaluated_key=start, consistent_read=True
        )
        items = [
            {
                "user_id": item.user_id,
                "sku_id": item.sku_id,
                "reservation_id": item.reservation_id,
                "reserved_at": item.reserved_at,
            }
            for item in results
        ]
        return items, results.last_evaluated_key

    def claim_notification(self, waiter: dict[str, Any], notified_at: str, result: str) -> bool:
        same = waiter["reservation_id"]
        reservation = ReservationModel(user_pk(waiter["user_id"]), f"{RESERVATION_PREFIX}{waiter['sku_id']}")
        entry = WaiterModel(waiters_pk(waiter["sku_id"]), waiter["user_id"])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    reservation,
                    actions=[
                        ReservationModel.notified_at.set(notified_at),
                        ReservationModel.notify_result.set(result),
                    ],
                    condition=(ReservationModel.reservation_id == same) & ReservationModel.notified_at.does_not_exist(),
                )
                transaction.delete(entry, condition=WaiterModel.reservation_id == same)
        except TransactWriteError as error:
            _failed_conditions(error, 2)
            # Notified already, deleted or replaced: a waiter entry of this reservation left behind is stale.
            try:
                entry.delete(condition=WaiterModel.reservation_id == same)
            except DeleteError as stale:
                if not _is_condition_failure(stale):
                    raise
            return False
        return True

    def release_notification(self, waiter: dict[str, Any], notified_at: str) -> None:
        reservation = ReservationModel(user_pk(waiter["user_id"]), f"{RESERVATION_PREFIX}{waiter['sku_id']}")
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    reservation,
                    actions=[ReservationModel.notified_at.remove(), ReservationModel.notify_result.remove()],
                    condition=(ReservationModel.reservation_id == waiter["reservation_id"])
                    & (ReservationModel.notified_at == notified_at),
                )
                transaction.save(_waiter_item(waiter["user_id"], waiter), condition=WaiterModel.pk.does_not_exist())
        except TransactWriteError as error:
            _failed_conditions(error, 2)  # the user deleted or renewed it meanwhile: nothing to give back

    # -- stock state and the low-stock list ----------------------------------------------------------------------

    def stock_state(self, sku_id: str) -> StockState | None:
        try:
            item = StockStateModel.get(stock_state_pk(sku_id), STATE_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return StockState(seq=item.seq, stock=int(item.stock), threshold=int(item.threshold), low_since=item.low_since)

    def advance_stock_state(self, change: StockChange, seen: StockState | None, low_since: str | None) -> None:
        state = StockStateModel(
            stock_state_pk(change.sku_id),
            STATE_SK,
            seq=change.seq,
            stock=change.new_stock,
            threshold=change.low_stock_threshold,
            low_since=low_since,
            updated_at=change.at,
        )
        as_read = StockStateModel.pk.does_not_exist() if seen is None else StockStateModel.seq == seen.seq
        listing = LowStockModel(low_stock_pk(change.sku_id), change.sku_id)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(state, condition=as_read)
                if low_since is not None:
                    listing.sku_id = change.sku_id
                    listing.product_id = change.product_id
                    listing.title = change.title
                    listing.stock = change.new_stock
                    listing.threshold = change.low_stock_threshold
                    listing.since = low_since
                    transaction.save(listing)
                else:
                    transaction.delete(listing)
        except TransactWriteError as error:
            _failed_conditions(error, 2)
            raise ChangedMeanwhile() from error

    def low_stock(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        after = str((start or {}).get("sk") or "")
        found: list[LowStockModel] = []
        for shard in low_stock_pks():  # by SKU id across the shards, merged
            condition = LowStockModel.sk > after if after else None
            found += LowStockModel.query(shard, condition, limit=limit + 1, page_size=limit + 1)
        found.sort(key=lambda item: item.sk)
        items = [
            {
                "sku_id": item.sku_id,
                "product_id": item.product_id,
                "title": item.title,
                "stock": int(item.stock),
                "threshold": int(item.threshold),
                "since": item.since,
            }
            for item in found[:limit]
        ]
        return items, ({"sk": found[limit - 1].sk} if len(found) > limit else None)

    # -- event markers -------------------------------------------------------------------------------------------

    def claim_event(self, sku_id: str, seq: str, what: str, at: str, expires_at: int) -> bool:
        marker = EventMarkerModel(event_marker_pk(sku_id, seq), what, at=at, expires_at=expires_at)
        try:
            marker.save(condition=EventMarkerModel.pk.does_not_exist())
        except PutError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def release_event(self, sku_id: str, seq: str, what: str) -> None:
        EventMarkerModel(event_marker_pk(sku_id, seq), what).delete()

    def event_claimed(self, sku_id: str, seq: str, what: str) -> bool:
        try:
            EventMarkerModel.get(event_marker_pk(sku_id, seq), what, consistent_read=True)
        except DoesNotExist:
            return False
        return True
