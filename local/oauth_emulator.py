"""A local stand-in for the WeChat, Weibo and QQ sign-in providers, speaking their real requests and answers."""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from local.loopback import LoopbackService

# The apps the emulator knows: provider -> {client id: secret}. WeChat's H5 sign-in is a separate Official Account app.
APPS: dict[str, dict[str, str]] = {
    "wechat": {"wxemulatedweb0001": "emulated-wechat-web-secret", "wxemulatedmp00001": "emulated-wechat-mp-secret"},
    "weibo": {"2000000001": "emulated-weibo-secret"},
    "qq": {"101000001": "emulated-qq-secret"},
}
WECHAT_H5_APP_ID = "wxemulatedmp00001"
CODE_TTL_SECONDS = 300
ERROR_LOGIN = "__error__"  # login_as=__error__: the code exchange answers the provider's "system error"
FAILURE_MODES = ("none", "error", "garbage", "slow", "reset")
CONTROL_PATH = "/__emulator__/failure"


@dataclass
class IssuedCode:
    provider: str
    client_id: str
    redirect_uri: str
    login: str
    issued_at: float
    used: bool = False


@dataclass
class EmulatorState:
    """Codes, tokens and the failure mode, shared by the server's threads."""

    codes: dict[str, IssuedCode] = field(default_factory=dict)
    tokens: dict[str, IssuedCode] = field(default_factory=dict)
    failure: str = "none"
    failure_provider: str | None = None
    slow_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class OAuthEmulator(LoopbackService):
    """A threaded HTTP server on a loopback port; `env()` is what points the app at it."""

    thread_name = "oauth-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = EmulatorState()
        super().__init__(_handler_for(self.state), host, port)

    def fail(self, mode: str, provider: str | None = None, slow_seconds: float | None = None) -> None:
        """Make the providers' APIs (all, or one) answer an error, garbage, slowly, or drop the connection."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"failure mode must be one of {FAILURE_MODES}")
        with self.state.lock:
            self.state.failure, self.state.failure_provider = mode, provider
            if slow_seconds is not None:
                self.state.slow_seconds = slow_seconds

    def reset(self) -> None:
        with self.state.lock:
            self.state.codes.clear()
            self.state.tokens.clear()
            self.state.failure, self.state.failure_provider, self.state.slow_seconds = "none", None, 3.0

    def env(self) -> dict[str, str]:
        """The app's OAUTH_* settings for this emulator."""
        (wechat_web, wechat_web_secret), (wechat_mp, wechat_mp_secret) = APPS["wechat"].items()
        (weibo_id, weibo_secret), (qq_id, qq_secret) = next(iter(APPS["weibo"].items())), next(iter(APPS["qq"].items()))
        return {
            "OAUTH_WECHAT_APP_ID": wechat_web,
            "OAUTH_WECHAT_APP_SECRET": wechat_web_secret,
            "OAUTH_WECHAT_H5_APP_ID": wechat_mp,
            "OAUTH_WECHAT_H5_APP_SECRET": wechat_mp_secret,
            "OAUTH_WECHAT_AUTHORIZE_BASE": f"{self.url}/wechat/open",
            "OAUTH_WECHAT_API_BASE": f"{self.url}/wechat/api",
            "OAUTH_WEIBO_APP_ID": weibo_id,
            "OAUTH_WEIBO_APP_SECRET": weibo_secret,
            "OAUTH_WEIBO_AUTHORIZE_BASE": f"{self.url}/weibo",
            "OAUTH_WEIBO_API_BASE": f"{self.url}/weibo",
            "OAUTH_QQ_APP_ID": qq_id,
            "OAUTH_QQ_APP_SECRET": qq_secret,
            "OAUTH_QQ_AUTHORIZE_BASE": f"{self.url}/qq",
            "OAUTH_QQ_API_BASE": f"{self.url}/qq",
        }


def start_oauth_emulator(host: str = "127.0.0.1", port: int = 0) -> OAuthEmulator:
    return OAuthEmulator(host, port).start()


# ---- identities: deterministic per login, so a second sign-in finds the same account ----


def wechat_openid(app_id: str, login: str) -> str:
    """WeChat gives each app its own openid for one user; the unionid is the same across an Open Platform account."""
    return login if app_id != WECHAT_H5_APP_ID else f"mp_{login}"


def wechat_unionid(login: str) -> str:
    return f"union_{login}"


def qq_openid(login: str) -> str:
    return f"QQ{login}"


def weibo_uid(login: str) -> str:
    return str(5_000_000_000 + int.from_bytes(login.encode()[:8].ljust(8, b"\0"), "big") % 1_000_000_000)


# ---- the HTTP side ----


