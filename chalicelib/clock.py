"""The one clock: UTC now and the ISO 8601 form the API uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has one time zone and no daylight saving
# How far this thread's clock is set back (the demo seed replays its history through the services); zero elsewhere.
_offset: ContextVar[timedelta] = ContextVar("clock_offset", default=timedelta(0))


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset.get()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Within the block, this thread's (this context's) clock reads `moment` and runs on from it; other threads
    keep the real time. For replaying past activity through the real services (the demo's history), never on a
    request path."""
    token = _offset.set(moment - datetime.now(UTC))
    try:
        yield
    finally:
        _offset.reset(token)


def iso(moment: datetime) -> str:
    """2026-11-24T08:00:00Z: seconds precision, always UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_iso(moment: datetime) -> str:
    """2026-11-24T08:00:00.123456Z: to the microsecond, for ordering events that share a second (sortable)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds_iso(value: str) -> str:
    """A stored time as iso() shows it: precise_iso's form by cutting its fraction (no parse on hot paths), any other
    form parsed."""
    if len(value) == 27 and value[19] == "." and value[26] == "Z":
        return value[:19] + "Z"
    return iso(parse_iso(value))


def parse_iso(value: str | datetime) -> datetime:
    """An ISO 8601 time as an aware datetime (`Z` or an offset; naive means UTC); ValueError if it is not one."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shanghai_day(moment: datetime) -> str:
    """The Asia/Shanghai calendar day of a moment, yyyy-mm-dd: the day the shop's customers live in."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def shanghai_month(moment: str | datetime) -> str:
    """The Asia/Shanghai calendar month of a moment (a datetime or an ISO time), yyyy-mm."""
    return parse_iso(moment).astimezone(SHANGHAI).strftime("%Y-%m")


def now_iso() -> str:
    return iso(utcnow())


def epoch_seconds() -> int:
    return int(utcnow().timestamp())
