"""Third-party sign-in and binding through the HTTP API, against the local provider emulator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chalicelib.accounts.oauth.repository import DynamoOAuthStateRepository, OAuthState
from chalicelib.accounts.oauth.service import state_key_hash
from chalicelib.clock import epoch_seconds
from local.providers.oauth.server import OAuthEmulator, start_oauth_emulator
from tests.functional.conftest import ShopClient, register_and_login

REDIRECT_URI = "http://127.0.0.1:3000/oauth/done"


@pytest.fixture(scope="module")
def emulator() -> Iterator[OAuthEmulator]:
    running = start_oauth_emulator()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def oauth(emulator: OAuthEmulator, client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> OAuthEmulator:
    """The emulator, reset, with the app pointed at it and short provider timeouts."""
    emulator.reset()
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OAUTH_HTTP_TIMEOUT_SECONDS", "0.5")
    return emulator


def authorize(
    shop: ShopClient, provider: str, token: str | None = None, redirect_uri: str = REDIRECT_URI, **params: str
) -> tuple[int, dict]:
    query = httpx.QueryParams({"redirect_uri": redirect_uri, **params})
    status, body, _ = shop.call("GET", f"/auth/oauth/{provider}/authorize?{query}", token=token)
    return status, body


def provider_redirect(authorize_url: str, login_as: str) -> dict[str, str]:
    """What the user's browser does: open the page, sign in as login_as, follow the 302 back to us."""
    page, _, _fragment = authorize_url.partition("#")  # WeChat's #wechat_redirect stays last, as a browser keeps it
    answer = httpx.get(f"{page}&login_as={login_as}", follow_redirects=False, trust_env=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def callback(client: ShopClient, provider: str, code: str, state: str, state_key: str) -> tuple[int, dict]:
    """The client that started the flow finishes it: it brings the state_key /authorize gave it."""
    query = httpx.QueryParams({"code": code, "state": state})
    status, body, _ = client.call("GET", f"/auth/oauth/{provider}/callback?{query}", **{"X-OAuth-State-Key": state_key})
    return status, body


def sign_in(shop: ShopClient, provider: str, login_as: str, **params: str) -> tuple[int, dict]:
    status, started = authorize(shop, provider, **params)
    assert status == 200, started
    back = provider_redirect(started["authorize_url"], login_as)
    assert back["state"] == started["state"]
    return callback(shop, provider, back["code"], back["state"], started["state_key"])


@pytest.mark.parametrize("provider", ["wechat", "weibo", "qq"])
def test_a_first_provider_sign_in_creates_the_account_and_the_second_finds_it(
    client: ShopClient, oauth: OAuthEmulator, provider: str
) -> None:
    first_status, first = sign_in(client, provider, "zhang_san")
    second_status, second = sign_in(client, provider, "zhang_san")

    assert (first_status, first["is_new_user"]) == (200, True)
    assert (second_status, second["is_new_user"]) == (200, False)
    assert second["user"] == first["user"]
    assert first["token_type"] == "Bearer" and first["access_token"] and first["refresh_token"]
    assert first["user"]["username"].startswith(f"{provider}_")
    me = client.call("GET", "/me/bindings", token=second["access_token"])
    if me[0] == 200:  # the personal center may not serve bindings yet
        assert me[1]["providers"][provider]["bound"] is True


def test_h5_sign_in_uses_the_providers_mobile_pages_and_the_same_wechat_account(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    urls = {
        provider: authorize(client, provider, client="h5")[1]["authorize_url"] for provider in ("wechat", "weibo", "qq")
    }
    _, on_pc = sign_in(client, "wechat", "li_si")

    status, on_phone = sign_in(client, "wechat", "li_si", client="h5")

    assert "/connect/oauth2/authorize?" in urls["wechat"] and "scope=snsapi_userinfo" in urls["wechat"]
    assert urls["wechat"].endswith("#wechat_redirect")
    assert "display=mobile" in urls["weibo"] and "display=mobile" in urls["qq"]
    # The Official Account (H5) has another openid than the website app; the unionid is the same person.
    assert (status, on_phone["is_new_user"], on_phone["user"]) == (200, False, on_pc["user"])


def test_the_pc_authorize_url_is_the_providers_qr_page_with_our_app_and_redirect(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    status, started = authorize(client, "wechat")

    url = urlsplit(started["authorize_url"])
    query = parse_qs(url.query)
    assert status == 200
    assert url.path.endswith("/connect/qrconnect") and url.fragment == "wechat_redirect"
    assert query["appid"] == [oauth.env()["OAUTH_WECHAT_APP_ID"]]
    assert query["redirect_uri"] == [REDIRECT_URI] and query["scope"] == ["snsapi_login"]
    assert query["state"] == [started["state"]] and started["expires_in"] == 600


def test_a_replayed_state_is_refused_the_second_time(client: ShopClient, oauth: OAuthEmulator) -> None:
    _, started = authorize(client, "weibo")
    back = provider_redirect(started["authorize_url"], "wang_wu")
    first = callback(client, "weibo", back["code"], back["state"], started["state_key"])

    status, body = callback(client, "weibo", back["code"], back["state"], started["state_key"])

    assert first[0] == 200
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "already used" in body["message"]


def test_a_state_issued_for_another_provider_is_refused(client: ShopClient, oauth: OAuthEmulator) -> None:
    _, started = authorize(client, "qq")
    back = provider_redirect(started["authorize_url"], "zhao_liu")

    status, body = callback(client, "wechat", back["code"], back["state"], started["state_key"])

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "issued for qq" in body["message"]


def test_an_expired_state_is_refused(client: ShopClient, oauth: OAuthEmulator) -> None:
    issued_long_ago = OAuthState(
        state="a" * 40,
        provider="wechat",
        redirect_uri=REDIRECT_URI,
        purpose="login",
        client="pc",
        user_id=None,
        created_at="2026-01-01T00:00:00Z",
        expires_at=epoch_seconds() - 1,  # DynamoDB's TTL deletion lags (and moto never deletes): checked on read
        key_hash=state_key_hash("the-clients-key"),
    )
    DynamoOAuthStateRepository().save_state(issued_long_ago)

    status, body = callback(client, "wechat", "any-code", issued_long_ago.state, "the-clients-key")

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "expired" in body["message"]


def test_an_unknown_state_or_a_malformed_callback_is_a_validation_error(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    unknown = callback(client, "wechat", "code", "f" * 40, "some-key")
    no_code = client.call("GET", f"/auth/oauth/wechat/callback?state={'f' * 40}", **{"X-OAuth-State-Key": "k"})
    odd_state = callback(client, "wechat", "code", "not a state!", "some-key")

    assert (unknown[0], unknown[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (no_code[0], no_code[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (odd_state[0], odd_state[1]["code"]) == (400, "VALIDATION_ERROR")


def test_an_unknown_provider_is_not_found(client: ShopClient, oauth: OAuthEmulator) -> None:
    status, body = authorize(client, "github")

    assert (status, body["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/steal",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "javascript:alert(1)",
    ],
)
def test_a_redirect_uri_off_the_allow_list_is_refused(
    client: ShopClient, oauth: OAuthEmulator, redirect_uri: str
) -> None:
    status, body = authorize(client, "wechat", redirect_uri=redirect_uri)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "redirect_uri"


def test_a_code_the_provider_calls_invalid_is_a_validation_error(client: ShopClient, oauth: OAuthEmulator) -> None:
    _, started = authorize(client, "qq")
    back = provider_redirect(started["authorize_url"], "sun_qi")
    _, second_try = authorize(client, "qq")

    status, body = callback(client, "qq", "0123456789abcdef", second_try["state"], second_try["state_key"])

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "code"
    assert back["code"]  # the real code was never exchanged


@pytest.mark.parametrize("provider", ["wechat", "weibo", "qq"])
def test_a_provider_error_answer_is_a_bad_gateway(client: ShopClient, oauth: OAuthEmulator, provider: str) -> None:
    status, body = sign_in(client, provider, "__error__")

    assert (status, body["code"]) == (502, "BAD_GATEWAY")


@pytest.mark.parametrize("mode", ["garbage", "reset", "slow"])
def test_a_provider_that_is_down_or_answers_nonsense_is_a_bad_gateway(
    client: ShopClient, oauth: OAuthEmulator, mode: str
) -> None:
    _, started = authorize(client, "weibo")
    back = provider_redirect(started["authorize_url"], "zhou_ba")
    oauth.fail(mode, "weibo", slow_seconds=1.0)

    status, body = callback(client, "weibo", back["code"], back["state"], started["state_key"])

    assert (status, body["code"]) == (502, "BAD_GATEWAY")
    assert body["request_id"]


def test_a_provider_nobody_listens_for_is_a_bad_gateway(
    client: ShopClient, oauth: OAuthEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, started = authorize(client, "wechat")
    back = provider_redirect(started["authorize_url"], "wu_jiu")
    monkeypatch.setenv("OAUTH_WECHAT_API_BASE", "http://127.0.0.1:9")  # discard port: nothing listens

    status, body = callback(client, "wechat", back["code"], back["state"], started["state_key"])

    assert (status, body["code"]) == (502, "BAD_GATEWAY")


def test_a_signed_in_customer_binds_a_provider_identity(client: ShopClient, oauth: OAuthEmulator) -> None:
    token = register_and_login(client, "alice")
    _, started = authorize(client, "weibo", token=token, purpose="bind")
    back = provider_redirect(started["authorize_url"], "alice_weibo")

    status, bindings, _ = client.call(
        "POST", "/me/bindings/weibo", {"code": back["code"], "state": back["state"]}, token=token
    )
    _, signed_in = sign_in(client, "weibo", "alice_weibo")

    assert status == 200
    assert bindings["providers"]["weibo"]["bound"] is True
    assert bindings["providers"]["weibo"]["nickname"] == "微博用户alice_weibo"
    assert (signed_in["is_new_user"], signed_in["user"]["username"]) == (False, "alice")


def test_binding_an_identity_that_another_account_holds_is_a_conflict(client: ShopClient, oauth: OAuthEmulator) -> None:
    sign_in(client, "qq", "shared_qq")  # creates an account holding this QQ identity
    token = register_and_login(client, "bob")
    _, started = authorize(client, "qq", token=token, purpose="bind")
    back = provider_redirect(started["authorize_url"], "shared_qq")

    status, body, _ = client.call(
        "POST", "/me/bindings/qq", {"code": back["code"], "state": back["state"]}, token=token
    )

    assert (status, body["code"]) == (409, "CONFLICT")


def test_a_bind_state_works_only_for_the_account_it_was_issued_to(client: ShopClient, oauth: OAuthEmulator) -> None:
    alice, mallory = register_and_login(client, "alice"), register_and_login(client, "mallory")
    _, started = authorize(client, "wechat", token=alice, purpose="bind")
    back = provider_redirect(started["authorize_url"], "alice_wx")

    status, body, _ = client.call(
        "POST", "/me/bindings/wechat", {"code": back["code"], "state": back["state"]}, token=mallory
    )

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "another account" in body["message"]


def test_a_bind_state_cannot_sign_in_and_a_sign_in_state_cannot_bind(client: ShopClient, oauth: OAuthEmulator) -> None:
    token = register_and_login(client, "alice")
    _, bind_started = authorize(client, "wechat", token=token, purpose="bind")
    bind_back = provider_redirect(bind_started["authorize_url"], "alice_wx")
    _, login_started = authorize(client, "wechat")
    login_back = provider_redirect(login_started["authorize_url"], "alice_wx")

    as_login = callback(client, "wechat", bind_back["code"], bind_back["state"], bind_started["state_key"])
    as_bind = client.call(
        "POST", "/me/bindings/wechat", {"code": login_back["code"], "state": login_back["state"]}, token=token
    )

    assert (as_login[0], as_login[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (as_bind[0], as_bind[1]["code"]) == (400, "VALIDATION_ERROR")


def test_a_bind_state_needs_a_signed_in_caller_and_binding_needs_a_token(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    no_token_state = authorize(client, "wechat", purpose="bind")
    no_token_bind = client.call("POST", "/me/bindings/wechat", {"code": "c", "state": "a" * 40})

    assert (no_token_state[0], no_token_state[1]["code"]) == (401, "UNAUTHORIZED")
    assert (no_token_bind[0], no_token_bind[1]["code"]) == (401, "UNAUTHORIZED")


def test_a_bind_request_with_unknown_fields_is_a_validation_error(client: ShopClient, oauth: OAuthEmulator) -> None:
    token = register_and_login(client, "alice")

    status, body, _ = client.call("POST", "/me/bindings/qq", {"code": "c", "state": "a" * 40, "x": 1}, token=token)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


def test_the_openapi_document_declares_the_oauth_routes_and_their_errors(client: ShopClient) -> None:
    document = client.call("GET", "/openapi.json")[1]

    start = document["paths"]["/auth/oauth/{provider}/authorize"]["get"]
    finish = document["paths"]["/auth/oauth/{provider}/callback"]["get"]
    bind = document["paths"]["/me/bindings/{provider}"]["post"]
    assert {"200", "400", "401", "502"} <= set(start["responses"])
    assert {p["name"] for p in start["parameters"]} >= {"provider", "redirect_uri", "client", "purpose"}
    assert {"200", "400", "502"} <= set(finish["responses"])
    assert {"200", "400", "401", "409", "502"} <= set(bind["responses"])
    assert bind["security"] == [{"bearerAuth": []}]


# -- the state is bound to the client that started the flow ------------------------------------------------------


def test_a_callback_without_the_clients_state_key_is_refused_and_the_state_stays_usable(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    """GIVEN a victim's browser that started a sign-in WHEN an attacker finishes it with a leaked code or their own,
    with no state_key or with the key of a flow the attacker started THEN 401 both times, and the victim's own
    client, bringing its key, still signs in with that state."""
    _, victims = authorize(client, "wechat")
    back = provider_redirect(victims["authorize_url"], "victim")
    _, attackers = authorize(client, "wechat")
    attacker_code = provider_redirect(attackers["authorize_url"], "mallory")["code"]
    query = httpx.QueryParams({"code": attacker_code, "state": back["state"]})

    no_key = client.call("GET", f"/auth/oauth/wechat/callback?{query}")
    other_key = callback(client, "wechat", attacker_code, back["state"], attackers["state_key"])
    owner = callback(client, "wechat", back["code"], back["state"], victims["state_key"])

    assert (no_key[0], no_key[1]["code"]) == (401, "UNAUTHORIZED")
    assert (other_key[0], other_key[1]["code"]) == (401, "UNAUTHORIZED")
    assert owner[0] == 200 and owner[1]["is_new_user"] is True
    assert client.call("GET", "/me", token=owner[1]["access_token"])[1]["nickname"] == "微信用户victim"


def test_authorize_hands_out_a_state_key_and_sets_it_as_an_http_only_lax_cookie_for_the_callback(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    """GIVEN a browser flow whose redirect_uri is the API's callback itself WHEN the browser lands there THEN its
    oauth_state_key cookie (set by /authorize, HttpOnly, SameSite=Lax) stands in for the header, and is cleared."""
    query = httpx.QueryParams({"redirect_uri": REDIRECT_URI})
    status, started, headers = client.call("GET", f"/auth/oauth/qq/authorize?{query}")
    cookie = headers["Set-Cookie"]
    back = provider_redirect(started["authorize_url"], "cookie_user")

    landed = client.call(
        "GET",
        f"/auth/oauth/qq/callback?{httpx.QueryParams(back)}",
        cookie=cookie.split(";")[0],
    )

    assert status == 200 and len(started["state_key"]) >= 43 and started["state_key"] not in started["authorize_url"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0] == f"oauth_state_key={started['state_key']}"
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= set(attributes) and "Secure" not in attributes  # local: http
    assert landed[0] == 200 and landed[1]["is_new_user"] is True
    assert landed[2]["Set-Cookie"].startswith("oauth_state_key=;") and "Max-Age=0" in landed[2]["Set-Cookie"]


@pytest.mark.parametrize(("provider", "documented_code"), [("qq", 100010), ("weibo", 21322)])
def test_a_code_issued_for_another_redirect_is_a_400_never_a_bad_gateway(
    client: ShopClient, oauth: OAuthEmulator, provider: str, documented_code: int
) -> None:
    """GIVEN a code the provider issued for one redirect_uri WHEN it is brought to a flow started for another THEN the
    provider refuses it (QQ 100010, Weibo 21322) and we answer 400: attacker input, not a provider outage."""
    _, first = authorize(client, provider)
    back = provider_redirect(first["authorize_url"], "someone")
    _, second = authorize(client, provider, redirect_uri=REDIRECT_URI + "/elsewhere")

    status, body = callback(client, provider, back["code"], second["state"], second["state_key"])

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["message"].startswith(str(documented_code))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "\r\nSet-Cookie: session=evil",
        REDIRECT_URI + "%0d%0a x",
        " " + REDIRECT_URI,
        REDIRECT_URI + "\t",
        REDIRECT_URI + "#fragment",
        REDIRECT_URI.replace("/oauth/done", "/oauth/../evil"),
        REDIRECT_URI.replace("/oauth/done", "/oauth/%2e%2e/evil"),
        REDIRECT_URI.replace("http://", "HTTP://"),
        REDIRECT_URI.replace("http://", "http:\\\\"),
        REDIRECT_URI + "?",
    ],
)
def test_a_redirect_uri_that_is_not_exactly_an_allowed_uri_is_refused_not_cleaned(
    client: ShopClient, oauth: OAuthEmulator, redirect_uri: str
) -> None:
    status, body = authorize(client, "weibo", redirect_uri=redirect_uri)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "redirect_uri"


def test_the_openapi_document_declares_the_state_key_its_header_and_cookie(client: ShopClient) -> None:
    document = client.call("GET", "/openapi.json")[1]

    finish = document["paths"]["/auth/oauth/{provider}/callback"]["get"]
    start = document["paths"]["/auth/oauth/{provider}/authorize"]["get"]
    parameters = {(p["in"], p["name"]) for p in finish["parameters"]}
    assert {("header", "X-OAuth-State-Key"), ("cookie", "oauth_state_key")} <= parameters
    assert "401" in finish["responses"]
    assert "state_key" in document["components"]["schemas"]["OAuthAuthorizeResponse"]["required"]
    assert "Set-Cookie" in start["responses"]["200"]["headers"]