class _Answer:
    def __init__(self, status: int, body: str | bytes, content_type: str, headers: dict[str, str] | None = None):
        self.status, self.content_type, self.headers = status, content_type, headers or {}
        self.body = body.encode() if isinstance(body, str) else body


DROP = _Answer(0, b"", "")


def _json(body: dict[str, Any], status: int = 200, content_type: str = "application/json; charset=utf-8") -> _Answer:
    return _Answer(status, json.dumps(body, ensure_ascii=False), content_type)


def _text(body: str, status: int = 200) -> _Answer:
    return _Answer(status, body, "text/plain; charset=utf-8")


def _html_page(title: str, body: str, status: int = 200) -> _Answer:
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title>"
    page = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
    return _Answer(status, page, "text/html; charset=utf-8")


def _redirect(location: str) -> _Answer:
    return _Answer(302, b"", "text/html; charset=utf-8", {"Location": location})


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _handler_for(state: EmulatorState) -> type[BaseHTTPRequestHandler]:
    class Handler(_EmulatorHandler):
        shared = state

    return Handler


class _EmulatorHandler(BaseHTTPRequestHandler):
    shared: EmulatorState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app logs its own provider calls."""

    def do_GET(self) -> None:
        self._serve("GET", {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                form = {k: str(v) for k, v in (json.loads(raw or "{}") or {}).items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = dict(parse_qsl(raw, keep_blank_values=True))
        self._serve("POST", form)

    def _serve(self, method: str, form: dict[str, str]) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        params.update(form)
        route = ROUTES.get((method, parts.path))
        if parts.path == CONTROL_PATH and method == "POST":
            answer = _control(self.shared, params)
        elif route is None:
            answer = _json({"error": "not found", "path": parts.path}, 404)
        else:
            provider, kind, function = route
            answer = self._failure(provider) if kind == "api" else None
            if answer is DROP:
                self.close_connection = True  # "reset": the connection goes away without an answer
                return
            if answer is None:
                answer = function(self.shared, params)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _failure(self, provider: str) -> _Answer | None:
        with self.shared.lock:
            mode, only, slow = self.shared.failure, self.shared.failure_provider, self.shared.slow_seconds
        if mode == "none" or (only is not None and only != provider):
            return None
        if mode == "slow":
            time.sleep(slow)
            return None
        if mode == "reset":
            return DROP
        if mode == "garbage":
            return _html_page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><hr>nginx", 502)
        return SYSTEM_ERRORS[provider]()


def _control(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    mode = params.get("mode", "none")
    if mode not in FAILURE_MODES:
        return _json({"error": f"mode must be one of {FAILURE_MODES}"}, 400)
    try:
        slow_seconds = float(params["slow_seconds"]) if params.get("slow_seconds") else None
    except ValueError:
        return _json({"error": "slow_seconds must be a number"}, 400)
    with shared.lock:
        shared.failure, shared.failure_provider = mode, params.get("provider") or None
        if slow_seconds is not None:
            shared.slow_seconds = slow_seconds
    return _json({"mode": mode, "provider": shared.failure_provider})


SYSTEM_ERRORS = {
    "wechat": lambda: _json({"errcode": -1, "errmsg": "system error"}),
    "weibo": lambda: _json({"error": "system error!", "error_code": 10001, "request": "/oauth2/access_token"}, 500),
    "qq": lambda: _text('callback( {"error":100000,"error_description":"system error"} );\n'),
}


# ---- authorization pages (the browser's side) ----


def _authorize(provider: str, shared: EmulatorState, params: dict[str, str], client_key: str) -> _Answer:
    client_id, redirect_uri = params.get(client_key, ""), params.get("redirect_uri", "")
    if client_id not in APPS[provider]:
        return _html_page("Error", f"<p>{provider}: unknown {client_key} {html.escape(client_id)}</p>", 400)
    if not redirect_uri.startswith(("http://", "https://")) or params.get("response_type") != "code":
        return _html_page("Error", "<p>redirect_uri and response_type=code are required</p>", 400)
    login = params.get("login_as")
    if not login:
        retry = html.escape(_with_query(f"?{urlencode(params)}", {"login_as": "demo_user"}))
        body = (
            f"<h1>{provider}: scan the QR code</h1><p>Scan the QR code with the {provider} app to sign in.</p>"
            f"<p>This is the local emulator: add <code>&amp;login_as=&lt;openid&gt;</code> to this page's URL, "
            f"or <a href='{retry}'>sign in as demo_user</a>.</p>"
        )
        return _html_page(f"{provider} sign-in", body)
    code = secrets.token_hex(16)
    with shared.lock:
        shared.codes[code] = IssuedCode(provider, client_id, redirect_uri, login, time.time())
    back = {"code": code}
    if "state" in params:
        back["state"] = params["state"]
    return _redirect(_with_query(redirect_uri, back))


def _take_code(
    shared: EmulatorState, provider: str, code: str, client_id: str, redirect_uri: str | None
) -> tuple[IssuedCode | None, str]:
    """The code if it may be exchanged, else why not: unknown, used, expired, other client, other redirect_uri."""
    with shared.lock:
        issued = shared.codes.get(code)
        if issued is None or issued.provider != provider:
            return None, "invalid"
        if issued.used:
            return None, "used"
        if time.time() - issued.issued_at > CODE_TTL_SECONDS:
            return None, "invalid"
        if issued.client_id != client_id:
            return None, "invalid"
        if redirect_uri is not None and issued.redirect_uri != redirect_uri:
            return None, "redirect"
        issued.used = True
        token = secrets.token_hex(20)
        shared.tokens[token] = issued
    return issued, token


def _token_owner(shared: EmulatorState, token: str, provider: str) -> IssuedCode | None:
    with shared.lock:
        issued = shared.tokens.get(token)
    return issued if issued is not None and issued.provider == provider else None


# WeChat: api.weixin.qq.com answers 200 with {"errcode", "errmsg"} on every error.


def wechat_access_token(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    app_id = params.get("appid", "")
    if app_id not in APPS["wechat"]:
        return _json({"errcode": 40013, "errmsg": "invalid appid"})
    if params.get("secret") != APPS["wechat"][app_id]:
        return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
    if params.get("grant_type") != "authorization_code":
        return _json({"errcode": 40002, "errmsg": "invalid grant_type"})
    if not params.get("code"):
        return _json({"errcode": 41008, "errmsg": "missing code"})
    issued, outcome = _take_code(shared, "wechat", params["code"], app_id, None)
    if issued is None:
        if outcome == "used":
            return _json({"errcode": 40163, "errmsg": "code been used"})
        return _json({"errcode": 40029, "errmsg": "invalid code"})
    if issued.login == ERROR_LOGIN:
        return SYSTEM_ERRORS["wechat"]()
    return _json(
        {
            "access_token": outcome,
            "expires_in": 7200,
            "refresh_token": secrets.token_hex(20),
            "openid": wechat_openid(app_id, issued.login),
            "scope": "snsapi_userinfo" if app_id == WECHAT_H5_APP_ID else "snsapi_login",
            "unionid": wechat_unionid(issued.login),
        }
    )


def wechat_userinfo(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    issued = _token_owner(shared, params.get("access_token", ""), "wechat")
    if issued is None:
        return _json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
    openid = wechat_openid(issued.client_id, issued.login)
    if params.get("openid") != openid:
        return _json({"errcode": 40003, "errmsg": "invalid openid"})
    return _json(
        {
            "openid": openid,
            "nickname": f"微信用户{issued.login}",
            "sex": 0,
            "language": "",
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": f"https://thirdwx.qlogo.cn/mmopen/emulated/{issued.login}/132",
            "privilege": [],
            "unionid": wechat_unionid(issued.login),
        }
    )


# Weibo: errors are HTTP 400 with {"error", "error_code", "request", "error_uri", "error_description"}.


def _weibo_error(error: str, code: int, request: str, description: str = "") -> _Answer:
    body = {"error": error, "error_code": code, "request": request, "error_uri": request}
    if description:
        body["error_description"] = description
    return _json(body, 400)


def weibo_access_token(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    client_id, request = params.get("client_id", ""), "/oauth2/access_token"
    if client_id not in APPS["weibo"] or params.get("client_secret") != APPS["weibo"][client_id]:
        return _weibo_error("invalid_client", 21324, request, "unknown client_id or wrong client_secret")
    if params.get("grant_type") != "authorization_code":
        return _weibo_error("unsupported_grant_type", 21328, request)
    issued, outcome = _take_code(shared, "weibo", params.get("code", ""), client_id, params.get("redirect_uri", ""))
    if issued is None:
        if outcome == "redirect":
            return _weibo_error("redirect_uri_mismatch", 21322, request, "redirect_uri does not match")
        return _weibo_error("invalid_grant", 21325, request, f"invalid authorization code:{params.get('code', '')}")
    if issued.login == ERROR_LOGIN:
        return SYSTEM_ERRORS["weibo"]()
    return _json({"access_token": outcome, "remind_in": "157679999", "expires_in": 157679999,
                  "uid": weibo_uid(issued.login), "isRealName": "true"})  # fmt: skip


def weibo_users_show(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    issued = _token_owner(shared, params.get("access_token", ""), "weibo")
    if issued is None:
        return _weibo_error("invalid_access_token", 21332, "/2/users/show.json")
    uid = weibo_uid(issued.login)
    if params.get("uid") != uid:
        return _weibo_error("permission denied!", 20112, "/2/users/show.json")
    return _json(
        {
            "id": int(uid),
            "idstr": uid,
            "screen_name": f"微博用户{issued.login}",
            "name": f"微博用户{issued.login}",
            "location": "北京",
            "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.50.50.50/{uid}.jpg",
            "avatar_large": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.180/{uid}.jpg",
            "gender": "n",
        }
    )


# QQ: fmt=json answers JSON; without it, `a=b&c=d` for a token and JSONP `callback( {...} );` for everything else.


def _qq_answer(params: dict[str, str], body: dict[str, Any], token_form: bool = False) -> _Answer:
    if params.get("fmt") == "json":
        return _json(body, content_type="text/html; charset=utf-8")  # QQ labels its JSON text/html
    if token_form and "error" not in body:
        return _text(urlencode(body))
    return _text(f"callback( {json.dumps(body)} );\n")


def qq_token(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    client_id = params.get("client_id", "")
    if client_id not in APPS["qq"]:
        return _qq_answer(params, {"error": 100008, "error_description": "client_id not exist"})
    if params.get("client_secret") != APPS["qq"][client_id]:
        return _qq_answer(params, {"error": 100009, "error_description": "client secret is illegal"})
    issued, outcome = _take_code(shared, "qq", params.get("code", ""), client_id, params.get("redirect_uri", ""))
    if issued is None:
        if outcome == "used":
            return _qq_answer(params, {"error": 100020, "error_description": "code is reused error"})
        if outcome == "redirect":
            return _qq_answer(params, {"error": 100010, "error_description": "redirect uri is illegal"})
        return _qq_answer(params, {"error": 100019, "error_description": "code to access token error"})
    if issued.login == ERROR_LOGIN:
        return _qq_answer(params, {"error": 100000, "error_description": "system error"})
    body = {"access_token": outcome, "expires_in": "7776000", "refresh_token": secrets.token_hex(20)}
    return _qq_answer(params, body, token_form=True)


def qq_me(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    issued = _token_owner(shared, params.get("access_token", ""), "qq")
    if issued is None:
        return _qq_answer(params, {"error": 100016, "error_description": "access token check failed"})
    body = {"client_id": issued.client_id, "openid": qq_openid(issued.login)}
    if params.get("unionid") == "1":
        body["unionid"] = f"UID_{issued.login}"
    return _qq_answer(params, body)


def qq_user_info(shared: EmulatorState, params: dict[str, str]) -> _Answer:
    issued = _token_owner(shared, params.get("access_token", ""), "qq")
    if issued is None or params.get("oauth_consumer_key") != issued.client_id:
        return _json({"ret": 100016, "msg": "access token check failed"})
    if params.get("openid") != qq_openid(issued.login):
        return _json({"ret": -22, "msg": "openid is invalid"})
    figure = f"http://thirdqq.qlogo.cn/g?b=oidb&k=emulated{issued.login}&s="
    return _json(
        {
            "ret": 0,
            "msg": "",
            "is_lost": 0,
            "nickname": f"QQ用户{issued.login}",
            "gender": "男",
            "figureurl_qq_1": figure + "40",
            "figureurl_qq_2": figure + "100",
        }
    )


ROUTES: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("GET", "/wechat/open/connect/qrconnect"): ("wechat", "page", lambda s, p: _authorize("wechat", s, p, "appid")),
    ("GET", "/wechat/open/connect/oauth2/authorize"): (
        "wechat",
        "page",
        lambda s, p: _authorize("wechat", s, p, "appid"),
    ),
    ("GET", "/wechat/api/sns/oauth2/access_token"): ("wechat", "api", wechat_access_token),
    ("GET", "/wechat/api/sns/userinfo"): ("wechat", "api", wechat_userinfo),
    ("GET", "/weibo/oauth2/authorize"): ("weibo", "page", lambda s, p: _authorize("weibo", s, p, "client_id")),
    ("POST", "/weibo/oauth2/access_token"): ("weibo", "api", weibo_access_token),
    ("GET", "/weibo/2/users/show.json"): ("weibo", "api", weibo_users_show),
    ("GET", "/qq/oauth2.0/authorize"): ("qq", "page", lambda s, p: _authorize("qq", s, p, "client_id")),
    ("GET", "/qq/oauth2.0/token"): ("qq", "api", qq_token),
    ("GET", "/qq/oauth2.0/me"): ("qq", "api", qq_me),
    ("GET", "/qq/user/get_user_info"): ("qq", "api", qq_user_info),
}
