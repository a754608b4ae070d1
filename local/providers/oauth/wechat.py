"""WeChat sign-in (website QR login and the Official Account's H5 authorize): api.weixin.qq.com answers 200 with
{"errcode", "errmsg"} on every error."""

from __future__ import annotations

import secrets
from typing import Any

from local.loopback import Answer, json_answer
from local.providers.oauth import codes
from local.providers.oauth.codes import ERROR_LOGIN, EmulatorState

PROVIDER = "wechat"
# The apps the emulator knows, client id -> secret. WeChat's H5 sign-in is a separate Official Account app.
APPS = {"wxemulatedweb0001": "emulated-wechat-web-secret", "wxemulatedmp00001": "emulated-wechat-mp-secret"}
WECHAT_WEB_APP_ID = "wxemulatedweb0001"
WECHAT_H5_APP_ID = "wxemulatedmp00001"


def settings(url: str) -> dict[str, str]:
    """The app's OAUTH_WECHAT_* settings for this emulator."""
    return {
        "OAUTH_WECHAT_APP_ID": WECHAT_WEB_APP_ID,
        "OAUTH_WECHAT_APP_SECRET": APPS[WECHAT_WEB_APP_ID],
        "OAUTH_WECHAT_H5_APP_ID": WECHAT_H5_APP_ID,
        "OAUTH_WECHAT_H5_APP_SECRET": APPS[WECHAT_H5_APP_ID],
        "OAUTH_WECHAT_AUTHORIZE_BASE": f"{url}/wechat/open",
        "OAUTH_WECHAT_API_BASE": f"{url}/wechat/api",
    }


# Identities are deterministic per login, so a second sign-in finds the same account.


def wechat_openid(app_id: str, login: str) -> str:
    """WeChat gives each app its own openid for one user; the unionid is the same across an Open Platform account."""
    return login if app_id != WECHAT_H5_APP_ID else f"mp_{login}"


def wechat_unionid(login: str) -> str:
    return f"union_{login}"


def system_error() -> Answer:
    return json_answer({"errcode": -1, "errmsg": "system error"})


def authorize(shared: EmulatorState, params: dict[str, str]) -> Answer:
    return codes.authorize(PROVIDER, APPS, shared, params, "appid")


def access_token(shared: EmulatorState, params: dict[str, str]) -> Answer:
    app_id = params.get("appid", "")
    if app_id not in APPS:
        return json_answer({"errcode": 40013, "errmsg": "invalid appid"})
    if params.get("secret") != APPS[app_id]:
        return json_answer({"errcode": 40125, "errmsg": "invalid appsecret"})
    if params.get("grant_type") != "authorization_code":
        return json_answer({"errcode": 40002, "errmsg": "invalid grant_type"})
    if not params.get("code"):
        return json_answer({"errcode": 41008, "errmsg": "missing code"})
    issued, outcome = codes.take_code(shared, PROVIDER, params["code"], app_id, None)
    if issued is None:
        if outcome == "used":
            return json_answer({"errcode": 40163, "errmsg": "code been used"})
        return json_answer({"errcode": 40029, "errmsg": "invalid code"})
    if issued.login == ERROR_LOGIN:
        return system_error()
    return json_answer(
        {
            "access_token": outcome,
            "expires_in": 7200,
            "refresh_token": secrets.token_hex(20),
            "openid": wechat_openid(app_id, issued.login),
            "scope": "snsapi_userinfo" if app_id == WECHAT_H5_APP_ID else "snsapi_login",
            "unionid": wechat_unionid(issued.login),
        }
    )


def userinfo(shared: EmulatorState, params: dict[str, str]) -> Answer:
    issued = codes.token_owner(shared, params.get("access_token", ""), PROVIDER)
    if issued is None:
        return json_answer({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
    openid = wechat_openid(issued.client_id, issued.login)
    if params.get("openid") != openid:
        return json_answer({"errcode": 40003, "errmsg": "invalid openid"})
    return json_answer(
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


# (method, path) -> (kind, route); "api" routes obey the failure switch, "page" routes are the user's browser.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("GET", "/wechat/open/connect/qrconnect"): ("page", authorize),
    ("GET", "/wechat/open/connect/oauth2/authorize"): ("page", authorize),
    ("GET", "/wechat/api/sns/oauth2/access_token"): ("api", access_token),
    ("GET", "/wechat/api/sns/userinfo"): ("api", userinfo),
}
