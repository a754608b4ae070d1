"""The one retry of a read-then-conditional-write: run it again while a concurrent writer got in between."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import ChangedMeanwhile

T = TypeVar("T")
ATTEMPTS = 3


def retrying(
    attempt: Callable[[], T], attempts: int = ATTEMPTS, retry_on: type[Exception] | tuple[type[Exception], ...] = ()
) -> T:
    """`attempt()` (which reads, then writes on the condition that what it read is unchanged), again while it raises
    ChangedMeanwhile (or one of `retry_on`), at most `attempts` times; the last failure is raised (409)."""
    retried: tuple[type[Exception], ...] = (
        ChangedMeanwhile,
        *(retry_on if isinstance(retry_on, tuple) else (retry_on,)),
    )
    for remaining in range(attempts - 1, -1, -1):
        try:
            return attempt()
        except retried:
            if not remaining:
                raise
    raise AssertionError("attempts must be at least 1")
