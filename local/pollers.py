"""Polled event sources: a thread per on_sqs_message / on_dynamodb_record handler, delivering batches as Lambda does."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from chalice.app import Chalice, DynamoDBEventConfig, SQSEventConfig

from local.lambda_dispatch import deployed_name, invoke_chalice_function

logger = logging.getLogger(__name__)

# A short long-poll keeps shutdown quick; the moto server waits it out without holding its lock.
RECEIVE_WAIT_SECONDS = 1
IDLE_SLEEP_SECONDS = 0.2
WINDOW_POLL_SECONDS = 0.1


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

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        self._sqs = boto3.session.Session().client("sqs")
        while not self._stopping.is_set():
            try:
                if not self._queue_url:
                    self._resolve_queue()
                if not self.poll_once():
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


def dynamodb_stream_handlers(app: Chalice) -> list[DynamoDBEventConfig]:
    return [source for source in app.event_sources if isinstance(source, DynamoDBEventConfig)]


def table_name_of_stream(stream_arn: str) -> str:
    """`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`."""
    resource = stream_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    return parts[1]


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record in the shape Lambda's event source delivers it."""
    change = dict(record.get("dynamodb", {}))
    created = change.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {**record, "eventVersion": "1.1", "dynamodb": change, "eventSourceARN": stream_arn}


