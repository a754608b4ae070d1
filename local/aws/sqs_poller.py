"""The SQS event source: a thread per on_sqs_message handler, delivering batches as Lambda's poller does."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from chalice.app import Chalice, SQSEventConfig

from chalicelib.aws import new_client
from local.aws.lambda_dispatch import deployed_name, invoke_chalice_function

logger = logging.getLogger(__name__)

# A short long-poll keeps shutdown quick; the moto server waits it out without holding its lock.
RECEIVE_WAIT_SECONDS = 1
IDLE_SLEEP_SECONDS = 0.2
WINDOW_POLL_SECONDS = 0.1
BACKLOG = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")


def sqs_handlers(app: Chalice) -> list[SQSEventConfig]:
    return [source for source in app.event_sources if isinstance(source, SQSEventConfig)]


def queue_name_of(config: SQSEventConfig) -> str:
    if config.queue:
        return config.queue
    assert config.queue_arn, "on_sqs_message needs queue or queue_arn"
    return config.queue_arn.rsplit(":", 1)[-1]


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda's SQS event source delivers it."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
            **{key: value for key, value in attributes.items() if key.startswith("MessageGroupId")},
        },
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode("utf-8")).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value.get("DataType", "String"),
    }


def failed_message_ids(result: Any, batch_ids: Iterable[str]) -> set[str]:
    """The messages a handler's answer leaves on the queue (the partial batch response contract).

    `{"batchItemFailures": [{"itemIdentifier": id}, ...]}` keeps exactly those; an empty list or any
    other answer means the whole batch succeeded. An identifier that is empty or not in the batch
    makes Lambda treat the whole batch as failed.
    """
    ids = set(batch_ids)
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result.get("batchItemFailures") or []
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return ids
        failed.add(identifier)
    return failed


class SqsPoller(threading.Thread):
    """Polls one queue and feeds its messages to one Chalice handler, deleting what succeeded."""

    def __init__(self, app: Chalice, config: SQSEventConfig, stage: str) -> None:
        super().__init__(name=f"sqs-poller-{config.name}", daemon=True)
        self.app = app
        self.config = config
        self.stage = stage
        self.queue_name = queue_name_of(config)
        self.batches_delivered = 0
        self._stopping = threading.Event()
        self._sqs: Any = None
        self._queue_url = ""
        self._queue_arn = ""
        self._caught_up = False

    def stop(self) -> None:
        self._stopping.set()

    def open(self) -> None:
        """Find the queue now; messages sent before start() wait in it, as they would for a disabled mapping."""
        self._sqs = self._sqs or new_client("sqs")
        self._resolve_queue()

    @property
    def caught_up(self) -> bool:
        """Its last receive found nothing, nothing is being delivered, and nothing waits (delayed or in flight)."""
        if not self._caught_up or not self._queue_url:
            return False
        waiting = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=list(BACKLOG))["Attributes"]
        return self._caught_up and not any(int(waiting.get(name, 0)) for name in BACKLOG)

    def run(self) -> None:
        self._sqs = self._sqs or new_client("sqs")
        while not self._stopping.is_set():
            try:
                if not self._queue_url:
                    self._resolve_queue()
                if not self.poll_once():
                    self._caught_up = True
                    self._stopping.wait(IDLE_SLEEP_SECONDS)
            except Exception:  # a poller keeps polling whatever one batch did, as the event source mapping does
                if self._stopping.is_set():
                    break
                logger.exception("SQS poller for %s failed; retrying", self.queue_name)
                self._stopping.wait(1.0)

    def receive_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages, gathered for at most the handler's batching window, as Lambda's poller does."""
        batch_size = max(1, self.config.batch_size)
        window = float(self.config.maximum_batching_window_in_seconds or 0)
        messages: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(messages) < batch_size and not self._stopping.is_set():
            received = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(10, batch_size - len(messages)),
                # Long-poll for the first message only; within the window look again without waiting past it.
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS if deadline is None else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if not messages:
                break  # nothing waiting: the caller sleeps and polls again
            if deadline is None:
                deadline = time.monotonic() + window
            if time.monotonic() >= deadline:
                break
            if not received:
                self._stopping.wait(min(WINDOW_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        return messages

    def _resolve_queue(self) -> None:
        self._queue_url = self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = attributes["Attributes"]["QueueArn"]

    def poll_once(self) -> bool:
        """Receive one batch and deliver it; False if the queue had nothing."""
        messages = self.receive_batch()
        if not messages:
            return False
        self._caught_up = False
        region = self._sqs.meta.region_name
        event = {"Records": [lambda_record(message, self._queue_arn, region) for message in messages]}
        payload, failed = invoke_chalice_function(
            self.app,
            self.config.name,
            event,
            function_name=deployed_name(self.stage, self.config.name),
        )
        self.batches_delivered += 1
        if failed:
            return True  # the whole batch becomes visible again after the visibility timeout
        keep = failed_message_ids(json.loads(payload or b"null"), (m["MessageId"] for m in messages))
        done = [m for m in messages if m["MessageId"] not in keep]
        for start in range(0, len(done), 10):  # DeleteMessageBatch takes 10 at a time
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return True
