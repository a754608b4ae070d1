"""The attempts half of the flash-sale repository on DynamoDB: the buyers' holdings, Idempotency-Keys and attempts,
and the transactions that admit, claim, lose, win and give back (chalicelib/flashsale/dynamo_repository.py is the
sessions half and the whole repository)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.flashsale.domain import CLAIMED, CLOSED, QUEUED, SCHEDULED, WON, Attempt
from chalicelib.flashsale.dynamo_stock import existing_skus, move_stock, shard_key
from chalicelib.flashsale.models import (
    ATTEMPT_SK,
    HOLD_SK,
    KEY_SK,
    SESSION_SK,
    FlashAttemptModel,
    FlashHoldingModel,
    FlashKeyModel,
    FlashSessionModel,
    FlashShardModel,
    attempt_pk,
    holding_pk,
    key_pk,
    session_pk,
)


def attempt_of(item: FlashAttemptModel) -> Attempt:
    return Attempt(
        attempt_id=item.attempt_id,
        user_id=item.user_id,
        session_id=item.session_id,
        sku_id=item.sku_id,
        quantity=int(item.quantity),
        address_id=item.address_id,
        shard=int(item.shard),
        status=item.status,
        created_at=item.created_at,
        claims={int(shard): int(units) for shard, units in (item.claims or {}).items()},
        order_id=item.order_id,
        reason=item.reason,
        decided_at=item.decided_at,
        returned_at=item.returned_at,
    )


class DynamoAttempts:
    """Holdings, keys and attempts in the marketing table."""

    def held(self, session_id: str, sku_id: str, user_id: str) -> int:
        try:
            item = FlashHoldingModel.get(holding_pk(session_id, sku_id, user_id), HOLD_SK, consistent_read=True)
        except DoesNotExist:
            return 0
        return int(item.held or 0)

    def key_record(self, user_id: str, key: str) -> dict[str, Any] | None:
        try:
            item = FlashKeyModel.get(key_pk(user_id, key), KEY_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return {"attempt_id": item.attempt_id, "body_hash": item.body_hash}

    def admit(self, attempt: Attempt, key: str, body_hash: str, limit: int, expires_at: int) -> str:
        holding = FlashHoldingModel(holding_pk(attempt.session_id, attempt.sku_id, attempt.user_id))
        within = FlashHoldingModel.held.does_not_exist() | (FlashHoldingModel.held <= limit - attempt.quantity)
        record = FlashKeyModel(
            key_pk(attempt.user_id, key), attempt_id=attempt.attempt_id, body_hash=body_hash, expires_at=expires_at
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(record, condition=FlashKeyModel.pk.does_not_exist())
                transaction.update(holding, actions=[FlashHoldingModel.held.add(attempt.quantity)], condition=within)
                transaction.save(_attempt_item(attempt, expires_at), condition=FlashAttemptModel.pk.does_not_exist())
        except TransactWriteError as error:
            failed = [*cancelled_conditions(error), False, False, False]
            if failed[0]:
                return "key_used"
            if failed[1]:
                return "limit"
            if failed[2]:
                return "tombstoned"
            return "conflict"  # a concurrent transaction on the same items: nothing was written
        return "admitted"

    def attempt(self, attempt_id: str) -> Attempt | None:
        try:
            return attempt_of(FlashAttemptModel.get(attempt_pk(attempt_id), ATTEMPT_SK, consistent_read=True))
        except DoesNotExist:
            return None

    def tombstone(self, attempt: Attempt) -> bool:
        try:
            _attempt_item(attempt, None).save(condition=FlashAttemptModel.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim(self, attempt: Attempt, claims: dict[int, int], at: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                for shard, units in claims.items():
                    transaction.update(
                        shard_key(attempt.session_id, attempt.sku_id, shard),
                        actions=[FlashShardModel.remaining.add(-units)],
                        condition=FlashShardModel.remaining >= units,
                    )
                transaction.update(
                    _attempt_key(attempt.attempt_id),
                    actions=[
                        FlashAttemptModel.status.set(CLAIMED),
                        FlashAttemptModel.claims.set({str(shard): units for shard, units in claims.items()}),
                    ],
                    condition=FlashAttemptModel.status == QUEUED,
                )
        except TransactWriteError:
            return False
        return True

    def lose(self, attempt: Attempt, reason: str, at: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _attempt_key(attempt.attempt_id),
                    actions=[
                        FlashAttemptModel.status.set("LOST"),
                        FlashAttemptModel.reason.set(reason),
                        FlashAttemptModel.decided_at.set(at),
                    ],
                    condition=FlashAttemptModel.status == QUEUED,
                )
                _free_holding(transaction, attempt)
        except TransactWriteError:
            return False
        return True

    def win(self, attempt: Attempt, order_id: str, at: str) -> bool:
        try:
            _attempt_key(attempt.attempt_id).update(
                actions=[
                    FlashAttemptModel.status.set(WON),
                    FlashAttemptModel.order_id.set(order_id),
                    FlashAttemptModel.decided_at.set(at),
                ],
                condition=FlashAttemptModel.status == CLAIMED,
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def give_back(self, attempt: Attempt, to_session: bool, at: str, lost_reason: str | None = None) -> bool:
        actions: list[Any]
        if lost_reason is not None:
            actions = [
                FlashAttemptModel.status.set("LOST"),
                FlashAttemptModel.reason.set(lost_reason),
                FlashAttemptModel.decided_at.set(at),
            ]
            condition = FlashAttemptModel.status == CLAIMED
        else:
            actions = [FlashAttemptModel.returned_at.set(at)]
            condition = (FlashAttemptModel.status == WON) & FlashAttemptModel.returned_at.does_not_exist()
        sku_back = not to_session and attempt.sku_id in existing_skus([attempt.sku_id])
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_attempt_key(attempt.attempt_id), actions=actions, condition=condition)
                _free_holding(transaction, attempt)
                transaction.condition_check(
                    FlashSessionModel,
                    session_pk(attempt.session_id),
                    SESSION_SK,
                    condition=FlashSessionModel.state == (SCHEDULED if to_session else CLOSED),
                )
                if to_session:
                    for shard, units in attempt.claims.items():
                        transaction.update(
                            shard_key(attempt.session_id, attempt.sku_id, shard),
                            actions=[FlashShardModel.remaining.add(units)],
                        )
                elif sku_back:
                    move_stock(transaction, {attempt.sku_id: sum(attempt.claims.values())})
        except TransactWriteError:
            return False
        return True


def _attempt_key(attempt_id: str) -> FlashAttemptModel:
    return FlashAttemptModel(attempt_pk(attempt_id))


def _free_holding(transaction: TransactWrite, attempt: Attempt) -> None:
    holding = FlashHoldingModel(holding_pk(attempt.session_id, attempt.sku_id, attempt.user_id))
    transaction.update(holding, actions=[FlashHoldingModel.held.add(-attempt.quantity)])


def _attempt_item(attempt: Attempt, expires_at: int | None) -> FlashAttemptModel:
    return FlashAttemptModel(
        attempt_pk(attempt.attempt_id),
        attempt_id=attempt.attempt_id,
        user_id=attempt.user_id,
        session_id=attempt.session_id,
        sku_id=attempt.sku_id,
        quantity=attempt.quantity,
        address_id=attempt.address_id,
        shard=attempt.shard,
        status=attempt.status,
        reason=attempt.reason,
        created_at=attempt.created_at,
        decided_at=attempt.decided_at,
        expires_at=expires_at,
    )
