"""The executions on Step Functions: an order's payment wait (named by the order id) and an approved refund's
(named by the refund id); start them, look them up, answer the payment task's token."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.aws import client
from chalicelib.observability import logger

GONE_TOKEN_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


class OrderWorkflow(Protocol):
    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        """Start the order's execution; one that exists already (ExecutionAlreadyExists) counts as started."""

    def status(self, order_id: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), None if it was never started."""

    def start_refund(self, refund_id: str, payload: dict[str, Any]) -> None:
        """Start the refund's execution; one that exists already counts as started."""

    def refund_status(self, refund_id: str) -> str | None:
        """The refund execution's status, None if it was never started."""

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Complete the task waiting on this token; False if it is no longer waiting."""

    def fail(self, token: str, error: str, cause: str) -> bool:
        """Fail the task waiting on this token; False if it is no longer waiting."""


class StepFunctionsOrderWorkflow:
    """The state machines of infra/statemachines/order.asl.json (STATE_MACHINE_ORDER_ARN) and refund.asl.json
    (STATE_MACHINE_REFUND_ARN)."""

    def __init__(self, state_machine_arn: str, refund_state_machine_arn: str = "") -> None:
        self.state_machine_arn = state_machine_arn
        self.refund_state_machine_arn = refund_state_machine_arn

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        self._start(self.state_machine_arn, order_id, payload)

    def status(self, order_id: str) -> str | None:
        return self._status(self.state_machine_arn, order_id)

    def start_refund(self, refund_id: str, payload: dict[str, Any]) -> None:
        self._start(self.refund_state_machine_arn, refund_id, payload)

    def refund_status(self, refund_id: str) -> str | None:
        return self._status(self.refund_state_machine_arn, refund_id)

    @staticmethod
    def _start(arn: str, name: str, payload: dict[str, Any]) -> None:
        if not arn:
            logger.warning("no state machine configured; nothing runs the execution", extra={"execution": name})
            return
        try:
            client("stepfunctions").start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise

    @staticmethod
    def _status(arn: str, name: str) -> str | None:
        if not arn:
            return None
        execution_arn = f"{arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        try:
            return str(client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._answer(lambda sfn: sfn.send_task_success(taskToken=token, output=json.dumps(output)))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._answer(lambda sfn: sfn.send_task_failure(taskToken=token, error=error, cause=cause))

    @staticmethod
    def _answer(send: Any) -> bool:
        try:
            send(client("stepfunctions"))
        except ClientError as error:
            if error.response["Error"]["Code"] in GONE_TOKEN_ERRORS:
                return False
            raise
        return True
