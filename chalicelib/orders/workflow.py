"""The order's execution on Step Functions: start it named by the order id, look it up, answer its task tokens."""

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

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        """Complete the task waiting on this token; False if it is no longer waiting."""

    def fail(self, token: str, error: str, cause: str) -> bool:
        """Fail the task waiting on this token; False if it is no longer waiting."""


class StepFunctionsOrderWorkflow:
    """The state machine of infra/statemachines/order.asl.json (STATE_MACHINE_ORDER_ARN)."""

    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        arn = self.state_machine_arn
        if not arn:
            logger.warning("no order state machine configured; the order has no timers", extra={"order": order_id})
            return
        try:
            client("stepfunctions").start_execution(stateMachineArn=arn, name=order_id, input=json.dumps(payload))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise

    def status(self, order_id: str) -> str | None:
        arn = self.state_machine_arn
        if not arn:
            return None
        execution_arn = f"{arn.replace(':stateMachine:', ':execution:', 1)}:{order_id}"
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
