"""The local stage's data across a stop and a start: moto's DynamoDB tables and S3 objects, kept in .local-state/.

moto holds everything in memory. On a normal stop (Ctrl-C) the runtime writes every table's items (DynamoDB JSON)
and every object of the stage's buckets to `.local-state/<stage>/data/`; the next start, once the stack's empty
tables and buckets exist again, loads them back. Items go straight into moto's tables, past their streams, so no
stream handler sees a restored item as a new write (the search index, the counters and the outbox saw them once).
SQS messages and Step Functions executions are not kept: the order sweeper starts again the payment wait of every
unpaid order and the execution of every approved refund (chalicelib/orders/sweeper.py `resume`); the timers after
payment are the sweeper's anyway.

The data directory is replaced at once (written beside, then renamed): a stop cut short leaves the previous state.
`FRESH=1` deletes it before the start.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends

from local.aws.install_secret import LOCAL_STATE_DIR
from local.aws.moto_server import _MOTO_LOCK, REGION

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class StateSummary:
    """What was kept or loaded: tables' items and S3 objects."""

    items: int
    objects: int
    saved_at: str = ""

    def __str__(self) -> str:
        return f"{self.items} items, {self.objects} objects" + (f" (saved {self.saved_at})" if self.saved_at else "")


def state_dir(stage: str) -> Path:
    """Where a stage keeps its data: $LOCAL_STATE_DIR/<stage>/data (default .local-state/ in the repository)."""
    root = Path(os.environ.get("LOCAL_STATE_DIR") or LOCAL_STATE_DIR)
    return root / stage / "data"


def forget(stage: str) -> None:
    """FRESH=1: the stage starts from nothing."""
    shutil.rmtree(state_dir(stage), ignore_errors=True)


def _prefixes(stage: str) -> tuple[str, ...]:
    return (f"shop-{stage}-",)


def _ours(name: str, stage: str) -> bool:
    return name.startswith(_prefixes(stage))


def save(stage: str) -> StateSummary:
    """Write the stage's tables and buckets to its data directory (replacing the previous state at once)."""
    target = state_dir(stage)
    staging = target.with_name("data.saving")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "dynamodb").mkdir(parents=True)
    (staging / "s3").mkdir()
    items = objects = 0
    with _MOTO_LOCK:
        for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables.items():
            if not _ours(name, stage):
                continue
            rows = [item.to_json()["Attributes"] for item in table.all_items()]
            _write_json(staging / "dynamodb" / f"{name}.json", {"table": name, "items": rows})
            items += len(rows)
        content_types: dict[str, dict[str, dict[str, str]]] = {}
        for bucket_name, bucket in s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets.items():
            if not _ours(bucket_name, stage):
                continue
            folder = staging / "s3" / bucket_name
            folder.mkdir()
            kinds = content_types.setdefault(bucket_name, {})
            for key_name, key in bucket.keys.items():
                if not hasattr(key, "value"):  # a delete marker
                    continue
                (folder / quote(key_name, safe="")).write_bytes(key.value)
                kinds[key_name] = dict(key.metadata)
                objects += 1
    saved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest = {"version": FORMAT_VERSION, "stage": stage, "saved_at": saved_at, "metadata": content_types}
    _write_json(staging / MANIFEST, {**manifest, "items": items, "objects": objects})
    previous = target.with_name("data.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return StateSummary(items, objects, saved_at)


def load(stage: str) -> StateSummary | None:
    """Put the kept items and objects back into the stage's (empty, just provisioned) tables and buckets; None when
    there is no kept state (a first start, or FRESH=1)."""
    source = state_dir(stage)
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != FORMAT_VERSION:
        raise RuntimeError(f"{source} was written by another version of the runtime: start with FRESH=1")
    items = objects = 0
    with _MOTO_LOCK:
        tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
        for path in sorted((source / "dynamodb").glob("*.json")):
            kept = json.loads(path.read_text(encoding="utf-8"))
            table = tables.get(kept["table"])
            if table is None:  # a table the template no longer has
                continue
            items += _put_quietly(table, kept["items"])
        buckets = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for bucket_name, kinds in manifest.get("metadata", {}).items():
            if bucket_name not in buckets.buckets:
                continue
            for file in sorted((source / "s3" / bucket_name).iterdir()):
                key_name = unquote(file.name)
                key = buckets.put_object(bucket_name, key_name, file.read_bytes())
                key.set_metadata(kinds.get(key_name, {}))
                objects += 1
    return StateSummary(items, objects, str(manifest.get("saved_at", "")))


def _put_quietly(table: Any, rows: list[dict[str, Any]]) -> int:
    """The rows into the table without stream records (they were streamed when first written)."""
    shard, table.stream_shard = table.stream_shard, None
    try:
        for row in rows:
            table.put_item(row)
    finally:
        table.stream_shard = shard
    return len(rows)


def _write_json(path: Path, body: Any) -> None:
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
