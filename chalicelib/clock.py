"""The one clock: UTC now and the ISO 8601 form the API uses."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """2026-11-24T08:00:00Z: seconds precision, always UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | datetime) -> datetime:
    """An ISO 8601 time as an aware datetime (`Z` or an offset; naive means UTC); ValueError if it is not one."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def now_iso() -> str:
    return iso(utcnow())


def epoch_seconds() -> int:
    return int(utcnow().timestamp())
