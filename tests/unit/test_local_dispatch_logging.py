"""The local Lambda dispatch logs a task's designed answer to its state machine (an error the ASL catches by name,
e.g. OrderMovedOn) as one line, and keeps the traceback for real failures."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from chalice import Chalice

from local.aws.lambda_dispatch import caught_by_name, invoke_chalice_function


class OrderMovedOn(Exception):
    """Named as the state machine catches it."""


def probe_app() -> Chalice:
    app = Chalice(app_name="probe")

    @app.lambda_function(name="moved_on")
    def moved_on(event: dict[str, Any], context: Any) -> None:
        raise OrderMovedOn("order o_1 is COMPLETED")

    @app.lambda_function(name="broken")
    def broken(event: dict[str, Any], context: Any) -> None:
        raise ValueError("a real defect")

    return app


def test_the_state_machines_catch_order_moved_on_by_name() -> None:
    assert "OrderMovedOn" in caught_by_name()
    assert not any(name.startswith("States.") for name in caught_by_name())


def test_a_designed_answer_is_one_line_and_a_real_failure_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a task that finds its order moved on, and one with a defect
    app = probe_app()
    with caplog.at_level(logging.INFO, logger="local.aws.lambda_dispatch"):
        # WHEN each is invoked as Lambda would
        moved, moved_failed = invoke_chalice_function(app, "moved_on", {}, function_name="shop-local-moved_on")
        broken, broken_failed = invoke_chalice_function(app, "broken", {}, function_name="shop-local-broken")
    # THEN both are function errors with their exception's name, as Step Functions needs to route them
    assert (moved_failed, json.loads(moved)["errorType"]) == (True, "OrderMovedOn")
    assert (broken_failed, json.loads(broken)["errorType"]) == (True, "ValueError")
    # AND only the defect is logged as an error with a traceback
    by_level = {record.levelno: record for record in caplog.records}
    assert "OrderMovedOn" in by_level[logging.INFO].getMessage() and by_level[logging.INFO].exc_info is None
    assert by_level[logging.ERROR].exc_info is not None
