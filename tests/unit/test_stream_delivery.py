"""The local stream poller handles a failing batch as the deployed event source mapping does (infra/template.yaml
Metadata.StreamConsumers): bisect, retry a single bad record a few times, report it and move on."""

from __future__ import annotations

from typing import Any

from local.aws.stream_poller import (
    StreamFailurePolicy,
    deliver_with_bisection,
    stream_failure_policy,
    stream_failures_queue,
)

POLICY = StreamFailurePolicy(bisect=True, max_retries=2, on_failure_queue="StreamFailuresQueue")


def records(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "dynamodb": {"SequenceNumber": str(i)}} for i, name in enumerate(names)]


class Handler:
    """A stream handler that fails every batch holding a poisoned record."""

    def __init__(self) -> None:
        self.processed: list[str] = []
        self.invocations = 0

    def __call__(self, batch: list[dict[str, Any]]) -> bool:
        self.invocations += 1
        if any(record["name"] == "poison" for record in batch):
            return False
        self.processed += [record["name"] for record in batch]
        return True


def test_one_bad_record_is_isolated_retried_reported_and_skipped_while_the_others_go_through() -> None:
    handler = Handler()
    given_up: list[tuple[list[str], int]] = []

    deliver_with_bisection(
        records("a", "b", "c", "poison", "d", "e", "f", "g"),
        handler,
        lambda batch, attempts: given_up.append(([r["name"] for r in batch], attempts)),
        POLICY,
        lambda _seconds: False,
    )

    assert set(handler.processed) == {"a", "b", "c", "d", "e", "f", "g"}
    assert given_up == [(["poison"], 3)]
    assert handler.invocations <= 12


def test_a_healthy_batch_is_delivered_once() -> None:
    handler = Handler()

    deliver_with_bisection(records("a", "b"), handler, lambda *_: None, POLICY, lambda _seconds: False)

    assert handler.processed == ["a", "b"]
    assert handler.invocations == 1


def test_the_local_policy_is_the_one_the_template_deploys() -> None:
    policy = stream_failure_policy()

    assert policy.bisect is True
    assert 0 < policy.max_retries <= 10
    assert stream_failures_queue("local") == "shop-local-stream-failures"
