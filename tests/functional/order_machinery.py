"""The order lifecycle's machinery for functional tests, run as `make run` runs it: moto's Lambda dispatched to the
in-process handlers (the state machines' tasks), the runtime's own pollers for the orders stream (the outbox) and
the order-outbox queue's consumer (StartExecution, the payment answer, texts to buyers), and the sweeper's schedule
(the order timers after payment) fired every SWEEP_EVERY_SECONDS while a test waits, as the local scheduler fires
it."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice.app import Chalice

from chalicelib.aws import client
from chalicelib.config import reset_caches
from local.aws import lambda_dispatch
from local.aws.pollers import Poller, stop_pollers
from local.aws.scheduler import ScheduledJob, VirtualClock, scheduled_handlers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.aws.stream_poller import DynamoStreamPoller, dynamodb_stream_handlers

STAGE = "local"
OUTBOX_HANDLERS = ("publish_order_changes", "deliver_order_outbox")
SWEEP_EVERY_SECONDS = 1.0  # the tests' timers are seconds long: the sweeper's period is their precision
# A sweep queries 16 shards per due day: the tests' orders are due today (or yesterday, past midnight).
SWEEP_LOOKBACK_DAYS = "1"


class SweeperSchedule:
    """The sweeper's schedule for the tests: `tick()` fires `sweep_orders` through the local scheduler's job (its
    scheduled event and dispatch) when SWEEP_EVERY_SECONDS passed since the last run. The tests' wait helpers tick
    it from the test's own thread: in-process moto is not thread safe, and a sweeper thread of its own raced the
    test's requests."""

    def __init__(self, app: Chalice) -> None:
        (config,) = [config for config in scheduled_handlers(app) if config.name == "sweep_orders"]
        self.job = ScheduledJob(app, config, STAGE, VirtualClock())
        self.lock = threading.Lock()
        self.last = 0.0
        self.holds = 0

    def tick(self) -> None:
        with self.lock:
            if self.holds or time.monotonic() - self.last < SWEEP_EVERY_SECONDS:
                return
            self.last = time.monotonic()
        self.job.fire(self.job.clock.now())

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self.lock:
            self.holds += 1
        try:
            yield
        finally:
            with self.lock:
                self.holds -= 1


_schedules: list[SweeperSchedule] = []


def sweep_when_due() -> None:
    """Run the sweeper if its period passed (the tests' wait helpers call it as they poll)."""
    if _schedules:
        _schedules[-1].tick()


@contextmanager
def sweeper_paused() -> Iterator[None]:
    """No scheduled sweep while the test sweeps itself (and counts what one sweep did)."""
    with _schedules[-1].paused():
        yield


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
    """The state machines' tasks in-process, the outbox polled and the sweeper scheduled, for one test module."""
    lambda_dispatch.install(app, STAGE)
    pollers = start_outbox_pollers(app)
    lookback = os.environ.get("ORDER_SWEEP_LOOKBACK_DAYS")
    os.environ["ORDER_SWEEP_LOOKBACK_DAYS"] = SWEEP_LOOKBACK_DAYS
    reset_caches()
    schedule = SweeperSchedule(app)
    _schedules.append(schedule)
    try:
        yield pollers
    finally:
        _schedules.remove(schedule)
        if lookback is None:
            os.environ.pop("ORDER_SWEEP_LOOKBACK_DAYS", None)
        else:
            os.environ["ORDER_SWEEP_LOOKBACK_DAYS"] = lookback
        reset_caches()
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
