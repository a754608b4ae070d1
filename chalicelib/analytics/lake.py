"""The raw event lake: cleaned events as JSON lines in S3 under events/dt=YYYY-MM-DD/, and reading them back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.aws import client
from chalicelib.config import get_settings

PREFIX = "events/"


def object_key(day: str, event_ids: list[str]) -> str:
    """Named after the events it holds: a batch delivered again writes the same object again, not a second one."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]
    return f"{PREFIX}dt={day}/{digest}.jsonl"


def day_prefix(day: str) -> str:
    return f"{PREFIX}dt={day}/"


class Lake(Protocol):
    """Where cleaned events are kept, one JSON object per line, partitioned by business day."""

    def put(self, key: str, lines: list[dict[str, Any]]) -> None: ...
    def keys(self, prefix: str) -> list[str]: ...
    def size(self, prefix: str) -> int:
        """The bytes of the objects under `prefix`."""
        ...

    def lines(self, key: str) -> list[dict[str, Any]]: ...
    def put_bytes(self, key: str, body: bytes, content_type: str) -> None: ...
    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, None when there is no such object."""
        ...


class S3Lake:
    """The analytics bucket (ANALYTICS_BUCKET)."""

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or get_settings().analytics_bucket

    def put(self, key: str, lines: list[dict[str, Any]]) -> None:
        body = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
        client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/x-ndjson"
        )

    def keys(self, prefix: str) -> list[str]:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def size(self, prefix: str) -> int:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sum(int(item["Size"]) for page in pages for item in page.get("Contents", []))

    def lines(self, key: str) -> list[dict[str, Any]]:
        body = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get_bytes(self, key: str) -> bytes | None:
        s3 = client("s3")
        try:
            return bytes(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None


def events_of_days(lake: Lake, days: list[str]) -> Iterator[dict[str, Any]]:
    """The lake's events of these business days, each event once (the lake is at-least-once, see docs/analytics.md)."""
    seen: set[str] = set()
    for day in days:
        for key in sorted(lake.keys(day_prefix(day))):
            for line in lake.lines(key):
                event_id = str(line.get("event_id"))
                if event_id in seen:
                    continue
                seen.add(event_id)
                yield line


def read_recent_events(days: int, lake: Lake, until: date | None = None) -> Iterator[dict[str, Any]]:
    """The cleaned events of the last `days` business days (Asia/Shanghai, today included), oldest day first, each
    event once, as the dicts of the event catalogue (docs/analytics.md). For the recommendations refresh."""
    from chalicelib.analytics.rollup import today

    last = until or today()
    chosen = [(last - timedelta(days=offset)).isoformat() for offset in range(max(days, 0) - 1, -1, -1)]
    return events_of_days(lake, chosen)
