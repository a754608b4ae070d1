"""Shared pynamodb plumbing: table metadata from settings and the translation of DynamoDB failures to domain errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from chalicelib.aws import lean_client, on_reset_clients
from chalicelib.config import get_settings


def table_meta(table_name: str) -> Any:
    """A pynamodb `Meta` for one of our tables (the endpoint comes from AWS_ENDPOINT_URL through botocore)."""
    settings = get_settings()

    class Meta:
        pass

    Meta.table_name = table_name  # type: ignore[attr-defined]
    Meta.region = settings.region  # type: ignore[attr-defined]
    return Meta


def stored_int(text: str) -> int:
    """A raw item's number ({"N": text}) as an int, one stored as "12.0" too (the hot reads parse raw items)."""
    return int(text) if text.lstrip("-").isdigit() else int(float(text))


def set_or_remove(attribute: Any, value: Any) -> Any:
    """An update action setting an attribute, or removing it when the value is None (no nulls are stored)."""
    return attribute.remove() if value is None else attribute.set(value)


@cache
def connection() -> Connection:
    """One pynamodb Connection per process for transactions (a new one would build a botocore client each time)."""
    return Connection(region=get_settings().region)


on_reset_clients(connection.cache_clear)


def cancelled_conditions(error: TransactWriteError) -> list[bool]:
    """For each action of a cancelled transaction, whether its condition is what failed."""
    reasons: list[Any] = list(getattr(error, "cancellation_reasons", None) or [])
    return [bool(reason) and getattr(reason, "code", None) == "ConditionalCheckFailed" for reason in reasons]


def cancelled_codes(error: ClientError) -> list[bool]:
    """For each action of a raw TransactWriteItems cancelled (its ClientError), whether its condition is what
    failed (cancelled_conditions of a call made through pynamodb)."""
    reasons: list[dict[str, Any]] = list(error.response.get("CancellationReasons") or [])
    return [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]


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


T = TypeVar("T")


@dataclass(frozen=True)
class PendingRead(Generic[T]):
    """One item a repository wants read, and how it reads the item back (None when absent): several of them, of any
    tables, are read by one BatchGetItem (read_together). A fake repository gives `model` None and answers in
    `parse`. `parse` gets the model object, or with `raw` the raw DynamoDB item, for a repository's own direct parse
    of it (hot paths: pynamodb's per-attribute deserialize costs several times as much). `projection`: the only
    attributes wanted (the keys are added), so that less is sent, parsed and read; None: all of them."""

    model: type[Model] | None
    key: tuple[str, str] | None
    parse: Callable[[Any], T]
    consistent: bool = True
    raw: bool = False
    projection: tuple[str, ...] | None = None


def _projection(names: list[str]) -> dict[str, Any]:
    """A ProjectionExpression of these attributes, each by a placeholder (some names are reserved words)."""
    return {
        "ProjectionExpression": ", ".join(f"#p{number}" for number in range(len(names))),
        "ExpressionAttributeNames": {f"#p{number}": name for number, name in enumerate(names)},
    }


def read_together(*reads: PendingRead[Any]) -> list[Any]:
    """The answers of these reads (in their order) from ONE BatchGetItem over their tables (<= 100 keys), on the hot
    paths' client (aws.lean_client); more calls only for keys DynamoDB leaves unprocessed under throttling."""
    wanted = [read for read in reads if read.model is not None and read.key is not None]
    found: dict[tuple[str, str, str], Any] = {}
    if wanted:
        request: dict[str, Any] = {}
        names: dict[str, tuple[str, str]] = {}
        projections: dict[str, set[str] | None] = {}
        for read in wanted:
            assert read.model is not None and read.key is not None
            meta = read.model.Meta
            hash_name = read.model._hash_key_attribute().attr_name
            range_name = read.model._range_key_attribute().attr_name
            names[meta.table_name] = (hash_name, range_name)
            table = request.setdefault(meta.table_name, {"Keys": [], "ConsistentRead": read.consistent})
            key = {hash_name: {"S": read.key[0]}, range_name: {"S": read.key[1]}}
            if key not in table["Keys"]:
                table["Keys"].append(key)
            table["ConsistentRead"] = table["ConsistentRead"] or read.consistent
            wanted_names = projections.setdefault(meta.table_name, set())
            if read.projection is None or wanted_names is None:
                projections[meta.table_name] = None  # one read of the table wants every attribute: all of them
            else:
                wanted_names.update((hash_name, range_name, *read.projection))
        for table_name, projected in projections.items():
            if projected is not None:
                request[table_name].update(_projection(sorted(projected)))
        for attempt in range(8):
            answer = lean_client("dynamodb").batch_get_item(RequestItems=request)
            for table_name, items in answer.get("Responses", {}).items():
                for item in items:
                    hash_name, range_name = names[table_name]
                    found[(table_name, item[hash_name]["S"], item[range_name]["S"])] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
    results: list[Any] = []
    for read in reads:
        if read.model is None or read.key is None:
            results.append(read.parse(None))
            continue
        raw = found.get((read.model.Meta.table_name, *read.key))
        if raw is None:
            results.append(read.parse(None))
        else:
            results.append(read.parse(raw if read.raw else read.model.from_raw_data(raw)))
    return results


@dataclass(frozen=True)
class PendingSlice(Generic[T]):
    """Items of one partition whose sort keys lie in [low, high], and how a repository reads them back (from raw
    DynamoDB items, with its own models): slices of one partition, of any contexts, are read by one Query over the
    range that holds them all (read_slices). A fake repository gives `table` None and answers in `parse`."""

    table: str | None
    hash_key: str
    low: str
    high: str
    parse: Callable[[list[dict[str, Any]]], T]


def read_slices(*slices: PendingSlice[Any]) -> list[Any]:
    """The answers of these slices (in their order) from ONE strongly consistent Query per table and partition (more
    pages only past 1 MB), over the smallest sort key range holding them all; items between the slices are read and
    dropped, so slices are chosen near each other (docs/data-model.md lists the user partition's sort keys)."""
    groups: dict[tuple[str, str], list[PendingSlice[Any]]] = {}
    for each in slices:
        if each.table is not None:
            groups.setdefault((each.table, each.hash_key), []).append(each)
    items: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (table, hash_key), group in groups.items():
        low, high = min(each.low for each in group), max(each.high for each in group)
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": {"S": hash_key}, ":low": {"S": low}, ":high": {"S": high}},
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        while True:
            answer = lean_client("dynamodb").query(**request)
            found.extend(answer.get("Items", []))
            if not answer.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        items[(table, hash_key)] = found
    results: list[Any] = []
    for each in slices:
        if each.table is None:
            results.append(each.parse([]))
            continue
        within = [i for i in items[(each.table, each.hash_key)] if each.low <= i["sk"]["S"] <= each.high]
        results.append(each.parse(within))
    return results
