"""Reading each provider's answers, recorded as the providers send them, including their error forms."""

from __future__ import annotations

import pytest

from chalicelib.accounts.oauth.config import OAuthSettings
from chalicelib.accounts.oauth.providers import (
    ProviderAnswer,
    ProviderDirectory,
    ProviderIdentity,
    ProviderTransport,
    parse_qq_me,
    parse_qq_token,
    parse_qq_user,
    parse_wechat_token,
    parse_wechat_user,
    parse_weibo_token,
    parse_weibo_user,
)
from chalicelib.errors import DependencyUnavailable, NotFound, ValidationError

WECHAT_TOKEN = (
    '{"access_token":"ACCESS_TOKEN","expires_in":7200,"refresh_token":"REFRESH_TOKEN",'
    '"openid":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","scope":"snsapi_login","unionid":"o6_bmasdasdsad6_2sgVt7hMZOPfL"}'
)
WECHAT_USER = (
    '{"openid":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","nickname":"张三","sex":1,"province":"广东","city":"广州",'
    '"country":"中国","headimgurl":"https://thirdwx.qlogo.cn/mmopen/g3MonUZtNHkdmzicIlibx6iaFqAc56vxLSUfpb6n5WKSYVY0'
    'ChQKkiaJSgQ1dZuTOgvLLrhJbERQQ4eMsv84eavHiaiceqxibJxCfHe/46","privilege":["PRIVILEGE1"],'
    '"unionid":"o6_bmasdasdsad6_2sgVt7hMZOPfL"}'
)
WEIBO_TOKEN = '{"access_token":"2.00ABCDEF","remind_in":"157679999","expires_in":157679999,"uid":"1404376560"}'
WEIBO_USER = (
    '{"id":1404376560,"idstr":"1404376560","screen_name":"zaku","name":"zaku","location":"北京 朝阳区",'
    '"profile_image_url":"http://tp1.sinaimg.cn/1404376560/50/0/1","avatar_large":"http://tp1.sinaimg.cn/1404376560/180/0/1"}'
)
QQ_TOKEN_JSON = (
    '{"access_token":"FE04************************CCE2","expires_in":"7776000","refresh_token":"88E4***BE14"}'
)
QQ_TOKEN_CLASSIC = "access_token=FE04************************CCE2&expires_in=7776000&refresh_token=88E4***BE14"
QQ_ME_JSON = '{"client_id":"101000001","openid":"4D3A6E7F0E6B4B2F9F1C1A2B3C4D5E6F","unionid":"UID_ABCDEF"}'
QQ_ME_CALLBACK = 'callback( {"client_id":"101000001","openid":"4D3A6E7F0E6B4B2F9F1C1A2B3C4D5E6F"} );\n'
QQ_USER = (
    '{"ret":0,"msg":"","is_lost":0,"nickname":"QQ空间","gender":"男",'
    '"figureurl_qq_1":"http://thirdqq.qlogo.cn/g?b=oidb&k=x&s=40","figureurl_qq_2":"http://thirdqq.qlogo.cn/g?b=oidb&k=x&s=100"}'
)


def ok(text: str, status: int = 200) -> ProviderAnswer:
    return ProviderAnswer(status, text)


def test_wechat_signs_in_on_the_unionid_with_nickname_and_avatar() -> None:
    token = parse_wechat_token(ok(WECHAT_TOKEN))

    identity = parse_wechat_user(ok(WECHAT_USER), token)

    assert token["openid"] == "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    assert identity.subject == "o6_bmasdasdsad6_2sgVt7hMZOPfL"
    assert identity.nickname == "张三" and identity.avatar_url.startswith("https://thirdwx.qlogo.cn/")


def test_wechat_without_a_unionid_signs_in_on_the_openid() -> None:
    token = parse_wechat_token(ok('{"access_token":"T","expires_in":7200,"openid":"oOPENID","scope":"snsapi_login"}'))

    identity = parse_wechat_user(ok('{"openid":"oOPENID","nickname":"n","headimgurl":""}'), token)

    assert (identity.subject, identity.avatar_url) == ("oOPENID", None)


