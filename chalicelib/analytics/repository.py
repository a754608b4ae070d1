"""The analytics table: seen-event markers and roll-up increments written together in one transaction, and reads."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.analytics.models import BuyerDayModel, RollupModel, SeenEventModel, seen_pk
from chalicelib.analytics.rollup import BUYER_DAY_PK, DAY_PK, Increment
from chalicelib.dynamo import cancelled_conditions, connection

_T = TypeVar("_T")
RANGE_END = "~"  # sorts after every character of our ids, so "<last day>#~" ends a day's keys
# Roll-up and buyer partitions are write-sharded: a transaction's counters go to one of SHARDS partitions of each
# kind (chosen from its first marker), a buyer marker to the one of its user. Reads query every shard (in parallel)
# plus the unsharded partition older versions wrote, and add the rows of one day/product/category up.
SHARDS = 32
READERS = 8


class AnalyticsRepository(Protocol):
    """Where the consumer records what it counted and the reports read it back."""

    def seen(self, markers: list[str]) -> set[str]: ...
    def record(self, markers: list[tuple[str, str]], increments: list[Increment], expires_at: int) -> set[str]:
        """Add the increments and put the markers (marker, event type) in one transaction; return the markers that
        already existed (then nothing at all was written)."""
        ...

    def add_buyer(self, day: str, user_id: str) -> bool:
        """Mark the user as a buyer of the day and ADD 1 to the day's buyers, once; False if already marked."""
        ...

    def rollups(self, pk: str, first: str, last: str) -> list[dict[str, Any]]: ...
    def buyers(self, first: str, last: str) -> set[str]: ...
    def buyer_count(self, first: str, last: str) -> int:
        """Distinct buyers of the range."""
        ...


def _rollup_dict(item: RollupModel) -> dict[str, Any]:
    data: dict[str, Any] = {"sk": item.sk}
    for name, value in item.attribute_values.items():
        if name in ("pk", "sk"):
            continue
        data[name] = int(value) if isinstance(value, int | float) else value
    return data


class DynamoAnalyticsRepository:
    """The analytics table through pynamodb; every write is a conditional put or an atomic ADD."""

    def seen(self, markers: list[str]) -> set[str]:
        if not markers:
            return set()
        keys = [(seen_pk(marker), "SEEN") for marker in dict.fromkeys(markers)]
        found = SeenEventModel.batch_get(keys, consistent_read=True)
        return {item.pk.removeprefix("EVENT#") for item in found}

    def record(self, markers: list[tuple[str, str]], increments: list[Increment], expires_at: int) -> set[str]:
        shard = _shard(markers[0][0] if markers else "")
        try:
            with TransactWrite(connection=connection()) as transaction:
                for marker, event_type in markers:
                    transaction.save(
                        SeenEventModel(seen_pk(marker), type=event_type, expires_at=expires_at),
                        condition=SeenEventModel.pk.does_not_exist(),
                    )
                for increment in increments:
                    transaction.update(
                        RollupModel(sharded(increment.pk, shard), increment.sk), actions=_actions(increment)
                    )
        except TransactWriteError as error:
            refused = cancelled_conditions(error)[: len(markers)]
            already = {marker for (marker, _), failed in zip(markers, refused, strict=False) if failed}
            if not already:
                raise
            return already
        return set()

    def add_buyer(self, day: str, user_id: str) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                shard = _shard(user_id)
                transaction.save(
                    BuyerDayModel(sharded(BUYER_DAY_PK, shard), f"{day}#{user_id}", user_id=user_id),
                    condition=BuyerDayModel.pk.does_not_exist(),
                )
                transaction.update(RollupModel(sharded(DAY_PK, shard), day), actions=[RollupModel.buyers.add(1)])
        except TransactWriteError as error:
            if any(cancelled_conditions(error)[:1]):
                return False
            raise
        return True

    def rollups(self, pk: str, first: str, last: str) -> list[dict[str, Any]]:
        """One row per sk: the shards' rows of a day (product, category) added up."""
        end = last if pk == DAY_PK else f"{last}#{RANGE_END}"

        def query(partition: str) -> list[RollupModel]:
            return list(RollupModel.query(partition, RollupModel.sk.between(first, end)))

        merged: dict[str, dict[str, Any]] = {}
        for items in _each_shard(pk, query):
            for item in items:
                row = _rollup_dict(item)
                target = merged.setdefault(row["sk"], {"sk": row["sk"]})
                for name, value in row.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        target[name] = int(target.get(name) or 0) + value
                    elif value is not None and name != "sk":
                        target[name] = value
        return [merged[sk] for sk in sorted(merged)]

    def buyers(self, first: str, last: str) -> set[str]:
        condition = BuyerDayModel.sk.between(first, f"{last}#{RANGE_END}")

        def query(partition: str) -> set[str]:
            return {item.user_id for item in BuyerDayModel.query(partition, condition)}

        return set().union(*_each_shard(BUYER_DAY_PK, query))

    def buyer_count(self, first: str, last: str) -> int:
        return len(self.buyers(first, last))


def sharded(pk: str, shard: int) -> str:
    return f"{pk}#{shard:02d}"


def _shard(text: str) -> int:
    return zlib.crc32(text.encode()) % SHARDS


def _each_shard(pk: str, query: Callable[[str], _T]) -> list[_T]:
    partitions = [sharded(pk, shard) for shard in range(SHARDS)] + [pk]  # + the unsharded one of older versions
    with ThreadPoolExecutor(READERS) as pool:
        return list(pool.map(query, partitions))


def _actions(increment: Increment) -> list[Any]:
    actions: list[Any] = [getattr(RollupModel, name).add(value) for name, value in increment.counters.items()]
    actions += [getattr(RollupModel, name).set(value) for name, value in increment.labels.items()]
    return actions
