"""Refreshes staff ask for: recorded RUNNING, queued (the refresh takes minutes: never on the request), then run by
the queue's consumer, which records SUCCEEDED or FAILED once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Protocol

from chalicelib.aws import client
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.errors import DependencyUnavailable, NotFound
from chalicelib.ids import new_id
from chalicelib.recommend.repository import RefreshRuns

RUN_KEPT = timedelta(days=30)


class RefreshQueue(Protocol):
    def request(self, run_id: str) -> None: ...


class SqsRefreshQueue:
    """RefreshQueue on the recommend-refresh queue (its consumer: recommend.events.run_recommendation_refresh)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def request(self, run_id: str) -> None:
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"run_id": run_id}))


def start(runs: RefreshRuns, queue: RefreshQueue, requested_by: str) -> dict[str, Any]:
    """A refresh now, besides the schedule: the run is recorded, then queued; if it cannot be queued it is FAILED
    at once (503), never left RUNNING."""
    run = {"run_id": new_id("rr"), "status": "RUNNING", "started_at": now_iso(), "requested_by": requested_by}
    runs.start(run, epoch_seconds() + int(RUN_KEPT.total_seconds()))
    try:
        queue.request(run["run_id"])
    except Exception as error:
        runs.finish(run["run_id"], "FAILED", now_iso())
        raise DependencyUnavailable("Could not queue the refresh; try again") from error
    return {key: run[key] for key in ("run_id", "status", "started_at")} | {"finished_at": None}


def status(runs: RefreshRuns, run_id: str) -> dict[str, Any]:
    found = runs.get(run_id)
    if found is None:
        raise NotFound("No such refresh run")
    return found
