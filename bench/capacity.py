"""$/order: the AWS calls, DynamoDB write and read units (index writes included) and Step Functions transitions of a
full order lifecycle on moto, priced at list prices.

Run: PYTHONPATH=. .venv/bin/python bench/capacity.py [--orders 3]

Each order lives through the real code on moto: placed over HTTP, paid (`confirm_payment`, what a verified notify
calls; the order's execution, the payment wait, ends there), shipped by the admin, received by the buyer, settled by
the order sweeper when the review window closes; the state machine's tasks run in-process, the orders stream and the
order-outbox queue are polled as `make run` polls them and the sweeper's schedule fires every second. Every AWS
call of the app, its tasks and its consumers goes through botocore, where this bench meters it (the bench's own
waiting and reading back is not metered):

- DynamoDB write units: for each item written, ceil(size / 1 KB) (x2 in a transaction, ConditionCheck included),
  and for each global secondary index the write changes, ceil(projected size / 1 KB) per index entry put or
  deleted (a key change is both), from the item read before and after the write and the table's indexes;
- read units: ceil(size / 4 KB) per item read (half when eventually consistent), queries by what they return;
- Step Functions: the states entered of each order's executions (Standard workflows bill each transition);
- Lambda: one API invocation per HTTP request (plus the authorizer for a signed-in one), one per task the
  executions scheduled, one per stream or queue batch that carried records, at `ASSUMED_SECONDS` each at the
  function's configured memory;
- SQS: requests that send, delete or receive messages (an empty receive is the event source's, not the order's).
- the sweeper: the DynamoDB work it does for an order (the gsi_due query that finds it, its reads, the step it
  writes); a query of gsi_due that finds nothing is the schedule's fixed cost.

Not counted: the payment record (`/pay`, the notify), texts, the sweeper's schedule itself (its invocation and empty
queries: a fixed cost per 5 minutes, shared by every order due then), DynamoDB Streams reads by Lambda (free),
storage, data transfer, CloudWatch.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections import Counter
from typing import Any

from _inprocess import ROOT, prepare_environment

prepare_environment()

import os  # noqa: E402

os.environ.update({"PAYMENT_TIMEOUT_SECONDS": "120", "AUTO_RECEIVE_SECONDS": "120", "REVIEW_WINDOW_SECONDS": "1"})

import boto3  # noqa: E402
from botocore.client import BaseClient  # noqa: E402

PRICES = {  # us-east-1 list prices
    "dynamodb_write_unit": 0.625 / 1_000_000,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1_000_000,  # on-demand read request unit
    "state_transition": 0.025 / 1000,  # Step Functions Standard
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,  # x86
    "sqs_request": 0.40 / 1_000_000,  # standard queue, per 64 KB chunk
}
ASSUMED_SECONDS = 0.1  # billed duration of one invocation (moto's timings say nothing of Lambda's)
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_local = threading.local()


def value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (DynamoDB JSON)."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return math.ceil(len(str(raw).lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("B",):
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    return sum(len(str(member)) for member in raw)  # sets


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


class Meter:
    """Counts and prices what goes through botocore while it is installed (except the bench's own calls)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()  # "write:table", "write:table/index", "read:table"
        self.lock = threading.Lock()
        self.original = BaseClient._make_api_call
        self.tables: dict[str, dict[str, Any]] = {}
        self.raw = boto3.client("dynamodb")

    def install(self) -> None:
        meter = self

        def metered(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if getattr(_local, "paused", False):
                return meter.original(client, operation, params)
            service = client.meta.service_model.service_name
            before = meter.images(operation, params) if service == "dynamodb" and operation in WRITES else None
            answer = meter.original(client, operation, params)
            meter.record(service, operation, params, answer, before)
            return answer

        BaseClient._make_api_call = metered  # type: ignore[method-assign]

    def uninstall(self) -> None:
        BaseClient._make_api_call = self.original  # type: ignore[method-assign]

    def paused(self) -> Any:
        meter = self

        class Paused:
            def __enter__(self) -> None:
                _local.paused = True

            def __exit__(self, *_: Any) -> None:
                _local.paused = False

        del meter
        return Paused()

    # -- DynamoDB -------------------------------------------------------------------------------------------------

    def table(self, name: str) -> dict[str, Any]:
        if name not in self.tables:
            with self.paused():
                self.tables[name] = self.raw.describe_table(TableName=name)["Table"]
        return self.tables[name]

    def key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k["AttributeName"]: item[k["AttributeName"]] for k in self.table(table)["KeySchema"]}

    def targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, table, key) of each item a write touches; kind "transact" costs double."""
        if operation == "TransactWriteItems":
            found = []
            for action in params["TransactItems"]:
                ((name, body),) = action.items()
                key = body.get("Key") or self.key_of(body["TableName"], body["Item"])
                found.append(("check" if name == "ConditionCheck" else "transact", body["TableName"], key))
            return found
        if operation == "BatchWriteItem":
            return [
                ("write", table, request.get("DeleteRequest", {}).get("Key")
                 or self.key_of(table, request["PutRequest"]["Item"]))
                for table, requests in params["RequestItems"].items() for request in requests
            ]  # fmt: skip
        table = params["TableName"]
        return [("write", table, params.get("Key") or self.key_of(table, params["Item"]))]

    def images(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], Any]]:
        with self.paused():
            return [
                (kind, table, key, self.raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))
                for kind, table, key in self.targets(operation, params)
            ]

    def index_units(self, table: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> Counter[str]:
        units: Counter[str] = Counter()
        description = self.table(table)
        table_keys = [k["AttributeName"] for k in description["KeySchema"]]
        for index in description.get("GlobalSecondaryIndexes", []):
            keys = [k["AttributeName"] for k in index["KeySchema"]]
            projection = index["Projection"]

            def projected(item: dict[str, Any] | None, keys: list[str] = keys, projection: Any = projection) -> Any:
                if item is None or any(name not in item for name in keys):
                    return None
                if projection["ProjectionType"] == "ALL":
                    return item
                wanted = set(table_keys) | set(keys) | set(projection.get("NonKeyAttributes", []))
                return {name: value for name, value in item.items() if name in wanted}

            before, after = projected(old), projected(new)
            if before == after:
                continue
            same_key = before is not None and after is not None and all(before[k] == after[k] for k in keys)
            cost = 0
            if before is not None and not same_key:
                cost += math.ceil(item_size(before) / 1024)
            if after is not None:
                cost += math.ceil(item_size(after) / 1024)
            units[f"write:{table}/{index['IndexName']}"] += cost
        return units

    def record(self, service: str, operation: str, params: dict[str, Any], answer: Any, before: Any) -> None:
        units: Counter[str] = Counter()
        name = f"{service}:{operation}"
        if service == "dynamodb" and operation in WRITES:
            with self.paused():
                for kind, table, key, old in before:
                    new = self.raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
                    if kind != "check" and old == new:
                        continue  # refused (a failed condition) or no change: not this order's work
                    size = max(item_size(old), item_size(new))
                    units[f"write:{table}"] += math.ceil(size / 1024) * (1 if kind == "write" else 2)
                    if kind != "check":
                        units += self.index_units(table, old, new)
        elif service == "dynamodb" and operation in READS:
            consistent = params.get("ConsistentRead", False)
            items = (
                [answer.get("Item")] if operation == "GetItem"
                else [i for found in answer.get("Responses", {}).values() for i in found]
                if operation == "BatchGetItem" else answer.get("Items", [])
            )  # fmt: skip
            size_units = (
                sum(math.ceil(item_size(item) / 4096) for item in items if item)
                if operation in ("GetItem", "BatchGetItem")
                else max(1, math.ceil(sum(item_size(item) for item in items) / 4096))
            )
            units[f"read:{params.get('TableName', 'batch')}"] += size_units * (1 if consistent else 0.5)
        elif service == "sqs" and operation == "ReceiveMessage" and not answer.get("Messages"):
            return  # the event source's empty polls
        if operation == "Query" and params.get("IndexName") == "gsi_due" and not answer.get("Items"):
            return  # the sweeper's schedule finding nothing due: its fixed cost, not an order's
        elif service == "dynamodbstreams":
            if operation == "GetRecords" and answer.get("Records"):
                name = "lambda:stream batch"
            else:
                return
        with self.lock:
            self.calls[name] += 1
            self.units += units


def lifecycle(client: Any, meter: Meter, admin: str, buyer: dict[str, Any], sku_id: str, n: int) -> str:
    from chalicelib.bootstrap import container
    from chalicelib.orders import service
    from tests.functional.test_orders import execution_status, wait_for_status, wait_for_token

    body = {"address_id": buyer["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]}
    status, order, _ = client.call("POST", "/orders", body, token=buyer["token"], **{"Idempotency-Key": f"c{n}"})
    assert status == 201, order
    order_id = order["order_id"]
    with meter.paused():
        wait_for_token(order_id, "payment_token")
    service.confirm_payment(container().shop, order_id, f"pay-{n}", order["amounts"]["payable_fen"])
    with meter.paused():
        assert execution_status(order_id) == "SUCCEEDED"  # the payment wait ended
    ship = {"carrier": "shunfeng", "tracking_no": f"SF{n:08d}"}
    assert client.call("POST", f"/admin/orders/{order_id}/ship", ship, token=admin)[0] == 200
    assert client.call("POST", f"/orders/{order_id}/receive", token=buyer["token"])[0] == 200
    with meter.paused():
        wait_for_status(client, buyer["token"], order_id, "COMPLETED", timeout=60)
    return str(order_id)


def transitions(order_ids: list[str]) -> tuple[int, int]:
    """States entered, and Lambda tasks scheduled, by the executions of these orders (any execution whose name
    starts with the order id)."""
    sfn = boto3.client("stepfunctions")
    entered = tasks = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if not any(execution["name"].startswith(order_id) for order_id in order_ids):
                continue
            deadline = time.monotonic() + 30
            while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            entered += sum(1 for event in history if event["type"].endswith("StateEntered"))
            tasks += sum(1 for event in history if event["type"] in ("TaskScheduled", "LambdaFunctionScheduled"))
    return entered, tasks


def memory_of(function: str) -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    functions = config.get("lambda_functions", {})
    return int(functions.get(function, {}).get("lambda_memory_size", config.get("lambda_memory_size", 512)))


def report(meter: Meter, orders: int, entered: int, tasks: int, api_calls: int, signed_in: int) -> dict[str, Any]:
    per = 1 / orders
    writes = {k.removeprefix("write:"): v * per for k, v in meter.units.items() if k.startswith("write:")}
    base = sum(v for k, v in writes.items() if "/" not in k)
    index = sum(v for k, v in writes.items() if "/" in k)
    reads = sum(v for k, v in meter.units.items() if k.startswith("read:")) * per
    tasks = tasks * per
    batches = (meter.calls["lambda:stream batch"] + meter.calls["sqs:ReceiveMessage"]) * per
    lambda_requests = api_calls * per + signed_in * per + tasks + batches
    gb_seconds = ASSUMED_SECONDS * (
        (api_calls * per) * memory_of("api_handler") / 1024 + (signed_in * per + tasks + batches) * 512 / 1024
    )
    sqs = sum(v for k, v in meter.calls.items() if k.startswith("sqs:")) * per
    cost = {
        "dynamodb_writes": (base + index) * PRICES["dynamodb_write_unit"],
        "dynamodb_reads": reads * PRICES["dynamodb_read_unit"],
        "step_functions": entered * per * PRICES["state_transition"],
        "lambda": lambda_requests * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second"],
        "sqs": sqs * PRICES["sqs_request"],
    }
    return {
        "orders": orders,
        "per_order": {
            "write_units": round(base + index, 1),
            "index_write_units": round(index, 1),
            "write_units_by_table_and_index": {k: round(v, 1) for k, v in sorted(writes.items())},
            "read_units": round(reads, 1),
            "state_transitions": round(entered * per, 1),
            "lambda_invocations": round(lambda_requests, 1),
            "lambda_gb_seconds": round(gb_seconds, 3),
            "sqs_requests": round(sqs, 1),
            "calls": {k: round(v * per, 1) for k, v in sorted(meter.calls.items())},
        },
        "usd_per_order": {k: f"{v:.7f}" for k, v in cost.items()},
        "usd_per_order_total": f"{sum(cost.values()):.7f}",
        "goal": "<= 0.0001000",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="$/order of a full order lifecycle on moto")
    parser.add_argument("--orders", type=int, default=3)
    args = parser.parse_args()

    from moto import mock_aws

    from app import app
    from chalicelib.config import reset_caches
    from local.aws.moto_server import apply_moto_workarounds
    from local.aws.provision import provision
    from tests.functional.order_machinery import order_machinery

    apply_moto_workarounds()
    # As tests/functional/conftest.py: moto runs the state machine's ASL and Lambda without Docker.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        os.environ.update(provision(app, stage="local"))
        reset_caches()
        with order_machinery(app):
            measure(app, args.orders)


def measure(app: Any, orders: int) -> None:
    from chalicelib.accounts import service as accounts_service
    from chalicelib.accounts.repository import DynamoAccountsRepository
    from tests.functional.catalog_data import create_catalog, product_body
    from tests.functional.conftest import ShopClient

    client = ShopClient(app)
    accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", "bench-admin-password")
    login = {"username": "admin", "password": "bench-admin-password"}
    admin = client.call("POST", "/auth/login", login)[1]["access_token"]
    create_catalog(client, admin)
    sku_id = client.call("POST", "/admin/products", product_body("华为 Mate 60", stock=1000), token=admin)[1]
    sku_id = sku_id["skus"][0]["sku_id"]
    account = {"username": "buyer", "password": "correct horse 1"}
    client.call("POST", "/auth/register", account)
    token = client.call("POST", "/auth/login", account)[1]["access_token"]
    address = {"receiver": "张三", "phone": "13900000000", "province": "广东省", "city": "深圳市",
               "district": "南山区", "detail": "科技园 1 号"}  # fmt: skip
    address_id = client.call("POST", "/me/addresses", address, token=token)[1]["address_id"]
    buyer = {"token": token, "address_id": address_id}
    meter = Meter()
    meter.install()
    try:
        order_ids = [lifecycle(client, meter, admin, buyer, sku_id, n) for n in range(orders)]
        time.sleep(3)  # the last outbox messages
    finally:
        meter.uninstall()
    entered, tasks = transitions(order_ids)
    api_calls = 4 * orders  # place, ship, receive over HTTP; the notify that pays
    figures = report(meter, orders, entered, tasks, api_calls, 3 * orders)
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
