"""WeChat, Weibo and QQ authorization-code flows: authorize URLs, code exchange, user info, and their answer formats."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode

from chalicelib import outbound
from chalicelib.accounts.oauth.config import OAuthSettings, ProviderConfig
from chalicelib.errors import DependencyUnavailable, DomainError, NotFound, ValidationError
from chalicelib.inputs import is_ascii_digits

SUBJECT_PATTERN = re.compile(r"[A-Za-z0-9_.\-=+/@]{1,128}")
MAX_NICKNAME_LENGTH = 64
INVALID_CODE_MESSAGE = "The provider rejected the authorization code: invalid, expired or already used"
WEIBO_DISPLAY = {"h5": "mobile", "app": "client"}


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in: the stable subject we key the account on, and what they show of themselves."""

    provider: str
    subject: str
    nickname: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True)
class ProviderAnswer:
    """One HTTP answer of a provider's API, as received."""

    status: int
    text: str


class ProviderTransport:
    """How the provider APIs are called: httpx in the app, recorded answers in unit tests."""

    def get(self, url: str, params: dict[str, str]) -> ProviderAnswer:
        raise NotImplementedError

    def post_form(self, url: str, data: dict[str, str]) -> ProviderAnswer:
        raise NotImplementedError


class HttpxTransport(ProviderTransport):
    """Provider calls over httpx with short timeouts; an outage of any kind is DependencyUnavailable (502)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def get(self, url: str, params: dict[str, str]) -> ProviderAnswer:
        return self._send("GET", url, params=params)

    def post_form(self, url: str, data: dict[str, str]) -> ProviderAnswer:
        return self._send("POST", url, data=data)

    def _send(self, method: str, url: str, **kwargs: Any) -> ProviderAnswer:
        response = outbound.request(method, url, self.timeout_seconds, **kwargs)
        return ProviderAnswer(response.status_code, response.text)


class OAuthProvider:
    """One provider's authorization-code flow; subclasses know its URLs and answer formats."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    REFUSED_INPUT_ERRORS: ClassVar[dict[int, str]] = {}  # documented error codes that refuse the client's input

    def __init__(self, config: ProviderConfig, transport: ProviderTransport) -> None:
        self.config = config
        self.transport = transport

    def authorize_url(self, state: str, redirect_uri: str, client: str) -> str:
        raise NotImplementedError

    def identity(self, code: str, redirect_uri: str, client: str) -> ProviderIdentity:
        """Exchange the code (with the redirect_uri it was issued for) and read the user's profile."""
        raise NotImplementedError


class WeChatProvider(OAuthProvider):
    """WeChat Open Platform website QR sign-in (pc) and Official Account web authorization (h5)."""

    name, display_name = "wechat", "WeChat"
    QR_PAGE = ("/connect/qrconnect", "snsapi_login")
    # WeChat's documented answers that refuse what the client brought (the code, or the user behind it): 400.
    # Every other errcode (-1 busy, 40001/40013/40125 our credentials, 40164 our IP, 45011 our quota, 48001 our
    # app's rights, 42001 a token expired) is about us or WeChat: 502.
    REFUSED_INPUT_ERRORS: ClassVar[dict[int, str]] = {
        40029: "invalid code",
        40163: "code been used",
        41008: "missing code",
        42003: "code expired",
        40226: "WeChat blocks this high-risk user from signing in",
        50001: "the user did not authorize this",
    }

    def authorize_url(self, state: str, redirect_uri: str, client: str) -> str:
        app_id, _secret = self.config.credentials(client)
        # PC: the website app's QR page; H5: the Official Account's in-WeChat page (a different app id).
        path, scope = ("/connect/oauth2/authorize", "snsapi_userinfo") if client == "h5" else self.QR_PAGE
        query = {"appid": app_id, "redirect_uri": redirect_uri, "response_type": "code", "scope": scope, "state": state}
        return f"{self.config.authorize_base}{path}?{urlencode(query, quote_via=quote)}#wechat_redirect"

    def identity(self, code: str, redirect_uri: str, client: str) -> ProviderIdentity:
        app_id, secret = self.config.credentials(client)
        token_answer = self.transport.get(
            f"{self.config.api_base}/sns/oauth2/access_token",
            {"appid": app_id, "secret": secret, "code": code, "grant_type": "authorization_code"},
        )
        token = parse_wechat_token(token_answer)
        user_answer = self.transport.get(
            f"{self.config.api_base}/sns/userinfo",
            {"access_token": token["access_token"], "openid": token["openid"], "lang": "zh_CN"},
        )
        return parse_wechat_user(user_answer, token)


