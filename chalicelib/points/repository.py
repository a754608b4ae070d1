"""The only module that touches the points models (and, inside an exchange's transaction, the coupon models through
chalicelib.coupons.repository.add_issue); add_credit / add_debit put a posting into a caller's TransactWrite."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.clock import utcnow
from chalicelib.coupons.repository import add_issue
from chalicelib.dynamo import PendingRead, cancelled_conditions, connection, newest_page
from chalicelib.errors import Conflict, NotFound, OutOfStock
from chalicelib.points.domain import AlreadyPosted, ExchangeChanged, NotEnoughPoints, new_entry
from chalicelib.points.models import (
    ENTRY_PREFIX,
    EXCHANGE_PREFIX,
    PROFILE_SK,
    REF_PREFIX,
    REWARD_PREFIX,
    REWARDS_PK,
    RULES_PK,
    RULES_SK,
    ExchangeModel,
    PointsBalanceModel,
    PointsEntryModel,
    PointsRefModel,
    PointsRulesModel,
    RewardModel,
    user_pk,
)

REWARD_FIELDS = ("reward_id", "kind", "title", "image_url", "points", "coupon_template_id", "stock", "exchanged",
                 "active", "created_at", "updated_at", "cash_fen")  # fmt: skip
EDITABLE_REWARD_FIELDS = ("title", "image_url", "points", "stock", "active", "updated_at", "cash_fen")
EXCHANGE_FIELDS = ("exchange_id", "reward_id", "kind", "title", "points_spent", "coupon_id", "at", "quantity",
                   "cash_fen", "order_id")  # fmt: skip
POSTING_ACTIONS = 3  # add_credit / add_debit: balance update, reference put, entry put


class PointsRepository(Protocol):
    def balance(self, user_id: str) -> int | None:
        """The user's balance; None when there is no such user."""

    def balance_read(self, user_id: str) -> PendingRead[int | None]:
        """`balance` as a read joined with others (dynamo.read_together: one BatchGetItem over tables)."""
        return PendingRead(None, None, lambda _: self.balance(user_id))

    def post(self, user_id: str, entry: dict[str, Any]) -> None:
        """Append the entry and move the balance by its delta at once: AlreadyPosted if its ref was posted,
        NotEnoughPoints for a debit over the balance, NotFound for no such user."""

    def ledger(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Entries newest first."""

    def create_reward(self, reward: dict[str, Any]) -> None: ...
    def update_reward(self, reward_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...
    def reward(self, reward_id: str) -> dict[str, Any] | None: ...
    def rewards(
        self, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def exchange(
        self,
        user_id: str,
        exchange: dict[str, Any],
        entry: dict[str, Any],
        reward: dict[str, Any],
        coupon: dict[str, Any] | None,
    ) -> None:
        """In one transaction: debit entry (balance >= cost), the reward (active; goods: stock > 0, taken one),
        the coupon issued (template: issued < total), the exchange record. NotEnoughPoints, OutOfStock, NotFound
        (reward withdrawn), or ExchangeChanged when the reward or template changed since they were read."""

    def exchanges(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    def points_rules(self) -> dict[str, Any] | None:
        """The rules an admin set, as stored; None when none was ever set (the defaults hold)."""

    def save_points_rules(self, rules: dict[str, Any]) -> None:
        """Replace the rules (every field of PointsRulesModel)."""


def _entry_sk(entry: dict[str, Any]) -> str:
    return f"{ENTRY_PREFIX}{entry['order_key']}#{entry['entry_id']}"


def _add_posting(transaction: TransactWrite, user_id: str, entry: dict[str, Any]) -> None:
    condition = PointsBalanceModel.pk.exists()
    if entry["delta"] < 0:
        condition = condition & (PointsBalanceModel.points_balance >= -entry["delta"])
    transaction.update(
        PointsBalanceModel(user_pk(user_id), PROFILE_SK),
        actions=[PointsBalanceModel.points_balance.add(entry["delta"])],
        condition=condition,
    )
    transaction.save(
        PointsRefModel(user_pk(user_id), f"{REF_PREFIX}{entry['ref']}", entry_id=entry["entry_id"]),
        condition=PointsRefModel.pk.does_not_exist(),
    )
    transaction.save(
        PointsEntryModel(
            user_pk(user_id),
            _entry_sk(entry),
            entry_id=entry["entry_id"],
            delta=entry["delta"],
            reason=entry["reason"],
            ref=entry["ref"],
            at=entry["at"],
        ),
        condition=PointsEntryModel.pk.does_not_exist(),
    )


def add_credit(transaction: TransactWrite, user_id: str, points: int, reason: str, ref: str) -> dict[str, Any]:
    """POSTING_ACTIONS actions: balance + points (the user exists), the ref (not posted before), the entry."""
    entry = new_entry(points, reason, ref, utcnow())
    _add_posting(transaction, user_id, entry)
    return entry


def add_debit(transaction: TransactWrite, user_id: str, points: int, reason: str, ref: str) -> dict[str, Any]:
    """POSTING_ACTIONS actions: balance - points (on condition balance >= points), the ref, the entry."""
    entry = new_entry(-points, reason, ref, utcnow())
    _add_posting(transaction, user_id, entry)
    return entry


def add_reward_stock(transaction: TransactWrite, reward_id: str, delta: int) -> None:
    """One action: a goods reward's stock moved by delta; taking (delta < 0) needs it active with that much left and
    counts the units exchanged, giving back (a cancelled exchange order) needs only that it exists."""
    actions: list[Any] = [RewardModel.stock.add(delta), RewardModel.exchanged.add(-delta)]
    taking = (RewardModel.active == True) & (RewardModel.stock >= -delta)  # noqa: E712
    condition = taking if delta < 0 else RewardModel.pk.exists()
    transaction.update(_reward_key(reward_id), actions=actions, condition=condition)


def add_exchange_record(transaction: TransactWrite, user_id: str, exchange: dict[str, Any]) -> None:
    """One action: the exchange's record in the user's list (put once)."""
    transaction.save(_exchange_item(user_id, exchange), condition=ExchangeModel.pk.does_not_exist())


def _exchange_item(user_id: str, exchange: dict[str, Any]) -> ExchangeModel:
    return ExchangeModel(
        user_pk(user_id),
        f"{EXCHANGE_PREFIX}{exchange['exchange_id']}",
        **{k: v for k, v in exchange.items() if k in EXCHANGE_FIELDS and k != "exchange_id" and v is not None},
        exchange_id=exchange["exchange_id"],
    )


def _condition_failed(error: TransactWriteError) -> None:
    """Re-raise a transaction failure that is not a failed condition; one cancelled by a concurrent transaction on
    the same items is ExchangeChanged (read again and retry)."""
    if any(cancelled_conditions(error)):
        return
    if getattr(error, "cancellation_reasons", None):
        raise ExchangeChanged() from error
    raise error


def _reward_dict(item: RewardModel) -> dict[str, Any]:
    reward = {name: getattr(item, name) for name in REWARD_FIELDS}
    for name in ("points", "stock", "exchanged", "cash_fen"):
        if reward[name] is not None:
            reward[name] = int(reward[name])
    reward["active"] = bool(reward["active"])
    reward["cash_fen"] = reward["cash_fen"] or 0
    return reward


def _reward_key(reward_id: str) -> RewardModel:
    return RewardModel(REWARDS_PK, f"{REWARD_PREFIX}{reward_id}")


class DynamoPointsRepository:
    """PointsRepository on the accounts table (balance, ledger, exchanges) and the marketing table (rewards)."""

    def balance(self, user_id: str) -> int | None:
        try:
            item = PointsBalanceModel.get(user_pk(user_id), PROFILE_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return int(item.points_balance or 0)

    def balance_read(self, user_id: str) -> PendingRead[int | None]:
        def parse(item: Any) -> int | None:
            return int(item.points_balance or 0) if isinstance(item, PointsBalanceModel) else None

        return PendingRead(PointsBalanceModel, (user_pk(user_id), PROFILE_SK), parse)

    def post(self, user_id: str, entry: dict[str, Any]) -> None:
        try:
            with TransactWrite(connection=connection()) as transaction:
                _add_posting(transaction, user_id, entry)
        except TransactWriteError as error:
            _condition_failed(error)
            # pynamodb sends puts before updates: which condition failed is told by reading again.
            if self.posted(user_id, entry["ref"]):
                raise AlreadyPosted() from error
            balance = self.balance(user_id)
            if balance is None:
                raise NotFound("No such user") from error
            if entry["delta"] < 0 and balance < -entry["delta"]:
                raise NotEnoughPoints() from error
            raise ExchangeChanged("The balance changed meanwhile, retry") from error

    def posted(self, user_id: str, ref: str) -> bool:
        try:
            PointsRefModel.get(user_pk(user_id), f"{REF_PREFIX}{ref}", consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def ledger(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results, last_key = newest_page(PointsEntryModel, user_pk(user_id), ENTRY_PREFIX, limit, start)
        items = [
            {"entry_id": e.entry_id, "delta": int(e.delta), "reason": e.reason, "ref": e.ref, "at": e.at}
            for e in results
        ]
        return items, last_key

    def create_reward(self, reward: dict[str, Any]) -> None:
        item = _reward_key(reward["reward_id"])
        for name in REWARD_FIELDS:
            if reward.get(name) is not None:
                setattr(item, name, reward[name])
        try:
            item.save(condition=RewardModel.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("A reward with this id exists", field="reward_id") from error
            raise

    def update_reward(self, reward_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        item = _reward_key(reward_id)
        actions = [getattr(RewardModel, name).set(changes[name]) for name in EDITABLE_REWARD_FIELDS if name in changes]
        try:
            item.update(actions=actions, condition=RewardModel.pk.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such reward") from error
            raise
        return _reward_dict(item)

    def reward(self, reward_id: str) -> dict[str, Any] | None:
        try:
            return _reward_dict(RewardModel.get(REWARDS_PK, f"{REWARD_PREFIX}{reward_id}", consistent_read=True))
        except DoesNotExist:
            return None

    def rewards(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results = RewardModel.query(
            REWARDS_PK,
            RewardModel.sk.startswith(REWARD_PREFIX),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )
        items = [_reward_dict(item) for item in results]
        return items, results.last_evaluated_key

    def exchange(
        self,
        user_id: str,
        exchange: dict[str, Any],
        entry: dict[str, Any],
        reward: dict[str, Any],
        coupon: dict[str, Any] | None,
    ) -> None:
        reward_actions: list[Any] = [RewardModel.exchanged.add(1)]
        reward_condition = (RewardModel.active == True) & (RewardModel.updated_at == reward["updated_at"])  # noqa: E712
        if reward["kind"] == "goods":
            reward_actions.append(RewardModel.stock.add(-1))
            reward_condition = reward_condition & (RewardModel.stock > 0)
        record = _exchange_item(user_id, exchange)
        try:
            with TransactWrite(connection=connection()) as transaction:
                _add_posting(transaction, user_id, entry)
                transaction.update(_reward_key(reward["reward_id"]), actions=reward_actions, condition=reward_condition)
                if coupon is not None:
                    add_issue(transaction, user_id, coupon)
                transaction.save(record, condition=ExchangeModel.pk.does_not_exist())
        except TransactWriteError as error:
            _condition_failed(error)
            # Which condition failed is told by reading again (pynamodb sends puts before updates).
            current = self.reward(reward["reward_id"])
            if current is None or not current["active"]:
                raise NotFound("No such reward") from error
            if current["kind"] == "goods" and (current["stock"] or 0) <= 0:
                raise OutOfStock("This reward is sold out") from error
            balance = self.balance(user_id)
            if balance is None:
                raise NotFound("No such user") from error
            if balance < reward["points"] and coupon is None:
                raise NotEnoughPoints(f"Not enough points: this reward costs {reward['points']}") from error
            # The service reads the reward and the template again: sold out, short of points, or just changed.
            raise ExchangeChanged() from error

    def exchanges(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results, last_key = newest_page(ExchangeModel, user_pk(user_id), EXCHANGE_PREFIX, limit, start)
        items = [
            {
                **{name: getattr(item, name) for name in EXCHANGE_FIELDS},
                "points_spent": int(item.points_spent),
                "quantity": int(item.quantity or 1),
                "cash_fen": int(item.cash_fen or 0),
            }
            for item in results
        ]
        return items, last_key

    def points_rules(self) -> dict[str, Any] | None:
        try:
            item = PointsRulesModel.get(RULES_PK, RULES_SK, consistent_read=True)
        except DoesNotExist:
            return None
        names = ("points_per_yuan_earned", "points_per_yuan_deduction", "max_deduction_share_percent")
        return {
            **{name: int(getattr(item, name)) for name in names},
            "summary": list(item.summary or []),
            "content": item.content or "",
            "updated_at": item.updated_at,
        }

    def save_points_rules(self, rules: dict[str, Any]) -> None:
        PointsRulesModel(RULES_PK, RULES_SK, **rules).save()
