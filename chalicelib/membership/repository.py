"""The only module touching the members club's models (and, in a check-in's transaction, the points ledger through
chalicelib.points.repository.add_credit)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import PendingSlice, connection, newest_page
from chalicelib.errors import ChangedMeanwhile
from chalicelib.ids import new_id
from chalicelib.membership.domain import AlreadyCheckedIn
from chalicelib.membership.models import (
    CHECKIN_PREFIX,
    GROWTH_ENTRY_PREFIX,
    GROWTH_REF_PREFIX,
    GROWTH_SK,
    LEVELS_PK,
    LEVELS_SK,
    LevelTableModel,
    MemberItemModel,
    user_pk,
)
from chalicelib.points.repository import add_credit


class MembershipRepository(Protocol):
    def level_table(self) -> tuple[list[dict[str, Any]], dict[str, int]] | None: ...
    def save_level_table(self, levels: list[dict[str, Any]], rules: dict[str, int], at: str) -> None: ...
    def growth(self, user_id: str) -> int: ...
    def growth_slice(self, user_id: str) -> PendingSlice[int]:
        """`growth` as a slice of the user's partition, read with others (dynamo.read_slices)."""

    def growth_entries(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def add_growth(self, user_id: str, delta: int, reason: str, ref: str, at: str, seen: int) -> bool:
        """Move growth from seen by delta with a ledger entry; False if (reason, ref) was counted before;
        ChangedMeanwhile if growth is not seen any more."""

    def last_checkin(self, user_id: str) -> tuple[str, int] | None:
        """The day and streak of the user's latest check-in."""

    def check_in(self, user_id: str, day: str, streak: int, points: int, growth: int, seen: int, at: str) -> None:
        """The day's check-in, its points and its growth, at once; AlreadyCheckedIn if the day has one."""


def _growth_condition(seen: int) -> Condition:
    if seen == 0:
        return MemberItemModel.growth.does_not_exist() | (MemberItemModel.growth == 0)
    return MemberItemModel.growth == seen


def _add_growth(
    transaction: TransactWrite, user_id: str, delta: int, reason: str, ref: str, at: str, seen: int
) -> None:
    """3 actions: the growth moved (on its seen value), the source's guard, the ledger entry."""
    pk = user_pk(user_id)
    transaction.update(
        MemberItemModel(pk, GROWTH_SK),
        actions=[MemberItemModel.growth.set(seen + delta)],
        condition=_growth_condition(seen),
    )
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_REF_PREFIX}{reason}#{ref}"), condition=MemberItemModel.sk.does_not_exist()
    )
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_ENTRY_PREFIX}{at}#{new_id('gr')}", delta=delta, reason=reason, ref=ref, at=at)
    )


GROWTH_ACTIONS = 3


def add_growth_credit(transaction: TransactWrite, user_id: str, growth: int, reason: str, ref: str, at: str) -> None:
    """Growth earned (growth > 0) inside a caller's transaction (reviews publishing), GROWTH_ACTIONS actions: the
    growth added, the source's guard (a second posting of it cancels the transaction), the ledger entry."""
    pk = user_pk(user_id)
    transaction.update(MemberItemModel(pk, GROWTH_SK), actions=[MemberItemModel.growth.add(growth)])
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_REF_PREFIX}{reason}#{ref}"), condition=MemberItemModel.sk.does_not_exist()
    )
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_ENTRY_PREFIX}{at}#{new_id('gr')}", delta=growth, reason=reason, ref=ref, at=at)
    )


def add_growth_debit(transaction: TransactWrite, user_id: str, growth: int, reason: str, ref: str, at: str) -> None:
    """Growth taken back (growth > 0) inside a caller's transaction (a refund), GROWTH_ACTIONS actions: the growth
    taken if the member has that much (else the transaction is cancelled), the source's guard, the ledger entry."""
    pk = user_pk(user_id)
    transaction.update(
        MemberItemModel(pk, GROWTH_SK),
        actions=[MemberItemModel.growth.add(-growth)],
        condition=MemberItemModel.growth >= growth,
    )
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_REF_PREFIX}{reason}#{ref}"), condition=MemberItemModel.sk.does_not_exist()
    )
    transaction.save(
        MemberItemModel(pk, f"{GROWTH_ENTRY_PREFIX}{at}#{new_id('gr')}", delta=-growth, reason=reason, ref=ref, at=at)
    )


class DynamoMembershipRepository:
    def level_table(self) -> tuple[list[dict[str, Any]], dict[str, int]] | None:
        try:
            item = LevelTableModel.get(LEVELS_PK, LEVELS_SK)
        except DoesNotExist:
            return None
        return list(item.levels), dict(item.rules)

    def save_level_table(self, levels: list[dict[str, Any]], rules: dict[str, int], at: str) -> None:
        LevelTableModel(LEVELS_PK, LEVELS_SK, levels=levels, rules=rules, updated_at=at).save()

    def growth(self, user_id: str) -> int:
        try:
            item = MemberItemModel.get(user_pk(user_id), GROWTH_SK, consistent_read=True)
        except DoesNotExist:
            return 0
        return int(item.growth or 0)

    def growth_slice(self, user_id: str) -> PendingSlice[int]:
        def parse(raw: list[dict[str, Any]]) -> int:
            return int(MemberItemModel.from_raw_data(raw[0]).growth or 0) if raw else 0

        return PendingSlice(MemberItemModel.Meta.table_name, user_pk(user_id), GROWTH_SK, GROWTH_SK, parse)

    def growth_entries(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = newest_page(MemberItemModel, user_pk(user_id), GROWTH_ENTRY_PREFIX, limit, start)
        return [{"delta": int(i.delta or 0), "reason": i.reason, "ref": i.ref, "at": i.at} for i in items], last_key

    def add_growth(self, user_id: str, delta: int, reason: str, ref: str, at: str, seen: int) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                _add_growth(transaction, user_id, delta, reason, ref, at, seen)
        except TransactWriteError as error:
            try:  # counted before? (read back: not every DynamoDB stand-in says which condition failed)
                MemberItemModel.get(user_pk(user_id), f"{GROWTH_REF_PREFIX}{reason}#{ref}", consistent_read=True)
            except DoesNotExist:
                raise ChangedMeanwhile() from error
            return False
        return True

    def last_checkin(self, user_id: str) -> tuple[str, int] | None:
        items, _ = newest_page(MemberItemModel, user_pk(user_id), CHECKIN_PREFIX, 1, None, consistent_read=True)
        if not items:
            return None
        return items[0].sk.removeprefix(CHECKIN_PREFIX), int(items[0].streak or 0)

    def check_in(self, user_id: str, day: str, streak: int, points: int, growth: int, seen: int, at: str) -> None:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(
                    MemberItemModel(user_pk(user_id), f"{CHECKIN_PREFIX}{day}", streak=streak, at=at),
                    condition=MemberItemModel.sk.does_not_exist(),
                )
                if growth:
                    _add_growth(transaction, user_id, growth, "checkin", day, at, seen)
                if points:
                    add_credit(transaction, user_id, points, "checkin", f"checkin:{day}")
        except TransactWriteError as error:
            try:
                MemberItemModel.get(user_pk(user_id), f"{CHECKIN_PREFIX}{day}", consistent_read=True)
            except DoesNotExist:
                raise ChangedMeanwhile() from error
            raise AlreadyCheckedIn() from error
