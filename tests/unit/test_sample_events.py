"""Every handler that is not an HTTP route has a sample event in events/, and it is well formed."""

from __future__ import annotations

import json
from pathlib import Path

from app import app

EVENTS = Path(__file__).resolve().parents[2] / "events"


def non_http_handlers() -> list[str]:
    names = [source.name for source in app.event_sources]
    names += [function.name for function in app.pure_lambda_functions]
    return sorted(names)


def test_every_non_http_handler_has_a_sample_event() -> None:
    missing = [name for name in non_http_handlers() if not (EVENTS / f"{name}.json").is_file()]

    assert non_http_handlers()
    assert missing == []


def test_sqs_sample_events_are_sqs_shaped() -> None:
    for source in app.event_sources:
        if type(source).__name__ != "SQSEventConfig":
            continue
        event = json.loads((EVENTS / f"{source.name}.json").read_text(encoding="utf-8"))
        assert event["Records"]
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert json.loads(record["body"])
