"""Shared pynamodb plumbing: table metadata from settings and the translation of DynamoDB failures to domain errors."""

from __future__ import annotations

from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

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


def cancelled_conditions(error: TransactWriteError) -> list[bool]:
    """For each action of a cancelled transaction, whether its condition is what failed."""
    reasons: list[Any] = list(getattr(error, "cancellation_reasons", None) or [])
    return [bool(reason) and getattr(reason, "code", None) == "ConditionalCheckFailed" for reason in reasons]
