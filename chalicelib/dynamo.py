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
