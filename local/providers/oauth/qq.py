"""QQ sign-in: fmt=json answers JSON; without it, `a=b&c=d` for a token and JSONP `callback( {...} );` for the rest."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from local.loopback import Answer, json_answer
from local.providers.oauth import codes
from local.providers.oauth.codes import ERROR_LOGIN, EmulatorState

PROVIDER = "qq"
APPS = {"101000001": "emulated-qq-secret"}  # the apps the emulator knows, client id -> secret
QQ_APP_ID = "101000001"


def settings(url: str) -> dict[str, str]:
    """The app's OAUTH_QQ_* settings for this emulator."""
    return {
        "OAUTH_QQ_APP_ID": QQ_APP_ID,
        "OAUTH_QQ_APP_SECRET": APPS[QQ_APP_ID],
        "OAUTH_QQ_AUTHORIZE_BASE": f"{url}/qq",
        "OAUTH_QQ_API_BASE": f"{url}/qq",
    }


def qq_openid(login: str) -> str:
    """Deterministic per login, so a second sign-in finds the same account."""
    return f"QQ{login}"


def system_error() -> Answer:
    return codes.text('callback( {"error":100000,"error_description":"system error"} );\n')


def _answer(params: dict[str, str], body: dict[str, Any], token_form: bool = False) -> Answer:
    if params.get("fmt") == "json":
        return json_answer(body, content_type="text/html; charset=utf-8")  # QQ labels its JSON text/html
    if token_form and "error" not in body:
        return codes.text(urlencode(body))
    return codes.text(f"callback( {json.dumps(body)} );\n")


def authorize(shared: EmulatorState, params: dict[str, str]) -> Answer:
    return codes.authorize(PROVIDER, APPS, shared, params, "client_id")


def token(shared: EmulatorState, params: dict[str, str]) -> Answer:
    client_id = params.get("client_id", "")
    if client_id not in APPS:
        return _answer(params, {"error": 100008, "error_description": "client_id not exist"})
    if params.get("client_secret") != APPS[client_id]:
        return _answer(params, {"error": 100009, "error_description": "client secret is illegal"})
    code, redirect_uri = params.get("code", ""), params.get("redirect_uri", "")
    issued, outcome = codes.take_code(shared, PROVIDER, code, client_id, redirect_uri)
    if issued is None:
        if outcome == "used":
            return _answer(params, {"error": 100020, "error_description": "code is reused error"})
        if outcome == "redirect":
            return _answer(params, {"error": 100010, "error_description": "redirect uri is illegal"})
        return _answer(params, {"error": 100019, "error_description": "code to access token error"})
    if issued.login == ERROR_LOGIN:
        return _answer(params, {"error": 100000, "error_description": "system error"})
    body = {"access_token": outcome, "expires_in": "7776000", "refresh_token": secrets.token_hex(20)}
    return _answer(params, body, token_form=True)


def me(shared: EmulatorState, params: dict[str, str]) -> Answer:
    issued = codes.token_owner(shared, params.get("access_token", ""), PROVIDER)
    if issued is None:
        return _answer(params, {"error": 100016, "error_description": "access token check failed"})
    body = {"client_id": issued.client_id, "openid": qq_openid(issued.login)}
    if params.get("unionid") == "1":
        body["unionid"] = f"UID_{issued.login}"
    return _answer(params, body)


def user_info(shared: EmulatorState, params: dict[str, str]) -> Answer:
    issued = codes.token_owner(shared, params.get("access_token", ""), PROVIDER)
    if issued is None or params.get("oauth_consumer_key") != issued.client_id:
        return json_answer({"ret": 100016, "msg": "access token check failed"})
    if params.get("openid") != qq_openid(issued.login):
        return json_answer({"ret": -22, "msg": "openid is invalid"})
    figure = f"http://thirdqq.qlogo.cn/g?b=oidb&k=emulated{issued.login}&s="
    return json_answer(
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


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the user's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/qq/oauth2.0/authorize"): ("page", authorize),
    ("GET", "/qq/oauth2.0/token"): ("api", token),
    ("GET", "/qq/oauth2.0/me"): ("api", me),
    ("GET", "/qq/user/get_user_info"): ("api", user_info),
}
