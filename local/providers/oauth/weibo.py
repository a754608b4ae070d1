"""Weibo sign-in and its JS-SDK ticket: errors are HTTP 400 with {"error", "error_code", "request", "error_uri",
"error_description"}."""

from __future__ import annotations

import secrets
import time
from typing import Any

from local.loopback import Answer, json_answer
from local.providers.oauth import codes
from local.providers.oauth.codes import ERROR_LOGIN, EmulatorState

PROVIDER = "weibo"
APPS = {"2000000001": "emulated-weibo-secret"}  # the apps the emulator knows, client id -> secret
WEIBO_APP_ID = "2000000001"
JS_TICKET_SECONDS = 7200


def settings(url: str) -> dict[str, str]:
    """The app's OAUTH_WEIBO_* settings for this emulator."""
    return {
        "OAUTH_WEIBO_APP_ID": WEIBO_APP_ID,
        "OAUTH_WEIBO_APP_SECRET": APPS[WEIBO_APP_ID],
        "OAUTH_WEIBO_AUTHORIZE_BASE": f"{url}/weibo",
        "OAUTH_WEIBO_API_BASE": f"{url}/weibo",
    }


def weibo_uid(login: str) -> str:
    """Deterministic per login, so a second sign-in finds the same account."""
    return str(5_000_000_000 + int.from_bytes(login.encode()[:8].ljust(8, b"\0"), "big") % 1_000_000_000)


def system_error() -> Answer:
    return json_answer({"error": "system error!", "error_code": 10001, "request": "/oauth2/access_token"}, 500)


def _error(error: str, code: int, request: str, description: str = "") -> Answer:
    body = {"error": error, "error_code": code, "request": request, "error_uri": request}
    if description:
        body["error_description"] = description
    return json_answer(body, 400)


def authorize(shared: EmulatorState, params: dict[str, str]) -> Answer:
    return codes.authorize(PROVIDER, APPS, shared, params, "client_id")


def access_token(shared: EmulatorState, params: dict[str, str]) -> Answer:
    client_id, request = params.get("client_id", ""), "/oauth2/access_token"
    if client_id not in APPS or params.get("client_secret") != APPS[client_id]:
        return _error("invalid_client", 21324, request, "unknown client_id or wrong client_secret")
    if params.get("grant_type") != "authorization_code":
        return _error("unsupported_grant_type", 21328, request)
    code, redirect_uri = params.get("code", ""), params.get("redirect_uri", "")
    issued, outcome = codes.take_code(shared, PROVIDER, code, client_id, redirect_uri)
    if issued is None:
        if outcome == "redirect":
            return _error("redirect_uri_mismatch", 21322, request, "redirect_uri does not match")
        return _error("invalid_grant", 21325, request, f"invalid authorization code:{params.get('code', '')}")
    if issued.login == ERROR_LOGIN:
        return system_error()
    return json_answer(
        {
            "access_token": outcome,
            "remind_in": "157679999",
            "expires_in": 157679999,
            "uid": weibo_uid(issued.login),
            "isRealName": "true",
        }
    )


def js_ticket(shared: EmulatorState, params: dict[str, str]) -> Answer:
    """oauth2/js_ticket/generate: the app's JS-SDK ticket, the same one until it expires (as Weibo hands it out)."""
    client_id, request = params.get("client_id", ""), "/oauth2/js_ticket/generate"
    if client_id not in APPS or params.get("client_secret") != APPS[client_id]:
        return _error("invalid_client", 21324, request, "unknown client_id or wrong client_secret")
    now = time.time()
    with shared.lock:
        ticket, expires_at = shared.js_tickets.get(client_id, ("", 0.0))
        if expires_at <= now:
            ticket, expires_at = secrets.token_hex(24), now + JS_TICKET_SECONDS
            shared.js_tickets[client_id] = (ticket, expires_at)
    return json_answer({"result": "true", "js_ticket": ticket, "expire_time": int(expires_at - now)})


def users_show(shared: EmulatorState, params: dict[str, str]) -> Answer:
    issued = codes.token_owner(shared, params.get("access_token", ""), PROVIDER)
    if issued is None:
        return _error("invalid_access_token", 21332, "/2/users/show.json")
    uid = weibo_uid(issued.login)
    if params.get("uid") != uid:
        return _error("permission denied!", 20112, "/2/users/show.json")
    return json_answer(
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


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the user's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/weibo/oauth2/authorize"): ("page", authorize),
    ("POST", "/weibo/oauth2/access_token"): ("api", access_token),
    ("GET", "/weibo/2/users/show.json"): ("api", users_show),
    ("POST", "/weibo/oauth2/js_ticket/generate"): ("api", js_ticket),
}
