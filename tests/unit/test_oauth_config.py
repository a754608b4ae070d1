"""Third-party sign-in settings: real hosts by default, the redirect allow-list, separate WeChat H5 credentials."""

from __future__ import annotations

import pytest

from chalicelib.accounts.oauth.config import OAuthSettings


def test_production_defaults_to_the_real_provider_hosts_and_allows_no_redirect() -> None:
    settings = OAuthSettings.from_env({"SHOP_STAGE": "prod"})

    wechat = settings.provider("wechat")
    assert (wechat.authorize_base, wechat.api_base) == ("https://open.weixin.qq.com", "https://api.weixin.qq.com")
    assert settings.provider("qq").api_base == "https://graph.qq.com"
    assert settings.redirect_allowlist == ()
    assert not settings.redirect_allowed("https://shop.example.com/oauth")
    assert not wechat.configured


def test_wechat_h5_uses_its_own_app_when_given_and_the_website_app_otherwise() -> None:
    shared = OAuthSettings.from_env({"OAUTH_WECHAT_APP_ID": "wxweb", "OAUTH_WECHAT_APP_SECRET": "s"})
    separate = OAuthSettings.from_env(
        {
            "OAUTH_WECHAT_APP_ID": "wxweb",
            "OAUTH_WECHAT_APP_SECRET": "s",
            "OAUTH_WECHAT_H5_APP_ID": "wxmp",
            "OAUTH_WECHAT_H5_APP_SECRET": "t",
        }
    )

    assert shared.provider("wechat").credentials("h5") == ("wxweb", "s")
    assert separate.provider("wechat").credentials("h5") == ("wxmp", "t")
    assert separate.provider("wechat").credentials("pc") == ("wxweb", "s")


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:3000/cb", "http://localhost/oauth/done?x=1", "http://localhost:8080/"],
)
def test_local_redirects_to_loopback_are_allowed(redirect_uri: str) -> None:
    assert OAuthSettings.from_env({"SHOP_STAGE": "local"}).redirect_allowed(redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://shop.example.com.evil.example/oauth",
        "https://shop.example.com@evil.example/oauth",
        "http://shop.example.com/oauth",
        "https://shop.example.com/oauthx",
        "https://shop.example.com/other",
        "https://shop.example.com:8443/oauth",
        "javascript://shop.example.com/oauth",
        "https://[::1/oauth",
    ],
)
def test_a_redirect_outside_an_allowed_prefix_is_refused(redirect_uri: str) -> None:
    settings = OAuthSettings.from_env(
        {"SHOP_STAGE": "prod", "OAUTH_REDIRECT_ALLOWLIST": "https://shop.example.com/oauth"}
    )

    assert not settings.redirect_allowed(redirect_uri)
    assert settings.redirect_allowed("https://shop.example.com/oauth/wechat?next=/cart")
