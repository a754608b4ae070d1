"""The local runtime's machinery: moto's Step Functions interpreter driving Chalice functions, SQS pollers, schedules.

Every test runs twice: against an in-process moto server exactly as `make run` starts it (one lock,
MOTO_PORT, AWS_ENDPOINT_URL) and in-process under mock_aws() with the same dispatcher.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.app import Chalice, Rate
from moto import mock_aws
from moto.core.config import default_user_config

from local.aws import lambda_dispatch
from local.aws.moto_server import apply_moto_workarounds, start_moto_server
from local.aws.pollers import start_pollers, stop_pollers
from local.aws.provision import (
    create_lambda_functions,
    create_state_machines,
    definition_substitutions,
    provision,
    substitute,
    substitution_name,
)
from local.aws.scheduler import parse_expression, start_scheduler, stop_scheduler
from local.aws.sqs_poller import failed_message_ids
from local.aws.stream_poller import DynamoStreamPoller

STAGE = "machinery"
STATEMACHINES = Path(__file__).parent / "statemachines"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
AWS_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "MOTO_PORT",
    "NO_PROXY",
    "no_proxy",
)


class SupplierBusy(Exception):
    """The supplier asked us to call again later."""


class SupplierGone(Exception):
    """The supplier will never answer."""


# ---------------------------------------------------------------- the test app
probe = Chalice(app_name="machinery-probe")
calls: list[tuple[str, dict[str, Any], str]] = []
supplier_failures: dict[str, int] = {}


@probe.lambda_function(name="reserve_stock")
def reserve_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    calls.append(("reserve_stock", event, context.function_name))
    return {"reservation_id": f"rsv-{event['order_id']}", "ran_as": context.function_name}


@probe.lambda_function(name="release_stock")
def release_stock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    calls.append(("release_stock", event, context.function_name))
    return {"released": event["reservation_id"]}


@probe.lambda_function(name="call_supplier")
def call_supplier(event: dict[str, Any], context: Any) -> dict[str, Any]:
    calls.append(("call_supplier", event, context.function_name))
    remaining = supplier_failures.get(event["order_id"], 0)
    if remaining < 0:
        raise SupplierGone("closed for good")
    if remaining > 0:
        supplier_failures[event["order_id"]] = remaining - 1
        raise SupplierBusy("try again")
    return {"confirmed": event["order_id"]}


@probe.on_sqs_message(queue=f"shop-{STAGE}-product-views", batch_size=25, maximum_batching_window_in_seconds=1)
def record_product_views(event: Any) -> dict[str, Any]:
    failures = []
    records = list(event)
    for record in records:
        body = json.loads(record.body)
        calls.append(("record_product_views", {"body": body, "record": record.to_dict(), "batch": len(records)}, ""))
        if body.get("poison"):
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


# Written before the table exists, as an app computing it from its stage would; the poller finds the live stream.
@probe.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/shop-{STAGE}-catalog/stream/label", batch_size=50
)
def reindex_products(event: Any) -> None:
    for record in event:
        calls.append(("reindex_products", record.to_dict(), ""))


@probe.schedule(Rate(1, unit=Rate.HOURS))
def hourly_rollup(event: Any) -> None:
    calls.append(("hourly_rollup", event.to_dict(), ""))


def calls_to(function: str, order_id: str | None = None) -> list[tuple[str, dict[str, Any], str]]:
    return [c for c in calls if c[0] == function and (order_id is None or c[1].get("order_id") == order_id)]


# ---------------------------------------------------------------- machinery under test
@dataclass
class Machinery:
    mode: str
    sfn: Any
    sqs: Any
    token_queue_url: str
    views_queue_url: str
    views_dlq_url: str
    machines: dict[str, str]

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        return str(
            self.sfn.start_execution(stateMachineArn=self.machines[machine], name=name, input=json.dumps(payload))[
                "executionArn"
            ]
        )

    def wait_for_end(self, execution_arn: str, timeout: float = 20.0) -> dict[str, Any]:
        return wait_for(
            lambda: _finished(self.sfn.describe_execution(executionArn=execution_arn)),
            timeout,
            f"execution {execution_arn} to finish",
        )

    def next_task_token_message(self, order_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def receive() -> dict[str, Any] | None:
            for message in self.sqs.receive_message(
                QueueUrl=self.token_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                body = json.loads(message["Body"])
                self.sqs.delete_message(QueueUrl=self.token_queue_url, ReceiptHandle=message["ReceiptHandle"])
                if body.get("order_id") == order_id:
                    return dict(body)
            return None

        return wait_for(receive, timeout, f"the task token message for {order_id}")


def _finished(execution: dict[str, Any]) -> dict[str, Any] | None:
    return execution if execution["status"] != "RUNNING" else None


def wait_for(probe_fn: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe_fn()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module", params=["moto_server", "mock_aws"])
def machinery(request: pytest.FixtureRequest) -> Iterator[Machinery]:
    saved_env = {key: os.environ.get(key) for key in AWS_ENV_KEYS}
    saved_config = copy.deepcopy(default_user_config)
    try:
        if request.param == "moto_server":
            server = start_moto_server()  # sets MOTO_PORT, AWS_ENDPOINT_URL, region, fake credentials, moto config
            try:
                yield _provisioned(request.param)
            finally:
                lambda_dispatch.uninstall()
                server.stop()
        else:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
            with mock_aws(config=MOTO_CONFIG):
                try:
                    yield _provisioned(request.param)
                finally:
                    lambda_dispatch.uninstall()
    finally:
        default_user_config.clear()
        default_user_config.update(saved_config)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _provisioned(mode: str) -> Machinery:
    lambda_dispatch.install(probe, STAGE)
    arns = create_lambda_functions(probe, STAGE)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    token_queue_url = sqs.create_queue(QueueName=f"shop-{STAGE}-payment-requests")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName=f"shop-{STAGE}-product-views-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    views_url = sqs.create_queue(
        QueueName=f"shop-{STAGE}-product-views",
        Attributes={
            "VisibilityTimeout": "2",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=f"shop-{STAGE}-catalog",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    env = create_state_machines(STAGE, STATEMACHINES, definition_substitutions(arns))
    machines = {
        "order_probe": env["STATE_MACHINE_ORDER_PROBE_ARN"],
        "flaky_supplier": env["STATE_MACHINE_FLAKY_SUPPLIER_ARN"],
    }
    return Machinery(mode, sfn, sqs, token_queue_url, views_url, dlq_url, machines)


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- Step Functions
def test_a_paid_order_runs_the_chalice_function_and_resumes_on_its_task_token(machinery: Machinery) -> None:
    # GIVEN an order whose payment may take 30 s
    order_id = new_order_id()
    execution = machinery.start(
        "order_probe",
        order_id,
        {"order_id": order_id, "queue_url": machinery.token_queue_url, "payment_timeout_seconds": 30},
    )

    # WHEN the payment request (carrying the task token) is read from the queue and answered
    message = machinery.next_task_token_message(order_id)
    machinery.sfn.send_task_success(taskToken=message["task_token"], output=json.dumps({"payment_id": "pay-1"}))
    result = machinery.wait_for_end(execution)

    # THEN the Chalice function really ran, under its deployed name, and its answer flowed through the states
    assert [c[2] for c in calls_to("reserve_stock", order_id)] == [f"shop-{STAGE}-reserve_stock"]
    assert message["reservation_id"] == f"rsv-{order_id}"
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["reserved"]["reservation"] == {
        "reservation_id": f"rsv-{order_id}",
        "ran_as": f"shop-{STAGE}-reserve_stock",
    }
    assert output["payment"] == {"payment_id": "pay-1"}
    assert output["status"] == "PAID"
    assert calls_to("release_stock", order_id) == []


def test_an_unpaid_order_times_out_and_runs_the_compensation(machinery: Machinery) -> None:
    # GIVEN an order whose payment window is one second
    order_id = new_order_id()
    execution = machinery.start(
        "order_probe",
        order_id,
        {"order_id": order_id, "queue_url": machinery.token_queue_url, "payment_timeout_seconds": 1},
    )

    # WHEN nobody answers the task token
    machinery.next_task_token_message(order_id)
    result = machinery.wait_for_end(execution)

    # THEN the Catch on States.Timeout ran the compensating Chalice function
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["error"]["Error"] == "States.Timeout"
    assert output["status"] == "CANCELLED"
    assert output["compensation"]["release"] == {"released": f"rsv-{order_id}"}
    released = calls_to("release_stock", order_id)
    assert len(released) == 1
    assert released[0][1] == {"order_id": order_id, "reservation_id": f"rsv-{order_id}"}


def test_a_second_execution_with_the_same_name_is_refused(machinery: Machinery) -> None:
    # GIVEN an execution named after its order
    order_id = new_order_id()
    payload = {"order_id": order_id, "queue_url": machinery.token_queue_url, "payment_timeout_seconds": 1}
    first = machinery.start("order_probe", order_id, payload)
    machinery.wait_for_end(first)

    # WHEN the same order is started again
    with pytest.raises(ClientError) as refused:
        machinery.start("order_probe", order_id, payload)

    # THEN Step Functions refuses it and the reservation ran once
    assert refused.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert len(calls_to("reserve_stock", order_id)) == 1


def test_a_function_error_is_retried_by_its_exception_name(machinery: Machinery) -> None:
    # GIVEN a supplier that is busy once
    order_id = new_order_id()
    supplier_failures[order_id] = 1

    # WHEN the state machine calls it
    result = machinery.wait_for_end(machinery.start("flaky_supplier", order_id, {"order_id": order_id}))

    # THEN the Retry on SupplierBusy called again and the second answer went through
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["supplier"]["answer"] == {"confirmed": order_id}
    assert len(calls_to("call_supplier", order_id)) == 2


def test_a_function_error_that_is_not_retried_is_caught_with_its_message(machinery: Machinery) -> None:
    # GIVEN a supplier that is gone
    order_id = new_order_id()
    supplier_failures[order_id] = -1

    # WHEN the state machine calls it
    result = machinery.wait_for_end(machinery.start("flaky_supplier", order_id, {"order_id": order_id}))

    # THEN the Catch saw the exception's class as the error and its message in the cause
    output = json.loads(result["output"])
    assert output["status"] == "GAVE_UP"
    assert output["error"]["Error"] == "SupplierGone"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "closed for good"
    assert len(calls_to("call_supplier", order_id)) == 1


def test_invoking_a_deployed_function_name_runs_the_chalice_function(machinery: Machinery) -> None:
    # GIVEN the dispatcher, WHEN a function is invoked through the Lambda API
    order_id = new_order_id()
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=f"shop-{STAGE}-reserve_stock", Payload=json.dumps({"order_id": order_id})
    )

    # THEN the answer is the Chalice function's
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["reservation_id"] == f"rsv-{order_id}"


# ---------------------------------------------------------------- SQS pollers
def test_the_poller_delivers_lambda_shaped_batches_and_leaves_reported_failures_for_redrive(
    machinery: Machinery,
) -> None:
    # GIVEN twelve good product views and a poisoned one on the queue
    run = uuid.uuid4().hex
    for n in range(12):
        machinery.sqs.send_message(QueueUrl=machinery.views_queue_url, MessageBody=json.dumps({"run": run, "n": n}))
    machinery.sqs.send_message(
        QueueUrl=machinery.views_queue_url, MessageBody=json.dumps({"run": run, "n": 99, "poison": True})
    )

    # WHEN the runtime's pollers run for a while
    pollers = start_pollers(probe, STAGE)
    try:
        dead = wait_for(
            lambda: machinery.sqs.receive_message(QueueUrl=machinery.views_dlq_url, MaxNumberOfMessages=10).get(
                "Messages"
            ),
            20,
            "the poisoned message to reach the dead-letter queue",
        )
    finally:
        stop_pollers(pollers)

    # THEN the handler saw real SQS records in batches beyond SQS's 10 per receive (the batching window),
    # every good view once, and the poisoned one until redrive gave up on it
    seen = [c[1] for c in calls_to("record_product_views") if c[1]["body"].get("run") == run]
    good = sorted(s["body"]["n"] for s in seen if s["body"]["n"] != 99)
    poisoned = [s for s in seen if s["body"]["n"] == 99]
    assert good == list(range(12))
    assert len(poisoned) == 2
    assert max(s["batch"] for s in seen) > 10
    record = seen[0]["record"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":shop-{STAGE}-product-views")
    assert {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "awsRegion"} <= set(record)
    assert [json.loads(m["Body"])["n"] for m in dead] == [99]


def test_the_stream_poller_delivers_table_changes_in_order_with_both_images(machinery: Machinery) -> None:
    # GIVEN the runtime's pollers, reading the catalog table's stream from now on
    product_id = f"prd-{uuid.uuid4().hex[:8]}"
    pollers = start_pollers(probe, STAGE)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = f"shop-{STAGE}-catalog"
    try:
        assert all(p.wait_ready() for p in pollers if isinstance(p, DynamoStreamPoller))

        # WHEN a product is written, renamed and deleted
        dynamodb.put_item(TableName=table, Item={"pk": {"S": product_id}, "title": {"S": "手机"}})
        dynamodb.put_item(TableName=table, Item={"pk": {"S": product_id}, "title": {"S": "新手机"}})
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": product_id}})

        def changes() -> list[dict[str, Any]]:
            return [c[1] for c in calls_to("reindex_products") if c[1]["dynamodb"]["Keys"]["pk"]["S"] == product_id]

        seen = wait_for(lambda: changes() if len(changes()) >= 3 else None, 10, "three stream records")
    finally:
        stop_pollers(pollers)

    # THEN the handler got Lambda's DynamoDB records, in order, with old and new images
    assert [r["eventName"] for r in seen] == ["INSERT", "MODIFY", "REMOVE"]
    assert seen[1]["dynamodb"]["OldImage"]["title"] == {"S": "手机"}
    assert seen[1]["dynamodb"]["NewImage"]["title"] == {"S": "新手机"}
    assert seen[0]["eventSource"] == "aws:dynamodb"
    assert seen[0]["eventSourceARN"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/")


def stream_record_count(table: str) -> int:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return len(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"])


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(machinery: Machinery) -> None:
    # GIVEN two products
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = f"shop-{STAGE}-catalog"
    first, second = (f"prd-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for product_id in (first, second):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": product_id}, "stock": {"N": "1"}})
    records_before = stream_record_count(table)

    # WHEN a transaction changes the first and then fails its check on the second
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": first}, "stock": {"N": "0"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": second}},
                        "UpdateExpression": "SET stock = stock - :one",
                        "ConditionExpression": "stock >= :two",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}},
                    }
                },
            ]
        )

    # THEN nothing changed, not even the stream; and a transaction that holds goes through whole
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": first}})["Item"]["stock"] == {"N": "1"}
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": second}})["Item"]["stock"] == {"N": "1"}
    assert stream_record_count(table) == records_before
    dynamodb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": table, "Key": {"pk": {"S": first}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": second}},
                    "UpdateExpression": "SET stock = stock - :one",
                    "ConditionExpression": "stock >= :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": first}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": second}})["Item"]["stock"] == {"N": "0"}
    assert stream_record_count(table) == records_before + 2


def test_a_write_made_while_another_thread_s_transaction_is_cancelled_is_kept(machinery: Machinery) -> None:
    # GIVEN a product's stock, and a thread whose transactions touch it and are always cancelled (the check on a
    # second item fails), as a cancel whose order was paid meanwhile touches the stock it would have given back
    apply_moto_workarounds()  # as the functional tests' moto account has it
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = f"shop-{STAGE}-catalog"
    stocked, checked = (f"prd-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for product_id in (stocked, checked):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": product_id}, "stock": {"N": "0"}})
    key, zero = {"pk": {"S": stocked}}, {":zero": {"N": "0"}}
    cancelled_transaction = [
        {"Update": {"TableName": table, "Key": key, "UpdateExpression": "ADD stock :zero",
                    "ExpressionAttributeValues": zero}},
        {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": checked}}, "ConditionExpression": "stock > :zero",
                            "ExpressionAttributeValues": zero}},
    ]  # fmt: skip
    done = threading.Event()

    def cancel_transactions() -> None:
        other = boto3.client("dynamodb", region_name="us-east-1")
        while not done.is_set():
            with contextlib.suppress(ClientError):  # TransactionCanceledException, every time
                other.transact_write_items(TransactItems=cancelled_transaction)

    canceller = threading.Thread(target=cancel_transactions)
    canceller.start()

    # WHEN this thread gives 200 units back meanwhile, one at a time
    try:
        for _ in range(200):
            dynamodb.update_item(TableName=table, Key=key, UpdateExpression="ADD stock :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
    finally:
        done.set()
        canceller.join()

    # THEN every unit is there: no cancelled transaction put the item back as it was before a unit was added
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["stock"] == {"N": "200"}


def test_a_partial_batch_response_names_the_messages_to_keep() -> None:
    batch = ["a", "b", "c"]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, batch) == {"b"}
    assert failed_message_ids({"batchItemFailures": []}, batch) == set()
    assert failed_message_ids(None, batch) == set()
    # An identifier Lambda cannot match fails the whole batch, as AWS does.
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, batch) == set(batch)


# ---------------------------------------------------------------- schedules
def test_a_rate_schedule_fires_on_the_sped_up_clock_with_a_scheduled_event(machinery: Machinery) -> None:
    # GIVEN an hourly job and a clock running 36000 times faster (an hour every 0.1 s)
    fired = threading.Event()
    times: list[datetime] = []

    def on_fire(_name: str, at: datetime) -> None:
        times.append(at)
        if len(times) >= 2:
            fired.set()

    before = len(calls_to("hourly_rollup"))
    jobs = start_scheduler(probe, STAGE, speedup=36000, on_fire=on_fire)
    try:
        assert fired.wait(10), "the hourly job did not fire twice"
    finally:
        stop_scheduler(jobs)

    # THEN it fired an hour apart (virtually) with EventBridge's scheduled event
    assert (times[1] - times[0]).total_seconds() == 3600
    event = calls_to("hourly_rollup")[before][1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(f":rule/shop-{STAGE}-hourly_rollup-event")


def test_cron_expressions_find_their_next_time_in_utc() -> None:
    now = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # a Tuesday
    assert parse_expression("cron(0 12 * * ? *)").next_after(now) == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_expression("cron(0/15 * * * ? *)").next_after(now) == datetime(2026, 11, 24, 21, 45, tzinfo=UTC)
    assert parse_expression("cron(0 18 ? * MON-FRI *)").next_after(now) == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    assert parse_expression("cron(0 9 ? * 2#1 *)").next_after(now) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert parse_expression("cron(0 0 L * ? *)").next_after(now) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="rate"):
        parse_expression("every day")


# ---------------------------------------------------------------- provisioning
def test_definition_substitutions_follow_the_naming_rule_and_refuse_unknown_names() -> None:
    assert substitution_name("release_stock") == "ReleaseStockFunctionArn"
    assert substitute('{"F": "${ReleaseStockFunctionArn}"}', {"ReleaseStockFunctionArn": "arn:x"}) == '{"F": "arn:x"}'
    with pytest.raises(RuntimeError, match="MissingFunctionArn"):
        substitute('{"F": "${MissingFunctionArn}"}', {})


@pytest.mark.filterwarnings("ignore:Tried to parse")
def test_provisioning_the_real_template_twice_gives_the_same_environment() -> None:
    # GIVEN an empty account, WHEN the stage is provisioned twice from infra/
    saved_env = {key: os.environ.get(key) for key in AWS_ENV_KEYS}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        with mock_aws(config=MOTO_CONFIG):
            first = provision(probe, "local", statemachines=STATEMACHINES)
            second = provision(probe, "local", statemachines=STATEMACHINES)
            tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # THEN the environment names the template's resources and the state machines, and did not change
    assert first == second
    assert first["ACCOUNTS_TABLE"] == "shop-local-accounts"
    assert first["CATALOG_TABLE"] == "shop-local-catalog"
    assert first["PRODUCT_VIEWS_QUEUE_URL"].endswith("/shop-local-product-views")
    assert first["SHOP_STAGE"] == "local"
    assert first["JWT_SECRET"]
    assert first["STATE_MACHINE_ORDER_PROBE_ARN"].endswith(":stateMachine:shop-local-order_probe")
    assert {"shop-local-accounts", "shop-local-catalog", "shop-local-idempotency"} <= set(tables)
