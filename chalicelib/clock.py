"""The one clock: UTC now and the ISO 8601 form the API uses."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """2026-11-24T08:00:00Z: seconds precision, always UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(utcnow())


def epoch_seconds() -> int:
    return int(utcnow().timestamp())
