"""The order lifecycle's machinery for functional tests, run as `make run` runs it: moto's Lambda dispatched to the
in-process handlers (the state machine's tasks), and the runtime's own pollers for the orders stream (the outbox)
and the order-outbox queue's consumer (StartExecution, task answers, texts to buyers)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice.app import Chalice

from chalicelib.aws import client
from local.aws import lambda_dispatch
from local.aws.pollers import Poller, stop_pollers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.aws.stream_poller import DynamoStreamPoller, dynamodb_stream_handlers

STAGE = "local"
OUTBOX_HANDLERS = ("publish_order_changes", "deliver_order_outbox")


def stop_running_executions() -> None:
    """Executions still waiting (unshipped orders) would otherwise wake up in a later module's moto account."""
    sfn = boto3.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
        for execution in running["executions"]:
            try:
                sfn.stop_execution(executionArn=execution["executionArn"])
            except AttributeError:  # moto: an execution whose worker thread has not set up yet cannot be stopped
                continue


def start_outbox_pollers(app: Chalice) -> list[Poller]:
    """Pollers for the orders stream and the order-outbox queue only (the other handlers stay off in these tests)."""
    pollers: list[Poller] = [
        DynamoStreamPoller(app, config, STAGE)
        for config in dynamodb_stream_handlers(app)
        if config.name in OUTBOX_HANDLERS
    ]
    pollers += [SqsPoller(app, config, STAGE) for config in sqs_handlers(app) if config.name in OUTBOX_HANDLERS]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        if isinstance(poller, DynamoStreamPoller):
            assert poller.wait_ready(), "the orders stream poller found no stream"
    return pollers


@contextmanager
def order_machinery(app: Chalice) -> Iterator[list[Poller]]:
    """The state machine's tasks in-process and the outbox polled, for one test module."""
    lambda_dispatch.install(app, STAGE)
    pollers = start_outbox_pollers(app)
    try:
        yield pollers
    finally:
        stop_pollers(pollers)
        stop_running_executions()
        lambda_dispatch.uninstall()


class ClientFaults:
    """Makes the app's own calls to one AWS service fail: the first N calls of each operation named, through a
    botocore `before-call` hook on the app's client for that service (chalicelib.aws.client). moto's own clients
    (the state machine's interpreter, the stream) are untouched. Counts every call it saw."""

    def __init__(self, service: str, failures: dict[str, int], code: str = "ServiceUnavailable") -> None:
        self.service = service
        self.left = dict(failures)
        self.code = code
        self.calls: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def _event(self) -> str:
        return f"before-call.{client(self.service).meta.service_model.service_id.hyphenize()}"

    def __enter__(self) -> ClientFaults:
        client(self.service).meta.events.register(self._event, self._before_call, unique_id=id(self))
        return self

    def __exit__(self, *_: Any) -> None:
        client(self.service).meta.events.unregister(self._event, unique_id=id(self))

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            if self.left.get(model.name, 0) <= 0:
                return
            self.left[model.name] -= 1
            self.failed[model.name] += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "injected by the test"}}, model.name)


class StepFunctionsFaults(ClientFaults):
    """StartExecution, SendTaskSuccess, SendTaskFailure, DescribeExecution failing on their first N calls."""

    def __init__(self, failures: dict[str, int], code: str = "ServiceUnavailable") -> None:
        super().__init__("stepfunctions", failures, code)
