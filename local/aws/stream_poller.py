"""The DynamoDB Streams event source: a thread per on_dynamodb_record handler, delivering each shard's changes in
order and handling a failing batch as the deployed event source mapping does."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig

from chalicelib.aws import new_client
from local.aws.lambda_dispatch import deployed_name, invoke_chalice_function
from local.aws.sqs_poller import IDLE_SLEEP_SECONDS

logger = logging.getLogger(__name__)


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
        self._dynamodb: Any = None
        self._caught_up = False

    def stop(self) -> None:
        self._stopping.set()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once the poller holds its shard iterators (LATEST counts from then on)."""
        return self._ready.wait(timeout)

    @property
    def caught_up(self) -> bool:
        """Its last look at every shard found nothing new and nothing is being delivered."""
        return self._caught_up

    def open(self) -> None:
        """Take the shard iterators now (LATEST counts from here) without polling yet: what is written between
        open() and start() is delivered once the thread runs, as a mapping created before the writes would."""
        self._connect()
        self._open_stream()

    def _open_stream(self) -> None:
        if not self._stream_arn:
            self._stream_arn = self._resolve_stream(self._dynamodb)
            self._refresh_shards()
            self._ready.set()

    def run(self) -> None:
        self._connect()
        while not self._stopping.is_set():
            try:
                self._open_stream()
                if not self.poll_once():
                    self._caught_up = True
                    self._stopping.wait(IDLE_SLEEP_SECONDS)
            except Exception:  # keep polling, as the event source mapping does
                if self._stopping.is_set():
                    break
                logger.exception("DynamoDB stream poller for %s failed; retrying", self.config.name)
                self._stopping.wait(1.0)

    def _connect(self) -> None:
        if self._streams is not None:
            return
        self._streams = new_client("dynamodbstreams")
        self._dynamodb = new_client("dynamodb")

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
                self._caught_up = False
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
            sqs = new_client("sqs")
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
