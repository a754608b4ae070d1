"""Shared pynamodb plumbing: table metadata from settings and the translation of DynamoDB failures to domain errors."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from chalicelib.aws import on_reset_clients
from chalicelib.config import get_settings


def table_meta(table_name: str) -> Any:
    """A pynamodb `Meta` for one of our tables (the endpoint comes from AWS_ENDPOINT_URL through botocore)."""
    settings = get_settings()

    class Meta:
        pass

    Meta.table_name = table_name  # type: ignore[attr-defined]
    Meta.region = settings.region  # type: ignore[attr-defined]
    return Meta


@cache
def connection() -> Connection:
    """One pynamodb Connection per process for transactions (a new one would build a botocore client each time)."""
    return Connection(region=get_settings().region)


on_reset_clients(connection.cache_clear)


def cancelled_conditions(error: TransactWriteError) -> list[bool]:
    """For each action of a cancelled transaction, whether its condition is what failed."""
    reasons: list[Any] = list(getattr(error, "cancellation_reasons", None) or [])
    return [bool(reason) and getattr(reason, "code", None) == "ConditionalCheckFailed" for reason in reasons]


M = TypeVar("M", bound=Model)


def newest_page(
    model: type[M],
    hash_key: str,
    prefix: str,
    limit: int | None,
    start: dict[str, Any] | None,
    consistent_read: bool = False,
) -> tuple[list[M], dict[str, Any] | None]:
    """One page of a partition's items whose sort key starts with prefix, newest (highest key) first, and the
    LastEvaluatedKey to continue from (None when there is no more, or when no limit was asked for)."""
    sort_key: Any = model._range_key_attribute()
    results = model.query(
        hash_key,
        sort_key.startswith(prefix),
        scan_index_forward=False,
        consistent_read=consistent_read,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    items = list(results)
    return items, results.last_evaluated_key if limit is not None else None


def merged_page(
    model: type[M], hash_keys: list[str], limit: int, start: dict[str, Any] | None, ascending: bool
) -> tuple[list[M], dict[str, Any] | None]:
    """One page over several partitions read as one list ordered by sort key (a sharded index: its writes spread
    over the partitions, its reads query each and merge), and the position to continue from (None at the end).

    The position says, per partition, the last sort key handed out and whether the partition is read to its end."""
    sort_key: Any = model._range_key_attribute()
    state: dict[str, Any] = start or {key: {"after": None, "done": False} for key in hash_keys}
    fetched: dict[str, list[M]] = {}
    exhausted: dict[str, bool] = {}
    for key in hash_keys:
        position = state.get(key) or {"after": None, "done": False}
        if position.get("done"):
            continue
        after = position.get("after")
        condition = None if after is None else (sort_key > after if ascending else sort_key < after)
        items = list(model.query(key, condition, scan_index_forward=ascending, limit=limit, page_size=limit))
        fetched[key], exhausted[key] = items, len(items) < limit
    candidates = sorted(
        ((getattr(item, sort_key.attr_name), key, item) for key, items in fetched.items() for item in items),
        key=lambda entry: entry[0],
        reverse=not ascending,
    )[:limit]
    following = {key: dict(state.get(key) or {"after": None, "done": False}) for key in hash_keys}
    for key, items in fetched.items():
        taken = [sk for sk, from_key, _ in candidates if from_key == key]
        if taken:
            following[key]["after"] = taken[-1]
        following[key]["done"] = exhausted[key] and len(taken) == len(items)
    more = not all(position["done"] for position in following.values())
    return [item for _, _, item in candidates], following if more else None
