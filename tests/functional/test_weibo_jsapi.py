"""Sign-in inside the Weibo app (微博JSAPI授权登录): wb.init's signed config, the silent authorization and the sign-in,
against the local Weibo emulator."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from chalicelib.accounts.oauth import weibo_jsapi
from local.providers.oauth.server import OAuthEmulator, start_oauth_emulator
from local.providers.oauth.weibo import WEIBO_APP_ID
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_oauth import authorize, callback, provider_redirect

PAGE = "http://127.0.0.1:3000/weibo/page?from=feed"


@pytest.fixture(scope="module")
def emulator() -> Iterator[OAuthEmulator]:
    running = start_oauth_emulator()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def oauth(emulator: OAuthEmulator, client: ShopClient, monkeypatch: pytest.MonkeyPatch) -> OAuthEmulator:
    emulator.reset()
    weibo_jsapi.tickets.clear()  # a ticket kept from another emulator run is not this one's
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OAUTH_HTTP_TIMEOUT_SECONDS", "0.5")
    return emulator


def jsapi_sign_in(client: ShopClient, code: str, state: str, state_key: str | None) -> tuple[int, dict]:
    headers = {"X-OAuth-State-Key": state_key} if state_key else {}
    status, body, _ = client.call("POST", "/auth/oauth/weibo/jsapi", {"code": code, "state": state}, **headers)
    return status, body


def in_app_sign_in(client: ShopClient, login_as: str) -> tuple[int, dict]:
    """What the page in the Weibo app does: authorize silently (display=client), then post code and state."""
    status, started = authorize(client, "weibo", display="client")
    assert status == 200, started
    back = provider_redirect(started["authorize_url"], login_as)
    return jsapi_sign_in(client, back["code"], back["state"], started["state_key"])


def test_the_jsapi_config_is_signed_with_the_apps_ticket_as_weibos_js_sdk_checks(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    status, config, headers = client.call("GET", f"/auth/oauth/weibo/jsapi-config?{httpx.QueryParams(url=PAGE)}")

    ticket = oauth.state.js_tickets[WEIBO_APP_ID][0]
    signed = f"jsapi_ticket={ticket}&noncestr={config['noncestr']}&timestamp={config['timestamp']}&url={PAGE}"
    assert status == 200
    assert config["appkey"] == WEIBO_APP_ID
    assert config["signature"] == hashlib.sha1(signed.encode()).hexdigest()  # noqa: S324 - as Weibo signs
    assert isinstance(config["timestamp"], int) and config["noncestr"]
    assert headers.get("Cache-Control") == "no-store"


def test_a_second_config_reuses_the_ticket_with_a_fresh_nonce(client: ShopClient, oauth: OAuthEmulator) -> None:
    query = httpx.QueryParams(url=PAGE)
    first = client.call("GET", f"/auth/oauth/weibo/jsapi-config?{query}")[1]
    oauth.state.js_tickets.clear()  # were the app to ask again, the emulator would hand out another ticket

    second = client.call("GET", f"/auth/oauth/weibo/jsapi-config?{query}")[1]

    assert first["noncestr"] != second["noncestr"]
    assert not oauth.state.js_tickets  # the app kept its ticket: Weibo was not asked again


@pytest.mark.parametrize("url", ["https://evil.example/page", "http://localhost.evil.example/p", "not a url", ""])
def test_a_page_off_the_redirect_allow_list_gets_no_config(client: ShopClient, oauth: OAuthEmulator, url: str) -> None:
    status, body, _ = client.call("GET", f"/auth/oauth/weibo/jsapi-config?{httpx.QueryParams(url=url)}")

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


def test_display_client_opens_weibos_in_app_authorization(client: ShopClient, oauth: OAuthEmulator) -> None:
    status, started = authorize(client, "weibo", display="client")
    other = authorize(client, "wechat", display="client")

    assert status == 200
    assert "display=client" in started["authorize_url"] and started["state_key"]
    assert (other[0], other[1]["code"]) == (400, "VALIDATION_ERROR")


def test_a_first_in_app_sign_in_creates_the_account_and_a_second_finds_it(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    first_status, first = in_app_sign_in(client, "weibo_fan")
    second_status, second = in_app_sign_in(client, "weibo_fan")

    assert (first_status, first["is_new_user"]) == (200, True)
    assert (second_status, second["is_new_user"]) == (200, False)
    assert second["user"] == first["user"] and first["access_token"] and first["refresh_token"]


def test_one_weibo_uid_is_one_account_in_the_web_flow_and_in_the_app(client: ShopClient, oauth: OAuthEmulator) -> None:
    _, on_the_web = authorize(client, "weibo")
    back = provider_redirect(on_the_web["authorize_url"], "same_person")
    web_status, web = callback(client, "weibo", back["code"], back["state"], on_the_web["state_key"])

    app_status, in_app = in_app_sign_in(client, "same_person")

    assert (web_status, web["is_new_user"]) == (200, True)
    assert (app_status, in_app["is_new_user"], in_app["user"]) == (200, False, web["user"])


def test_a_weibo_identity_bound_to_an_account_signs_that_account_in_from_the_app(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    token = register_and_login(client, "bound_fan")
    _, started = authorize(client, "weibo", token=token, purpose="bind")
    back = provider_redirect(started["authorize_url"], "bound_uid")
    bound = client.call("POST", "/me/bindings/weibo", {"code": back["code"], "state": back["state"]}, token=token)

    status, signed_in = in_app_sign_in(client, "bound_uid")

    assert bound[0] == 200
    assert (status, signed_in["is_new_user"], signed_in["user"]["username"]) == (200, False, "bound_fan")


def test_a_reused_or_unknown_state_is_refused(client: ShopClient, oauth: OAuthEmulator) -> None:
    _, started = authorize(client, "weibo", display="client")
    back = provider_redirect(started["authorize_url"], "replayer")
    first = jsapi_sign_in(client, back["code"], back["state"], started["state_key"])

    replayed = jsapi_sign_in(client, back["code"], back["state"], started["state_key"])
    unknown = jsapi_sign_in(client, "some-code", "f" * 40, "some-key")

    assert first[0] == 200
    assert (replayed[0], replayed[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (unknown[0], unknown[1]["code"]) == (400, "VALIDATION_ERROR")


def test_without_the_clients_state_key_the_sign_in_is_refused_and_the_state_stays_usable(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    _, started = authorize(client, "weibo", display="client")
    back = provider_redirect(started["authorize_url"], "careful")

    missing = jsapi_sign_in(client, back["code"], back["state"], None)
    wrong = jsapi_sign_in(client, back["code"], back["state"], "another-clients-key")
    status, signed_in = jsapi_sign_in(client, back["code"], back["state"], started["state_key"])

    assert (missing[0], missing[1]["code"]) == (401, "UNAUTHORIZED")
    assert (wrong[0], wrong[1]["code"]) == (401, "UNAUTHORIZED")
    assert (status, signed_in["is_new_user"]) == (200, True)


def test_a_malformed_body_or_a_code_weibo_refuses_is_a_validation_error(
    client: ShopClient, oauth: OAuthEmulator
) -> None:
    _, started = authorize(client, "weibo", display="client")
    extra = client.call("POST", "/auth/oauth/weibo/jsapi", {"code": "c", "state": "f" * 40, "uid": "1"})
    refused = jsapi_sign_in(client, "made-up-code", started["state"], started["state_key"])

    assert (extra[0], extra[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (refused[0], refused[1]["code"]) == (400, "VALIDATION_ERROR")


def test_a_ticket_weibo_does_not_hand_out_is_a_bad_gateway(client: ShopClient, oauth: OAuthEmulator) -> None:
    oauth.fail("error", "weibo")

    status, body, _ = client.call("GET", f"/auth/oauth/weibo/jsapi-config?{httpx.QueryParams(url=PAGE)}")

    assert (status, body["code"]) == (502, "BAD_GATEWAY")