@pytest.mark.parametrize(
    "body",
    ['{"errcode":40029,"errmsg":"invalid code"}', '{"errcode":40163,"errmsg":"code been used, hints: [ req_id: x ]"}'],
)
def test_a_wechat_invalid_or_used_code_is_the_callers_error(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_wechat_token(ok(body))


@pytest.mark.parametrize(
    "answer",
    [
        ok('{"errcode":40125,"errmsg":"invalid appsecret"}'),
        ok('{"errcode":-1,"errmsg":"system error"}'),
        ok("<html><body>502 Bad Gateway</body></html>", 502),
        ok(""),
        ok('["not", "an", "object"]'),
        ok('{"expires_in":7200}'),
    ],
)
def test_a_wechat_failure_or_nonsense_is_a_dependency_failure(answer: ProviderAnswer) -> None:
    with pytest.raises(DependencyUnavailable):
        parse_wechat_token(answer)


def test_a_wechat_user_info_error_is_a_dependency_failure() -> None:
    with pytest.raises(DependencyUnavailable):
        parse_wechat_user(ok('{"errcode":40003,"errmsg":"invalid openid"}'), {"access_token": "T", "openid": "o"})


def test_weibo_signs_in_on_the_uid_with_screen_name_and_large_avatar() -> None:
    access_token, uid = parse_weibo_token(ok(WEIBO_TOKEN))

    identity = parse_weibo_user(ok(WEIBO_USER), uid)

    assert (access_token, uid) == ("2.00ABCDEF", "1404376560")
    assert identity == ProviderIdentity("weibo", "1404376560", "zaku", "http://tp1.sinaimg.cn/1404376560/180/0/1")


def test_a_weibo_uid_sent_as_a_number_is_read_as_text() -> None:
    assert parse_weibo_token(ok('{"access_token":"T","expires_in":1,"uid":1404376560}'))[1] == "1404376560"


def test_a_weibo_invalid_grant_is_the_callers_error() -> None:
    body = (
        '{"error":"invalid_grant","error_code":21325,"request":"/oauth2/access_token",'
        '"error_uri":"/oauth2/access_token","error_description":"invalid authorization code:abc"}'
    )
    with pytest.raises(ValidationError):
        parse_weibo_token(ok(body, 400))


@pytest.mark.parametrize(
    "answer",
    [
        ok('{"error":"invalid_client","error_code":21324,"request":"/oauth2/access_token"}', 400),
        ok('{"error":"system error!","error_code":10001,"request":"/oauth2/access_token"}', 500),
        ok("Service Unavailable", 503),
    ],
)
def test_a_weibo_failure_is_a_dependency_failure(answer: ProviderAnswer) -> None:
    with pytest.raises(DependencyUnavailable):
        parse_weibo_token(answer)


def test_a_weibo_user_show_error_is_a_dependency_failure() -> None:
    with pytest.raises(DependencyUnavailable):
        parse_weibo_user(ok('{"error":"expired_token","error_code":21327,"request":"/2/users/show.json"}', 400), "1")


@pytest.mark.parametrize("body", [QQ_TOKEN_JSON, QQ_TOKEN_CLASSIC])
def test_a_qq_token_is_read_from_json_and_from_the_classic_form(body: str) -> None:
    assert parse_qq_token(ok(body)) == "FE04************************CCE2"


@pytest.mark.parametrize(
    "body",
    [
        '{"error":100019,"error_description":"code to access token error"}',
        'callback( {"error":100020,"error_description":"code is reused error"} );\n',
    ],
)
def test_a_qq_bad_or_reused_code_is_the_callers_error_in_either_form(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_qq_token(ok(body))


@pytest.mark.parametrize(
    "body",
    [
        'callback( {"error":100009,"error_description":"client secret is illegal"} );\n',
        '{"error":100000,"error_description":"system error"}',
        "<!DOCTYPE html><html>maintenance</html>",
    ],
)
def test_a_qq_token_failure_is_a_dependency_failure(body: str) -> None:
    with pytest.raises(DependencyUnavailable):
        parse_qq_token(ok(body))


def test_qq_signs_in_on_the_unionid_when_there_is_one_else_the_openid() -> None:
    openid, unionid = parse_qq_me(ok(QQ_ME_JSON))
    classic_openid, no_unionid = parse_qq_me(ok(QQ_ME_CALLBACK))

    with_union = parse_qq_user(ok(QQ_USER), openid, unionid)
    without = parse_qq_user(ok(QQ_USER), classic_openid, no_unionid)

    assert with_union.subject == "UID_ABCDEF"
    assert without.subject == "4D3A6E7F0E6B4B2F9F1C1A2B3C4D5E6F"
    assert with_union.nickname == "QQ空间" and with_union.avatar_url.endswith("s=100")


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parse_qq_me, 'callback( {"error":100016,"error_description":"access token check failed"} );'),
        (lambda answer: parse_qq_user(answer, "o", None), '{"ret":-22,"msg":"openid is invalid"}'),
        (lambda answer: parse_qq_user(answer, "o", None), '{"msg":"no ret"}'),
    ],
)
def test_qq_openid_and_user_info_errors_are_dependency_failures(parse: object, body: str) -> None:
    with pytest.raises(DependencyUnavailable):
        parse(ok(body))  # type: ignore[operator]


