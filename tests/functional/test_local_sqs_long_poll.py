"""The local moto server's SQS long poll: answered as soon as a message arrives, and idle without asking moto again
and again (a dozen pollers long-poll all the time under `make run` and in the e2e server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from local.aws.moto_server import FAKE_CREDENTIALS, REGION, SerializedMotoApp


class CountingApp:
    """moto's WSGI app, counting the requests that reach it."""

    def __init__(self) -> None:
        self._app = DomainDispatcherApplication(create_backend_app)
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        return self._app(environ, start_response)


@pytest.fixture
def moto_app() -> Iterator[tuple[CountingApp, Any]]:
    counting = CountingApp()
    server = make_server("127.0.0.1", 0, SerializedMotoApp(counting), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        yield counting, sqs
    finally:
        server.shutdown()
        thread.join(5)


def test_a_long_poll_of_an_empty_queue_waits_its_time_out_without_asking_moto_again_and_again(
    moto_app: tuple[CountingApp, Any],
) -> None:
    # GIVEN an empty queue
    counting, sqs = moto_app
    queue_url = sqs.create_queue(QueueName="idle-long-poll")["QueueUrl"]
    before = counting.calls
    # WHEN a consumer long-polls it for 2 seconds
    started = time.monotonic()
    answer = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)
    waited = time.monotonic() - started
    # THEN it gets nothing after about 2 seconds, and moto was asked a few times, not every few milliseconds
    assert "Messages" not in answer
    assert 1.8 <= waited < 4.0
    assert counting.calls - before <= 5


def test_a_long_poll_answers_as_soon_as_a_message_is_sent(moto_app: tuple[CountingApp, Any]) -> None:
    # GIVEN a consumer long-polling an empty queue for up to 10 seconds
    _counting, sqs = moto_app
    queue_url = sqs.create_queue(QueueName="busy-long-poll")["QueueUrl"]
    answers: list[dict[str, Any]] = []
    started = time.monotonic()
    consumer = threading.Thread(
        target=lambda: answers.append(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)), daemon=True
    )
    consumer.start()
    time.sleep(0.3)
    # WHEN a message is sent meanwhile
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    consumer.join(10)
    # THEN the consumer gets it at once, long before its wait ends
    assert [message["Body"] for message in answers[0]["Messages"]] == ["hello"]
    assert time.monotonic() - started < 3.0