class WeiboProvider(OAuthProvider):
    """Weibo OAuth 2.0 web sign-in (pc) and its mobile page (h5, display=mobile)."""

    name, display_name = "weibo", "Weibo"
    # Weibo's documented OAuth2 errors that refuse the client's code or the user's choice: 400. The others (21323
    # invalid_request, 21324 invalid_client, 21326 unauthorized_client, 21327 expired_token, 21328/21329
    # unsupported types, 21331 temporarily_unavailable, 21332 invalid_access_token, 10001 system error...): 502.
    REFUSED_INPUT_ERRORS: ClassVar[dict[int, str]] = {
        21322: "redirect_uri_mismatch: the code was issued for another redirect",
        21325: "invalid_grant: the code is wrong, expired or used",
        21330: "access_denied: the user refused",
    }
    ERROR_NUMBERS: ClassVar[dict[str, int]] = {"redirect_uri_mismatch": 21322, "invalid_grant": 21325,
                                               "access_denied": 21330}  # fmt: skip

    def authorize_url(self, state: str, redirect_uri: str, client: str) -> str:
        app_id, _secret = self.config.credentials(client)
        query = {"client_id": app_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state}
        if client in WEIBO_DISPLAY:  # h5: the mobile page; app: inside the Weibo app, authorized silently
            query["display"] = WEIBO_DISPLAY[client]
        return f"{self.config.authorize_base}/oauth2/authorize?{urlencode(query, quote_via=quote)}"

    def identity(self, code: str, redirect_uri: str, client: str) -> ProviderIdentity:
        app_id, secret = self.config.credentials(client)
        token_answer = self.transport.post_form(
            f"{self.config.api_base}/oauth2/access_token",
            {
                "client_id": app_id,
                "client_secret": secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        access_token, uid = parse_weibo_token(token_answer)
        user_answer = self.transport.get(
            f"{self.config.api_base}/2/users/show.json", {"access_token": access_token, "uid": uid}
        )
        return parse_weibo_user(user_answer, uid)


class QQProvider(OAuthProvider):
    """QQ Connect web sign-in (pc) and its mobile page (h5, display=mobile)."""

    name, display_name = "qq", "QQ"
    # QQ Connect's documented errors that refuse the client's code or the user's choice: 400. The others (100000-4,
    # 100006-9, 100011-17, 100021-29, 100031: our parameters, credentials, app state or tokens): 502.
    REFUSED_INPUT_ERRORS: ClassVar[dict[int, str]] = {
        100005: "missing code",
        100010: "the code was issued for another redirect",
        100018: "no code could be read",
        100019: "the code could not be exchanged (invalid or expired)",
        100020: "code is reused",
        100030: "the user did not authorize this",
    }

    def authorize_url(self, state: str, redirect_uri: str, client: str) -> str:
        app_id, _secret = self.config.credentials(client)
        query = {
            "response_type": "code",
            "client_id": app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "get_user_info",
        }
        if client == "h5":
            query["display"] = "mobile"
        return f"{self.config.authorize_base}/oauth2.0/authorize?{urlencode(query, quote_via=quote)}"

    def identity(self, code: str, redirect_uri: str, client: str) -> ProviderIdentity:
        app_id, secret = self.config.credentials(client)
        token_answer = self.transport.get(
            f"{self.config.api_base}/oauth2.0/token",
            {
                "grant_type": "authorization_code",
                "client_id": app_id,
                "client_secret": secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "fmt": "json",
            },
        )
        access_token = parse_qq_token(token_answer)
        me_answer = self.transport.get(
            f"{self.config.api_base}/oauth2.0/me", {"access_token": access_token, "unionid": "1", "fmt": "json"}
        )
        openid, unionid = parse_qq_me(me_answer)
        user_answer = self.transport.get(
            f"{self.config.api_base}/user/get_user_info",
            {"access_token": access_token, "oauth_consumer_key": app_id, "openid": openid},
        )
        return parse_qq_user(user_answer, openid, unionid)


PROVIDER_CLASSES: dict[str, type[OAuthProvider]] = {
    cls.name: cls for cls in (WeChatProvider, WeiboProvider, QQProvider)
}


class ProviderDirectory:
    """The configured providers by name: 404 for a name we do not offer, 502 for one with no app credentials."""

    def __init__(self, settings: OAuthSettings, transport: ProviderTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or HttpxTransport(settings.http_timeout_seconds)

    def get(self, name: str) -> OAuthProvider:
        cls = PROVIDER_CLASSES.get(name)
        if cls is None:
            raise NotFound(f"No sign-in provider {name!r}; use one of {', '.join(PROVIDER_CLASSES)}")
        config = self.settings.provider(name)
        if not config.configured:
            raise DependencyUnavailable(f"{cls.display_name} sign-in is not configured on this stage")
        return cls(config, self.transport)


# ---- answer parsing: one function per answer, fed the raw answer (unit tests use recorded bodies) ----


def _json_object(answer: ProviderAnswer, provider: str) -> dict[str, Any]:
    """The answer's JSON object; anything else (HTML error page, empty body, a 5xx) means the provider failed."""
    if answer.status >= 500:
        raise DependencyUnavailable(f"{provider} answered HTTP {answer.status}")
    text = answer.text.strip()
    if text.startswith("callback("):
        text = text.removeprefix("callback(").rstrip().removesuffix(";").rstrip().removesuffix(")")
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise DependencyUnavailable(f"{provider} answered something that is not JSON") from error
    if not isinstance(parsed, dict):
        raise DependencyUnavailable(f"{provider} answered JSON that is not an object")
    return parsed


def _required_text(body: dict[str, Any], key: str, provider: str) -> str:
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise DependencyUnavailable(f"{provider} left out {key!r}")
    return value


def _subject(value: str, provider: str) -> str:
    if not SUBJECT_PATTERN.fullmatch(value):
        raise DependencyUnavailable(f"{provider} answered an identity id we cannot use")
    return value


def _optional_text(value: Any, limit: int = 1024) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _error_code(value: Any) -> int | None:
    """A provider's error number, from JSON or form text (ASCII digits only); None when there is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    digits = text.removeprefix("-")
    if not is_ascii_digits(digits):
        return None
    return -int(digits) if text.startswith("-") else int(digits)


def refusal(provider: type[OAuthProvider], code: int | None, what: str) -> DomainError:
    """The one mapping of a provider's error answer: a documented refusal of what the client brought (the code,
    the redirect it was issued for, the user's choice) is 400, never a 5xx (anyone could set off the 5xx alarms
    with a made-up code); anything else is the provider's or our set-up's failure, 502."""
    reason = provider.REFUSED_INPUT_ERRORS.get(code) if code is not None else None
    if reason is not None:
        return ValidationError(INVALID_CODE_MESSAGE, errors=[{"field": "code", "message": f"{code}: {reason}"}])
    return DependencyUnavailable(f"{provider.display_name} {what}".strip())


def parse_wechat_token(answer: ProviderAnswer) -> dict[str, str]:
    """sns/oauth2/access_token -> access_token, openid and (when the app is on an Open Platform account) unionid."""
    body = _json_object(answer, "WeChat")
    errcode = _error_code(body.get("errcode"))
    if errcode:
        raise refusal(WeChatProvider, errcode, f"refused the code exchange: {errcode} {body.get('errmsg', '')}")
    token = {
        "access_token": _required_text(body, "access_token", "WeChat"),
        "openid": _subject(_required_text(body, "openid", "WeChat"), "WeChat"),
    }
    if unionid := _optional_text(body.get("unionid")):
        token["unionid"] = _subject(unionid, "WeChat")
    return token


def parse_wechat_user(answer: ProviderAnswer, token: dict[str, str]) -> ProviderIdentity:
    """sns/userinfo -> the identity: unionid when there is one (it spans the PC and H5 apps), else openid."""
    body = _json_object(answer, "WeChat")
    errcode = _error_code(body.get("errcode"))
    if errcode:
        raise refusal(WeChatProvider, errcode, f"refused the user info: {errcode} {body.get('errmsg', '')}")
    unionid = _optional_text(body.get("unionid")) or token.get("unionid")
    subject = _subject(unionid, "WeChat") if unionid else token["openid"]
    return ProviderIdentity(
        provider="wechat",
        subject=subject,
        nickname=_optional_text(body.get("nickname"), MAX_NICKNAME_LENGTH),
        avatar_url=_optional_text(body.get("headimgurl")),
    )


def parse_weibo_token(answer: ProviderAnswer) -> tuple[str, str]:
    """POST oauth2/access_token -> (access_token, uid)."""
    body = _json_object(answer, "Weibo")
    if "error" in body or "error_code" in body:
        code = _error_code(body.get("error_code"))
        if code is None:  # an answer naming the OAuth error without its number
            code = WeiboProvider.ERROR_NUMBERS.get(str(body.get("error")))
        raise refusal(WeiboProvider, code, f"refused the code exchange: {code} {body.get('error', '')}")
    if answer.status >= 400:
        raise DependencyUnavailable(f"Weibo answered HTTP {answer.status}")
    return _required_text(body, "access_token", "Weibo"), _subject(_required_text(body, "uid", "Weibo"), "Weibo")


def parse_weibo_user(answer: ProviderAnswer, uid: str) -> ProviderIdentity:
    """2/users/show.json -> the identity keyed on the uid the token came with."""
    body = _json_object(answer, "Weibo")
    if "error" in body or "error_code" in body or answer.status >= 400:
        code = _error_code(body.get("error_code"))
        raise refusal(WeiboProvider, code, f"refused the user info: {code} {body.get('error', '')}")
    return ProviderIdentity(
        provider="weibo",
        subject=uid,
        nickname=_optional_text(body.get("screen_name"), MAX_NICKNAME_LENGTH),
        avatar_url=_optional_text(body.get("avatar_large")) or _optional_text(body.get("profile_image_url")),
    )


def _qq_body(answer: ProviderAnswer) -> dict[str, Any]:
    """QQ answers JSON (fmt=json), JSONP `callback( {...} );`, or, for a token, the classic `a=b&c=d` form."""
    text = answer.text.strip()
    if answer.status < 500 and text and not text.startswith(("{", "callback(")) and "=" in text and "<" not in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    return _json_object(answer, "QQ")


def _raise_qq_error(body: dict[str, Any], what: str) -> None:
    if "error" not in body:
        return
    code = _error_code(body.get("error"))
    raise refusal(QQProvider, code, f"refused the {what}: {body.get('error')} {body.get('error_description', '')}")


def parse_qq_token(answer: ProviderAnswer) -> str:
    """oauth2.0/token -> access_token."""
    body = _qq_body(answer)
    _raise_qq_error(body, "code exchange")
    return _required_text(body, "access_token", "QQ")


def parse_qq_me(answer: ProviderAnswer) -> tuple[str, str | None]:
    """oauth2.0/me -> (openid, unionid or None)."""
    body = _qq_body(answer)
    _raise_qq_error(body, "openid lookup")
    openid = _subject(_required_text(body, "openid", "QQ"), "QQ")
    unionid = _optional_text(body.get("unionid"))
    return openid, _subject(unionid, "QQ") if unionid else None


def parse_qq_user(answer: ProviderAnswer, openid: str, unionid: str | None) -> ProviderIdentity:
    """user/get_user_info -> the identity: unionid when there is one, else openid."""
    body = _json_object(answer, "QQ")
    ret = _error_code(body.get("ret"))
    if ret != 0:
        raise DependencyUnavailable(f"QQ refused the user info: {body.get('ret')} {body.get('msg', '')}")
    return ProviderIdentity(
        provider="qq",
        subject=unionid or openid,
        nickname=_optional_text(body.get("nickname"), MAX_NICKNAME_LENGTH),
        avatar_url=_optional_text(body.get("figureurl_qq_2")) or _optional_text(body.get("figureurl_qq_1")),
    )