class DynamoStreamPoller(threading.Thread):
    """Reads one table's stream shard by shard and feeds the changes to one Chalice handler, in order.

    A failing batch is bisected and retried as the deployed event source mapping does (the shard waits meanwhile),
    and what still fails is reported to the stream failures queue and skipped (deliver_with_bisection).
    """

    def __init__(self, app: Chalice, config: DynamoDBEventConfig, stage: str) -> None:
        super().__init__(name=f"ddb-stream-poller-{config.name}", daemon=True)
        self.app = app
        self.config = config
        self.stage = stage
        self.batches_delivered = 0
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._streams: Any = None
        self._stream_arn = ""
        self._iterators: dict[str, str | None] = {}

    def stop(self) -> None:
        self._stopping.set()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once the poller holds its shard iterators (LATEST counts from then on)."""
        return self._ready.wait(timeout)

    def run(self) -> None:
        session = boto3.session.Session()
        self._streams = session.client("dynamodbstreams")
        dynamodb = session.client("dynamodb")
        while not self._stopping.is_set():
            try:
                if not self._stream_arn:
                    self._stream_arn = self._resolve_stream(dynamodb)
                    self._refresh_shards()
                    self._ready.set()
                if not self.poll_once():
                    self._stopping.wait(IDLE_SLEEP_SECONDS)
            except Exception:  # keep polling, as the event source mapping does
                if self._stopping.is_set():
                    break
                logger.exception("DynamoDB stream poller for %s failed; retrying", self.config.name)
                self._stopping.wait(1.0)

    def _resolve_stream(self, dynamodb: Any) -> str:
        """The handler's stream ARN, or the table's current stream if the label in it is not the live one."""
        try:
            self._streams.describe_stream(StreamArn=self.config.stream_arn)
            return str(self.config.stream_arn)
        except Exception:  # an ARN written before the table existed: find the table's stream by name
            table = dynamodb.describe_table(TableName=table_name_of_stream(self.config.stream_arn))["Table"]
            return str(table["LatestStreamArn"])

    def _refresh_shards(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType=self.config.starting_position or "LATEST",
                )["ShardIterator"]

    def poll_once(self) -> bool:
        """Deliver what each shard has; False if nothing was there."""
        delivered = False
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._streams.get_records(
                ShardIterator=iterator, Limit=max(1, min(self.config.batch_size, 1000))
            )
            records = response.get("Records", [])
            if records:
                self._deliver([lambda_stream_record(r, self._stream_arn) for r in records], shard_id)
                delivered = True
            self._iterators[shard_id] = response.get("NextShardIterator")
        return delivered

    def _deliver(self, records: list[dict[str, Any]], shard_id: str = "") -> None:
        def invoke(batch: list[dict[str, Any]]) -> bool:
            _payload, failed = invoke_chalice_function(
                self.app,
                self.config.name,
                {"Records": batch},
                function_name=deployed_name(self.stage, self.config.name),
            )
            self.batches_delivered += 1
            return not failed

        deliver_with_bisection(
            records,
            invoke,
            lambda batch, attempts: self._give_up(batch, attempts, shard_id),
            stream_failure_policy(),
            self._stopping.wait,
        )

    def _give_up(self, records: list[dict[str, Any]], attempts: int, shard_id: str) -> None:
        """What Lambda's on-failure destination gets: where the records are, not the records themselves."""
        logger.error("%s gave up on %d stream record(s) after %d attempts", self.config.name, len(records), attempts)
        sequence = [str(r.get("dynamodb", {}).get("SequenceNumber", "")) for r in records]
        message = {
            "version": "1.0",
            "requestContext": {
                "functionArn": deployed_name(self.stage, self.config.name),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequence[0],
                "endSequenceNumber": sequence[-1],
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        try:
            sqs = boto3.session.Session().client("sqs")
            queue_url = sqs.get_queue_url(QueueName=stream_failures_queue(self.stage))["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
        except Exception:  # the failures queue is a report; losing it must not stop the poller
            logger.exception("could not report given-up stream records of %s", self.config.name)


@dataclass(frozen=True)
class StreamFailurePolicy:
    """infra/template.yaml Metadata.StreamConsumers: what the deployed event source mappings do with failing batches."""

    bisect: bool
    max_retries: int
    on_failure_queue: str


@lru_cache(maxsize=1)
def _stream_consumers() -> dict[str, Any]:
    from infra.templates import load_template

    template = load_template()
    return {"metadata": template["Metadata"]["StreamConsumers"], "resources": template["Resources"]}


def stream_failure_policy() -> StreamFailurePolicy:
    metadata = _stream_consumers()["metadata"]
    return StreamFailurePolicy(
        bisect=bool(metadata["BisectBatchOnFunctionError"]),
        max_retries=int(metadata["MaximumRetryAttempts"]),
        on_failure_queue=str(metadata["OnFailureQueue"]),
    )


def stream_failures_queue(stage: str) -> str:
    """The physical name of the queue given-up records are reported to."""
    queue = _stream_consumers()["resources"][stream_failure_policy().on_failure_queue]
    return str(queue["Properties"]["QueueName"]["Fn::Sub"]).replace("${Stage}", stage)


def deliver_with_bisection(
    records: list[dict[str, Any]],
    invoke: Callable[[list[dict[str, Any]]], bool],
    give_up: Callable[[list[dict[str, Any]], int], None],
    policy: StreamFailurePolicy,
    wait: Callable[[float], bool],
) -> None:
    """Deliver a stream batch as the deployed event source mapping does: a failing batch is split in two and each half
    delivered on its own (the good records go through, maybe twice: handlers are idempotent), a single failing
    record is retried `max_retries` times, then reported to the failures queue and skipped."""
    attempts = 0
    while True:
        attempts += 1
        if invoke(records):
            return
        if policy.bisect and len(records) > 1:
            half = len(records) // 2
            deliver_with_bisection(records[:half], invoke, give_up, policy, wait)
            deliver_with_bisection(records[half:], invoke, give_up, policy, wait)
            return
        if attempts > policy.max_retries:
            give_up(records, attempts)
            return
        if wait(min(0.5 * 2.0 ** (attempts - 1), 4.0)):  # stopping
            return


Poller = SqsPoller | DynamoStreamPoller


def start_pollers(app: Chalice, stage: str | None = None) -> list[Poller]:
    """Start a poller for every on_sqs_message and on_dynamodb_record handler of `app`."""
    stage = stage or os.environ.get("SHOP_STAGE", "local")
    pollers: list[Poller] = [SqsPoller(app, config, stage) for config in sqs_handlers(app)]
    pollers += [DynamoStreamPoller(app, config, stage) for config in dynamodb_stream_handlers(app)]
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: Iterable[Poller], timeout: float = 5.0) -> None:
    pollers = list(pollers)
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        poller.join(timeout)
