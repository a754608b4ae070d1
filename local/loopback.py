"""The provider emulators' host: a threaded HTTP server on a loopback port, started and stopped with the local runtime,
and what every emulator shares (its answers, the failure switch, the POST that notifies the app)."""

from __future__ import annotations

import html
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl

# POST <emulator>/__emulator__/failure with mode=...: the provider's APIs answer an error, garbage, slowly, or drop
# the connection, until mode=none.
FAILURE_MODES = ("none", "error", "garbage", "slow", "reset")
CONTROL_PATH = "/__emulator__/failure"


class LoopbackService:
    """Serves `handler` on host:port (0 = a free port) in a daemon thread; `url` says where."""

    thread_name = "loopback-service"

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; harmless when never started or already stopped (shutdown() of a server that is not
        serving would wait forever for serve_forever to say it ended)."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server.server_close()


# ---- what an emulator's route gets and gives ----


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as the client sent them (a WeChat Pay signature covers it)
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {**self.query, **dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))}


class Answer:
    def __init__(self, status: int, body: str | bytes, content_type: str, headers: dict[str, str] | None = None):
        self.status, self.content_type, self.headers = status, content_type, headers or {}
        self.body = body.encode() if isinstance(body, str) else body


DROP = Answer(0, b"", "")  # failure mode "reset": the connection goes away without an answer


def json_answer(
    body: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> Answer:
    return Answer(status, json.dumps(body, ensure_ascii=False), content_type, headers)


def html_page(title: str, body: str, status: int = 200, content_type: str = "text/html; charset=utf-8") -> Answer:
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title>"
    return Answer(status, f"<!doctype html><html><head>{head}</head><body>{body}</body></html>", content_type)


def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    """Write `answer` on the handler's connection; DROP closes it without a word."""
    if answer is DROP:
        handler.close_connection = True
        return
    handler.send_response(answer.status)
    handler.send_header("Content-Type", answer.content_type)
    handler.send_header("Content-Length", str(len(answer.body)))
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(answer.body)


# ---- the emulator calls the app ----

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the app is on loopback


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST to the app (a provider's notify or push): its (status, body), or (0, why) when it could not be reached."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - the app's own URL
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, f"notify failed: {error}"
