"""The kuaidi100 emulator on a loopback port. It takes subscriptions as kuaidi100's `POST /poll` does (a form with
`schema` and `param` {"company", "number", "key", "parameters": {"callbackurl", "salt", "phone"?, ...}}; answers
`200` 提交成功, `501` 重复订阅 for a parcel subscribed before, `600` for a wrong key, `400` for incomplete data or a
顺丰 parcel without a phone), keeps each parcel's events and, asked to (`POST /push`, which the app's
`POST /dev/logistics/push` calls), pushes the parcel's whole history exactly as kuaidi100 does: to the callback URL
and with the salt of its subscription (a parcel never subscribed: the callback URL the request names and the
emulator's own salt), a form with `param` (the push JSON, events newest first, Beijing times) and `sign`
(upper-case MD5 of param + the salt)."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from local.loopback import Answer, LoopbackService, json_answer, post, send

PUSH_TIMEOUT_SECONDS = 15.0
BEIJING = timezone(timedelta(hours=8))
STATUS_WORDS = {"0": "在途", "1": "揽收", "2": "疑难", "3": "签收", "4": "退签", "5": "派件", "6": "退回"}
Deliver = Callable[[str, bytes, dict[str, str]], tuple[int, str]]
NEEDS_PHONE = frozenset({"shunfeng", "shunfengkuaiyun"})


def poll_answer(code: str, message: str) -> dict[str, Any]:
    """kuaidi100's answer to a subscription."""
    return {"result": code == "200", "returnCode": code, "message": message}


def sign(param: str, salt: str) -> str:
    """kuaidi100's signature of a push."""
    return hashlib.md5((param + salt).encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class Kuaidi100State:
    """The parcels the emulator tracks: (com, nu) -> their events, oldest first."""

    def __init__(self, salt: str, deliver: Deliver | None = None, key: str = "") -> None:
        self.salt = salt
        self.key = key or secrets.token_hex(16)
        self.deliver = deliver or (lambda url, body, headers: post(url, body, headers, PUSH_TIMEOUT_SECONDS))
        self.lock = threading.Lock()
        self.parcels: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.subscriptions: dict[tuple[str, str], dict[str, str]] = {}
        self.pushes: list[tuple[str, str, int]] = []

    def subscribe(self, body: bytes) -> dict[str, Any]:
        """kuaidi100's subscription (`POST /poll`, form-encoded): the parcel's callback URL and salt recorded, once."""
        try:
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
            param: Any = json.loads(form["param"][0])
            com, nu, key = str(param["company"]), str(param["number"]), str(param["key"])
            parameters = param["parameters"]
            callback_url, salt = str(parameters["callbackurl"]), str(parameters.get("salt") or "")
            phone = str(parameters.get("phone") or "")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return poll_answer("400", "提交的数据不完整")
        if not com or not nu or urlsplit(callback_url).scheme not in ("http", "https"):
            return poll_answer("400", "提交的数据不完整，或者单号不合法")
        if not secrets.compare_digest(key.encode(), self.key.encode()):
            return poll_answer("600", "您不是合法的订阅者（即授权Key出错）")
        if com in NEEDS_PHONE and not phone:
            return poll_answer("400", "顺丰单号需要提供收、寄件人的电话号码（phone）")
        with self.lock:
            if (com, nu) in self.subscriptions:
                return poll_answer("501", "重复订阅")
            self.subscriptions[(com, nu)] = {"callbackurl": callback_url, "salt": salt, "phone": phone}
        return poll_answer("200", "提交成功")

    def push(self, com: str, nu: str, state: str, context: str, location: str, callback_url: str) -> tuple[int, str]:
        """Record the event now and push the parcel's history to its subscription's callback URL, signed with its
        salt (a parcel never subscribed: to callback_url, with the emulator's salt); the app's (status, body)."""
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        event = {"time": now, "ftime": now, "context": context, "areaName": location, "location": location}
        event["status"] = STATUS_WORDS.get(state, "在途")
        with self.lock:
            history = self.parcels.setdefault((com, nu), [])
            history.append(event)
            data = list(reversed(history))
            subscription = self.subscriptions.get((com, nu))
        if subscription is not None:
            callback_url, salt = subscription["callbackurl"], subscription["salt"]
        else:
            salt = self.salt
        checked = "1" if state == "3" else "0"
        last = {"message": "ok", "state": state, "status": "200", "condition": "F00", "ischeck": checked}
        last |= {"com": com, "nu": nu, "data": data}
        push = {"status": "polling", "billstatus": "got", "message": "", "autoCheck": "0", "comOld": "", "comNew": ""}
        param = json.dumps({**push, "lastResult": last}, ensure_ascii=False)
        body = urlencode({"param": param, "sign": sign(param, salt)}).encode()
        status, text = self.deliver(callback_url, body, {"Content-Type": "application/x-www-form-urlencoded"})
        with self.lock:
            self.pushes.append((com, nu, status))
        return status, text


class Kuaidi100Emulator(LoopbackService):
    """A threaded HTTP server on a loopback port; `env()` gives the app its key, the subscription salt, where to
    subscribe and where to ask for pushes."""

    thread_name = "kuaidi100-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, salt: str | None = None, deliver: Deliver | None = None):
        self.state = Kuaidi100State(salt or secrets.token_hex(16), deliver)
        super().__init__(_handler_for(self.state), host, port)

    def env(self) -> dict[str, str]:
        return {
            "KUAIDI100_KEY": self.state.key,
            "KUAIDI100_SALT": self.state.salt,
            "KUAIDI100_POLL_URL": f"{self.url}/poll",
            "KUAIDI100_EMULATOR_URL": self.url,
        }


def start_kuaidi100_emulator(host: str = "127.0.0.1", port: int = 0) -> Kuaidi100Emulator:
    return Kuaidi100Emulator(host, port).start()


def push_answer(state: Kuaidi100State, body: bytes) -> Answer:
    """`POST /push {"com", "nu", "state", "context", "location"?, "callback_url"}`: push that event now."""
    try:
        asked: dict[str, Any] = json.loads(body or b"{}")
        com, nu, parcel_state = str(asked["com"]), str(asked["nu"]), str(asked["state"])
        context, callback_url = str(asked["context"]), str(asked["callback_url"])
    except (ValueError, KeyError, TypeError):
        return json_answer({"error": "give com, nu, state, context and callback_url"}, 400)
    if urlsplit(callback_url).scheme not in ("http", "https"):
        return json_answer({"error": "callback_url must be an http(s) URL"}, 400)
    status, text = state.push(com, nu, parcel_state, context, str(asked.get("location") or ""), callback_url)
    try:
        answer: Any = json.loads(text)
    except ValueError:
        answer = {"text": text}
    return json_answer({"notify_status": status, "notify_answer": answer if isinstance(answer, dict) else {}})


def _handler_for(state: Kuaidi100State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the app logs the pushes it receives."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            if path == "/push":
                send(self, push_answer(state, body))
            elif path == "/poll":
                send(self, json_answer(state.subscribe(body)))
            else:
                send(self, json_answer({"error": "not found", "path": self.path}, 404))

    return Handler
