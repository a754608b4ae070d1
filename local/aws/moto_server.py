"""The embedded moto server: moto's WSGI app behind one lock, Step Functions executing, Lambda without Docker."""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.config import default_user_config
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.models import sqs_backends
from moto.stepfunctions.models import StateMachineInstance
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.aws import moto_json

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# moto is not thread safe: every request into its WSGI app runs under this lock, which also makes
# the local "DynamoDB" linearizable like the real one's conditional writes.
_MOTO_LOCK = threading.Lock()
_holder = threading.local()
# In process (mock_aws: the functional tests, whose pollers, state machine tasks and test thread call moto at once)
# there is no server lock: DynamoDB and its streams take this one, so that each request is whole (see
# apply_moto_workarounds). Reentrant: nothing in a DynamoDB request waits on another thread.
_DYNAMODB_LOCK = threading.RLock()

# How often an emulated SQS long poll looks at the queue again (outside the lock) when it cannot wait on the queue
# itself; and the longest it waits on the queue without looking (a message whose visibility timeout ends wakes no one).
_LONG_POLL_INTERVAL_SECONDS = 0.05
_LONG_POLL_MAX_WAIT_SECONDS = 1.0

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def configure_moto() -> None:
    """Run real ASL in Step Functions and keep Lambda in-process (no Docker) for every backend created from now."""
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    apply_moto_workarounds()


def apply_moto_workarounds() -> None:
    """Fix, in place, the moto 5.2.1 bugs the runtime runs into (idempotent; also needed under mock_aws).

    StartExecution deep-copies the state machine, including its past executions and their live
    threads and locks, so a state machine's second execution fails with "cannot pickle
    '_thread.RLock' object" (getmoto/moto#10077, fixed upstream by #10093). The copy only needs
    the definition: leave the executions out of it, as the upstream fix does. TransactWriteItems
    undoes a cancelled transaction item by item (_transact_write_items_with_item_undo), and every
    DynamoDB request runs alone (_serialised). Not a bug, but most of moto's time: DynamoDB's reads and
    writes answer as plain JSON (local.aws.moto_json).
    """
    moto_json.install()
    if "__deepcopy__" not in StateMachineInstance.__dict__:
        StateMachineInstance.__deepcopy__ = _deepcopy_without_executions  # type: ignore[attr-defined]
    if DynamoDBBackend.transact_write_items is not _transact_write_items_with_item_undo:
        global _original_transact_write_items
        _original_transact_write_items = DynamoDBBackend.transact_write_items
        DynamoDBBackend.transact_write_items = _transact_write_items_with_item_undo  # type: ignore[method-assign]
        Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        if not getattr(handler.call_action, "serialised", False):
            handler.call_action = _serialised(handler.call_action)  # type: ignore[method-assign]


