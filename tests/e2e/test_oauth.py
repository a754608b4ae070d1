"""Third-party sign-in against the real local server and the provider emulator `make run` starts with it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.support import LocalServer

pytestmark = pytest.mark.xdist_group("e2e")

REDIRECT_URI = "http://localhost:5173/oauth/qq"


def test_the_start_banner_says_where_the_oauth_emulator_listens(local_server: LocalServer) -> None:
    printed = "".join(local_server.output)

    assert "OAuth        http://127.0.0.1:" in printed


def test_a_qq_sign_in_goes_through_the_emulator_and_back_to_tokens(http: requests.Session, base_url: str) -> None:
    login_as = f"e2e_{uuid.uuid4().hex[:10]}"

    def sign_in() -> dict:
        started = http.get(
            f"{base_url}/auth/oauth/qq/authorize", params={"redirect_uri": REDIRECT_URI, "client": "h5"}, timeout=10
        )
        assert started.status_code == 200, started.text
        page = http.get(f"{started.json()['authorize_url']}&login_as={login_as}", allow_redirects=False, timeout=10)
        assert page.status_code == 302, page.text
        location = page.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?")
        back = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert back["state"] == started.json()["state"]
        key = {"X-OAuth-State-Key": started.json()["state_key"]}
        answer = http.get(f"{base_url}/auth/oauth/qq/callback", params=back, headers=key, timeout=10)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    first, second = sign_in(), sign_in()

    assert (first["is_new_user"], second["is_new_user"]) == (True, False)
    assert first["user"]["user_id"] == second["user"]["user_id"]
    me = http.get(f"{base_url}/me", headers={"Authorization": f"Bearer {second['access_token']}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["nickname"] == f"QQ用户{login_as}"


def test_a_replayed_callback_is_refused_by_the_real_server(http: requests.Session, base_url: str) -> None:
    started = http.get(f"{base_url}/auth/oauth/weibo/authorize", params={"redirect_uri": REDIRECT_URI}, timeout=10)
    page = http.get(f"{started.json()['authorize_url']}&login_as=e2e_replay", allow_redirects=False, timeout=10)
    back = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}
    key = {"X-OAuth-State-Key": started.json()["state_key"]}
    http.get(f"{base_url}/auth/oauth/weibo/callback", params=back, headers=key, timeout=10)

    replayed = http.get(f"{base_url}/auth/oauth/weibo/callback", params=back, headers=key, timeout=10)

    assert replayed.status_code == 400
    assert replayed.json()["code"] == "VALIDATION_ERROR"


def test_two_concurrent_callbacks_with_one_state_sign_in_once(http: requests.Session, base_url: str) -> None:
    started = http.get(f"{base_url}/auth/oauth/wechat/authorize", params={"redirect_uri": REDIRECT_URI}, timeout=10)
    page_url = started.json()["authorize_url"].split("#")[0]  # login_as goes before WeChat's #wechat_redirect
    page = http.get(f"{page_url}&login_as=e2e_race", allow_redirects=False, timeout=10)
    back = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}
    key = {"X-OAuth-State-Key": started.json()["state_key"]}

    def call_back(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            answer = session.get(f"{base_url}/auth/oauth/wechat/callback", params=back, headers=key, timeout=10)
            return answer.status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(call_back, range(2)))

    assert statuses == [200, 400]


def test_a_browser_landing_on_the_callback_signs_in_with_its_cookie_and_another_browser_cannot(
    base_url: str,
) -> None:
    """GIVEN a browser that started a sign-in (it holds the oauth_state_key cookie /authorize set) WHEN another
    browser (an attacker with the leaked redirect) opens the callback first THEN 401 and the state stays usable;
    the browser that started it lands on the callback and is signed in, through its cookie alone."""
    with requests.Session() as browser, requests.Session() as attacker:
        browser.trust_env = attacker.trust_env = False
        started = browser.get(f"{base_url}/auth/oauth/qq/authorize", params={"redirect_uri": REDIRECT_URI}, timeout=10)
        assert "oauth_state_key" in browser.cookies
        page = browser.get(f"{started.json()['authorize_url']}&login_as=e2e_cookie", allow_redirects=False, timeout=10)
        back = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}

        stolen = attacker.get(f"{base_url}/auth/oauth/qq/callback", params=back, timeout=10)
        landed = browser.get(f"{base_url}/auth/oauth/qq/callback", params=back, timeout=10)

    assert stolen.status_code == 401 and stolen.json()["code"] == "UNAUTHORIZED"
    assert landed.status_code == 200, landed.text
    assert landed.json()["user"]["username"].startswith("qq_")
