"""The flash-sale repository on DynamoDB: the only module touching the flash-sale models (and, inside a session's
transactions, the catalog's SKU items, whose stock the promo stock is set aside from and goes back to). It writes
what the services decided and decides nothing."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.flashsale.domain import (
    CLOSED,
    DELETED,
    SCHEDULED,
    FlashItem,
    Session,
    stock_changes,
)
from chalicelib.flashsale.dynamo_attempts import DynamoAttempts
from chalicelib.flashsale.dynamo_stock import existing_skus, move_stock, shard_key
from chalicelib.flashsale.models import (
    LISTING_PK,
    SESSION_SK,
    FlashListingModel,
    FlashSessionModel,
    FlashShardModel,
    listing_sk,
    session_pk,
    shard_pk,
)
from chalicelib.flashsale.repository import SetAsideRefused


def session_of(item: FlashSessionModel) -> Session:
    return Session(
        session_id=item.session_id,
        title=item.title,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        items=tuple(FlashItem.from_record(record) for record in item.items or []),
        state=item.state,
        created_at=item.created_at,
        updated_at=item.updated_at,
        closed_at=item.closed_at,
    )


def _session_item(session: Session) -> FlashSessionModel:
    return FlashSessionModel(
        session_pk(session.session_id),
        SESSION_SK,
        session_id=session.session_id,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        items=[item.record() for item in session.items],
        state=session.state,
        created_at=session.created_at,
        updated_at=session.updated_at,
        closed_at=session.closed_at,
    )


def _listing_item(session: Session) -> FlashListingModel:
    return FlashListingModel(
        LISTING_PK,
        listing_sk(session.ends_at, session.session_id),
        session_id=session.session_id,
        starts_at=session.starts_at,
        state=session.state,
    )


def _refused(error: TransactWriteError, skus: list[str]) -> SetAsideRefused:
    failed = cancelled_conditions(error)
    return SetAsideRefused([sku_id for index, sku_id in enumerate(skus) if index < len(failed) and failed[index]])


def _page_sessions(listed: list[FlashListingModel]) -> list[Session]:
    keys = [(session_pk(item.session_id), SESSION_SK) for item in listed]
    found = {item.session_id: session_of(item) for item in FlashSessionModel.batch_get(keys)} if keys else {}
    return [found[item.session_id] for item in listed if item.session_id in found]


class DynamoFlashSaleRepository(DynamoAttempts):
    """Flash sales in the marketing table: the sessions here, the attempts in DynamoAttempts."""

    def create_session(self, session: Session) -> None:
        changes = {item.sku_id: -item.promo_stock for item in session.items}
        try:
            with TransactWrite(connection=connection()) as transaction:
                skus = move_stock(transaction, changes)
                transaction.save(_session_item(session), condition=FlashSessionModel.pk.does_not_exist())
                transaction.save(_listing_item(session))
                for item in session.items:
                    for shard, units in item.shard_stock().items():
                        transaction.save(
                            FlashShardModel(shard_pk(session.session_id, item.sku_id, shard), remaining=units)
                        )
        except TransactWriteError as error:
            raise _refused(error, skus) from error

    def replace_session(self, old: Session, new: Session, before: str) -> None:
        old_listing, new_listing = _listing_item(old), _listing_item(new)
        old_shards = {(item.sku_id, shard) for item in old.items for shard in range(item.shards)}
        new_shards = {(item.sku_id, shard): units for item in new.items for shard, units in item.shard_stock().items()}
        try:
            with TransactWrite(connection=connection()) as transaction:
                skus = move_stock(transaction, stock_changes(old.items, new.items))
                condition = (FlashSessionModel.state == SCHEDULED) & (FlashSessionModel.starts_at > before)
                transaction.save(_session_item(new), condition=condition)
                if old_listing.sk != new_listing.sk:
                    transaction.delete(old_listing)
                transaction.save(new_listing)
                for sku_id, shard in old_shards - set(new_shards):
                    transaction.delete(shard_key(old.session_id, sku_id, shard))
                for (sku_id, shard), units in new_shards.items():
                    transaction.save(FlashShardModel(shard_pk(new.session_id, sku_id, shard), remaining=units))
        except TransactWriteError as error:
            raise _refused(error, skus) from error

    def delete_session(self, session: Session, before: str, at: str) -> None:
        existing = existing_skus([item.sku_id for item in session.items])
        try:
            with TransactWrite(connection=connection()) as transaction:
                move_stock(transaction, {i.sku_id: i.promo_stock for i in session.items if i.sku_id in existing})
                transaction.update(
                    FlashSessionModel(session_pk(session.session_id), SESSION_SK),
                    actions=[FlashSessionModel.state.set(DELETED), FlashSessionModel.updated_at.set(at)],
                    condition=(FlashSessionModel.state == SCHEDULED) & (FlashSessionModel.starts_at > before),
                )
                transaction.delete(_listing_item(session))
                for item in session.items:
                    for shard, units in item.shard_stock().items():  # untouched before the start
                        key = shard_key(session.session_id, item.sku_id, shard)
                        transaction.delete(key, condition=FlashShardModel.remaining == units)
        except TransactWriteError as error:
            raise SetAsideRefused([]) from error

    def close_session(self, session: Session, seen: dict[str, dict[int, int]], at: str) -> bool:
        existing = existing_skus(list(seen))
        back = {sku_id: sum(shards.values()) for sku_id, shards in seen.items() if sku_id in existing}
        try:
            with TransactWrite(connection=connection()) as transaction:
                move_stock(transaction, {sku_id: units for sku_id, units in back.items() if units > 0})
                transaction.update(
                    FlashSessionModel(session_pk(session.session_id), SESSION_SK),
                    actions=[FlashSessionModel.state.set(CLOSED), FlashSessionModel.closed_at.set(at)],
                    condition=FlashSessionModel.state == SCHEDULED,
                )
                transaction.update(
                    FlashListingModel(LISTING_PK, listing_sk(session.ends_at, session.session_id)),
                    actions=[FlashListingModel.state.set(CLOSED)],
                )
                for sku_id, shards in seen.items():
                    for shard, units in shards.items():
                        if units > 0:
                            transaction.update(
                                shard_key(session.session_id, sku_id, shard),
                                actions=[FlashShardModel.remaining.set(0)],
                                condition=FlashShardModel.remaining == units,
                            )
        except TransactWriteError:
            return False
        return True

    def session(self, session_id: str) -> Session | None:
        try:
            return session_of(FlashSessionModel.get(session_pk(session_id), SESSION_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def sessions_ending_after(self, moment: str, limit: int) -> list[Session]:
        listed = FlashListingModel.query(LISTING_PK, FlashListingModel.sk > moment, limit=limit)
        return [s for s in _page_sessions([item for item in listed if item.state != DELETED]) if s.state != DELETED]

    def sessions_ended(self, since: str, until: str, limit: int) -> list[Session]:
        listed = FlashListingModel.query(
            LISTING_PK,
            FlashListingModel.sk.between(since, until),
            filter_condition=FlashListingModel.state == SCHEDULED,
        )
        return [s for s in _page_sessions(list(listed)[:limit]) if s.state == SCHEDULED]

    def sessions_page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Session], dict[str, Any] | None]:
        results = FlashListingModel.query(
            LISTING_PK, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        listed = list(results)
        return _page_sessions(listed), results.last_evaluated_key

    def remaining(self, sessions: list[Session], consistent: bool = False) -> dict[tuple[str, str], dict[int, int]]:
        keys = {
            shard_pk(session.session_id, item.sku_id, shard): (session.session_id, item.sku_id, shard)
            for session in sessions
            for item in session.items
            for shard in range(item.shards)
        }
        found: dict[tuple[str, str], dict[int, int]] = {
            (session_id, sku_id): {} for session_id, sku_id, _ in keys.values()
        }
        for session_id, sku_id, shard in keys.values():
            found[(session_id, sku_id)][shard] = 0
        if keys:
            items = FlashShardModel.batch_get([(pk, "STOCK") for pk in keys], consistent_read=consistent)
            for item in items:
                session_id, sku_id, shard = keys[item.pk]
                found[(session_id, sku_id)][shard] = int(item.remaining or 0)
        return found