def test_an_identity_id_we_cannot_key_on_is_a_dependency_failure() -> None:
    with pytest.raises(DependencyUnavailable):
        parse_weibo_token(ok('{"access_token":"T","uid":"../../etc#passwd"}'))


class RecordedTransport(ProviderTransport):
    """Answers each URL path with a recorded body and remembers what was asked."""

    def __init__(self, answers: dict[str, ProviderAnswer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def get(self, url: str, params: dict[str, str]) -> ProviderAnswer:
        self.calls.append(("GET", url, params))
        return self.answers[url]

    def post_form(self, url: str, data: dict[str, str]) -> ProviderAnswer:
        self.calls.append(("POST", url, data))
        return self.answers[url]


SETTINGS = OAuthSettings.from_env(
    {
        "OAUTH_QQ_APP_ID": "101000001",
        "OAUTH_QQ_APP_SECRET": "s3cret",
        "OAUTH_WEIBO_APP_ID": "2000000001",
        "OAUTH_WEIBO_APP_SECRET": "w3ibo",
    }
)


def test_the_qq_exchange_sends_the_redirect_uri_and_asks_for_json_and_the_unionid() -> None:
    transport = RecordedTransport(
        {
            "https://graph.qq.com/oauth2.0/token": ok(QQ_TOKEN_JSON),
            "https://graph.qq.com/oauth2.0/me": ok(QQ_ME_JSON),
            "https://graph.qq.com/user/get_user_info": ok(QQ_USER),
        }
    )

    identity = ProviderDirectory(SETTINGS, transport).get("qq").identity("CODE", "http://localhost/cb", "pc")

    token_call, me_call, user_call = transport.calls
    assert token_call[2] == {
        "grant_type": "authorization_code",
        "client_id": "101000001",
        "client_secret": "s3cret",
        "code": "CODE",
        "redirect_uri": "http://localhost/cb",
        "fmt": "json",
    }
    assert me_call[2]["unionid"] == "1" and me_call[2]["fmt"] == "json"
    assert user_call[2]["oauth_consumer_key"] == "101000001"
    assert identity.subject == "UID_ABCDEF"


def test_the_weibo_exchange_is_a_form_post_with_the_redirect_uri() -> None:
    transport = RecordedTransport(
        {
            "https://api.weibo.com/oauth2/access_token": ok(WEIBO_TOKEN),
            "https://api.weibo.com/2/users/show.json": ok(WEIBO_USER),
        }
    )

    ProviderDirectory(SETTINGS, transport).get("weibo").identity("CODE", "http://localhost/cb", "h5")

    assert transport.calls[0][0] == "POST" and transport.calls[0][2]["redirect_uri"] == "http://localhost/cb"
    assert transport.calls[1][2] == {"access_token": "2.00ABCDEF", "uid": "1404376560"}


def test_a_provider_without_app_credentials_is_unavailable_and_an_unknown_one_is_not_found() -> None:
    directory = ProviderDirectory(SETTINGS, RecordedTransport({}))

    with pytest.raises(DependencyUnavailable):
        directory.get("wechat")
    with pytest.raises(NotFound):
        directory.get("github")