def _serialised(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One DynamoDB (or DynamoDB Streams) request at a time, as DynamoDB's own writes are linearizable.

    moto's DynamoDB is not thread safe, and a cancelled transaction is undone by putting back the
    items it touched as they were when it began: a write another thread made to one of them
    meanwhile (an order's stock given back, a coupon's lock) was erased, and the stream records
    appended meanwhile cut off. The server's lock already serialises every request; in process
    (mock_aws) nothing did.
    """

    @functools.wraps(call_action)
    def call_action_alone(self: Any) -> Any:
        with _DYNAMODB_LOCK:
            return call_action(self)

    call_action_alone.serialised = True  # type: ignore[attr-defined]
    return call_action_alone


def _deepcopy_without_executions(self: Any, memo: dict[int, Any]) -> Any:
    executions = self.__dict__.get("executions")
    if executions is not None:
        memo[id(executions)] = []
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        setattr(clone, key, copy.deepcopy(value, memo))
    return clone


def aws_environment(endpoint_url: str | None) -> dict[str, str]:
    """The variables that point boto3 and pynamodb in this process (and its children) at the local server."""
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        **FAKE_CREDENTIALS,
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


@contextmanager
def outside_moto_lock() -> Iterator[None]:
    """Let the current request's thread run user code without holding the moto lock.

    A Lambda invocation arrives as a request (so it holds the lock), but the function it runs
    calls moto again over HTTP from other threads; holding the lock meanwhile would deadlock.
    Outside a locked request (in-process mock_aws, tests) this does nothing.
    """
    if not getattr(_holder, "holds_lock", False):
        yield
        return
    _holder.holds_lock = False
    _MOTO_LOCK.release()
    try:
        yield
    finally:
        _MOTO_LOCK.acquire()
        _holder.holds_lock = True


# TransactWriteItems deep-copies every table it touches, once per action, to undo a cancelled
# transaction; the copy includes all items and the table's whole stream history, so each
# transaction costs O(table) and seeding 200 products took minutes. Keep undo records of only
# the touched items instead (and the stream's length), and make the table copy a no-op inside. The undo is exact
# only while no other request runs meanwhile: DynamoDB requests are serialised (_serialised).
_transaction = threading.local()
_original_transact_write_items: Callable[..., Any] = DynamoDBBackend.transact_write_items


def _table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    if getattr(_transaction, "active", False):
        return self
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        setattr(clone, key, copy.deepcopy(value, memo))
    return clone


def _transact_write_items_with_item_undo(self: Any, transact_items: list[dict[str, Any]]) -> Any:
    undo: list[tuple[Any, Any, Any, Any]] = []
    touched: set[tuple[int, str, str]] = set()
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            key = op["Key"] if op_type != "Put" else _key_of(table, op["Item"])
            hash_value, range_value = self.get_keys_value(table, key)
        except (KeyError, TypeError, ValueError, StopIteration, MockValidationException):
            continue  # a malformed action: the original implementation rejects it
        ident = (id(table), str(hash_value), str(range_value))
        if ident not in touched:
            touched.add(ident)
            undo.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    _transaction.active = True
    try:
        return _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, previous in reversed(undo):
            _restore_item(table, hash_value, range_value, previous)
        for shard, length in streams.values():
            del shard.items[length:]
        raise
    finally:
        _transaction.active = False


def _key_of(table: Any, item: dict[str, Any]) -> dict[str, Any]:
    key = {table.hash_key_attr: item[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = item[table.range_key_attr]
    return key


def _restore_item(table: Any, hash_value: Any, range_value: Any, previous: Any) -> None:
    if table.has_range_key:
        bucket = table.items[hash_value]
        if previous is None:
            bucket.pop(range_value, None)
        else:
            bucket[range_value] = previous
    elif previous is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = previous


def _call_locked(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[Any], bytes]:
    """Run one request through moto under the lock and return status, headers and the whole body."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = status
        captured["headers"] = headers
        return lambda _chunk: None

    with _MOTO_LOCK:
        _holder.holds_lock = True
        try:
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            _holder.holds_lock = False
    return captured["status"], captured["headers"], body


class SerializedMotoApp:
    """moto's WSGI app with every request serialised, and SQS long polls waited out without the lock."""

    def __init__(self, app: WSGIApp | None = None) -> None:
        self._app = app or DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        wait_seconds, environ = _split_sqs_long_poll(_unsigned_preflight(environ))
        deadline = time.monotonic() + wait_seconds
        while True:
            status, headers, body = _call_locked(
                self._app, dict(environ, **{"wsgi.input": io.BytesIO(environ["moto.body"])})
            )
            if wait_seconds <= 0 or time.monotonic() >= deadline or not _is_empty_receive(status, body):
                break
            _wait_for_a_message(environ, deadline - time.monotonic())
        start_response(status, headers)
        return [body]


def _unsigned_preflight(environ: dict[str, Any]) -> dict[str, Any]:
    """A browser's CORS preflight of a presigned S3 URL without the URL's query string.

    S3 answers a preflight (OPTIONS with Access-Control-Request-Method) from the bucket's CORS rules and never checks a
    signature on it; moto 5.2.1 checks the presigned PUT's signature against the OPTIONS and answers 403, so a browser
    could not upload a review photo to the URL `POST /uploads` hands out.
    """
    query = environ.get("QUERY_STRING") or ""
    if environ.get("REQUEST_METHOD") != "OPTIONS" or "HTTP_ACCESS_CONTROL_REQUEST_METHOD" not in environ:
        return environ
    if "Signature=" not in query:  # Signature (SigV2) and X-Amz-Signature (SigV4) presigned URLs
        return environ
    return dict(environ, QUERY_STRING="")


def _split_sqs_long_poll(environ: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Buffer the body; for an SQS ReceiveMessage that long-polls, return its wait and a copy asking for no wait.

    moto waits out WaitTimeSeconds inside the request, which under the one lock would stall every
    other AWS call in the process for up to 20 s.
    """
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ = dict(environ, **{"moto.body": body})
    if environ.get("HTTP_X_AMZ_TARGET") != "AmazonSQS.ReceiveMessage" or not body:
        return 0.0, environ
    try:
        request = json.loads(body)
        wait_seconds = float(request.get("WaitTimeSeconds") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0.0, environ
    if not 0 < wait_seconds <= 20:
        return 0.0, environ
    request["WaitTimeSeconds"] = 0
    new_body = json.dumps(request).encode("utf-8")
    return wait_seconds, dict(environ, **{"moto.body": new_body, "CONTENT_LENGTH": str(len(new_body))})


def _wait_for_a_message(environ: dict[str, Any], timeout: float) -> None:
    """Sleep until a message is sent to the long-polled queue (moto's queue notifies its condition), for at most
    `timeout` and `_LONG_POLL_MAX_WAIT_SECONDS`. Asking moto again every few milliseconds instead cost an idle local
    server a third of a core (a dozen pollers, each request through moto's whole dispatch)."""
    queue = _sqs_queue(environ)
    if queue is None or queue.messages:  # unknown queue, or visible messages not given (a FIFO group in flight)
        time.sleep(max(0.0, min(timeout, _LONG_POLL_INTERVAL_SECONDS)))
        return
    condition = queue._messages_lock
    with condition:  # add_message appends and notifies under it: checked and waited on without a gap
        if not queue.messages:
            condition.wait(max(0.0, min(timeout, _LONG_POLL_MAX_WAIT_SECONDS)))


def _sqs_queue(environ: dict[str, Any]) -> Any:
    """moto's queue a ReceiveMessage request names, or None when it cannot be found (the caller then polls)."""
    try:
        account_id, name = urllib.parse.urlsplit(json.loads(environ["moto.body"])["QueueUrl"]).path.split("/")[1:3]
        queue = sqs_backends[account_id][REGION].queues.get(name)
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return queue if isinstance(getattr(queue, "_messages_lock", None), threading.Condition) else None


def _is_empty_receive(status: str, body: bytes) -> bool:
    if not status.startswith("200"):
        return False
    try:
        return not json.loads(body or b"{}").get("Messages")
    except ValueError:
        return False


class _QuietRequestHandler(WSGIRequestHandler):
    """No access line per AWS call: the runtime's own output stays readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class MotoServer:
    """An in-process moto server on a loopback port, run in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> MotoServer:
        configure_moto()
        self._server = make_server(
            self._host,
            self._port,
            SerializedMotoApp(),
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None


def start_moto_server(host: str = "127.0.0.1", port: int = 0) -> MotoServer:
    """Start moto, point this process's AWS clients at it and tell moto's Step Functions where Lambda is."""
    server = MotoServer(host, port).start()
    # The state machine interpreter calls Lambda and SQS at localhost:$MOTO_PORT (default 5000).
    os.environ["MOTO_PORT"] = str(server.port)
    os.environ.update(aws_environment(server.endpoint_url))
    # A developer's HTTP(S)_PROXY must not swallow the loopback calls to moto, from this process or the interpreter.
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(name, "").split(",") if h]
        os.environ[name] = ",".join([*hosts, *(h for h in ("127.0.0.1", "localhost") if h not in hosts)])
    return server
