"""HTTP routes of third-party sign-in and binding."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from chalice.app import Request

from chalicelib.accounts.oauth import service, weibo_jsapi
from chalicelib.accounts.oauth.providers import ProviderDirectory
from chalicelib.accounts.oauth.repository import OAuthStateRepository
from chalicelib.accounts.oauth.schemas import (
    OAuthAuthorizeQuery,
    OAuthAuthorizeResponse,
    OAuthBindingsResponse,
    OAuthBindRequest,
    OAuthCallbackQuery,
    OAuthTokenResponse,
    WeiboJsapiConfig,
    WeiboJsapiQuery,
    WeiboJsapiSignIn,
)
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.auth import Principal
from chalicelib.config import Settings
from chalicelib.http import json_response
from chalicelib.routes import Json, Routes

oauth_api = Routes(__name__, tags=("accounts",))
STATE_KEY_HEADER = "X-OAuth-State-Key"
STATE_KEY_COOKIE = "oauth_state_key"
STATE_KEY_DOC = ((STATE_KEY_HEADER, False, "The state_key /authorize returned (or its cookie): missing or wrong 401"),)
STATE_KEY_FOR_CALLBACK = "the state_key, for a browser flow whose redirect_uri is this callback"
COOKIE_DOC = {"cookies": [(STATE_KEY_COOKIE, f"Set by /authorize (HttpOnly, SameSite=Lax): {STATE_KEY_FOR_CALLBACK}")]}
SET_COOKIE = "oauth_state_key=<state_key>; HttpOnly; SameSite=Lax (Secure on deployed stages): the state_key, for the"
SET_COOKIE_DOC = {"response_headers": {"Set-Cookie": f"{SET_COOKIE} callback"}}


@oauth_api.get("/auth/oauth/{provider}/authorize", errors=(400, 401, 404, 502), extra=SET_COOKIE_DOC)
def authorize(
    provider: str,
    query: OAuthAuthorizeQuery,
    principal: Principal | None,
    oauth_states: OAuthStateRepository,
    oauth_providers: ProviderDirectory,
    settings: Settings,
) -> Json[OAuthAuthorizeResponse]:
    """Start a WeChat, Weibo or QQ sign-in or binding (keep state_key: the callback needs it)"""
    user_id = principal.user_id if principal else None
    started = service.begin_authorization(
        oauth_states,
        oauth_providers.settings,
        oauth_providers,
        provider,
        query.redirect_uri,
        "app" if query.display == "client" else query.client,
        query.purpose,
        user_id,
    )
    cookie = _state_key_cookie(started["state_key"], started["expires_in"], settings)
    return json_response(started, headers={"Set-Cookie": cookie, "Cache-Control": "no-store"})


@oauth_api.get(
    "/auth/oauth/{provider}/callback", errors=(400, 401, 404, 409, 502), headers=STATE_KEY_DOC, extra=COOKIE_DOC
)
def callback(
    provider: str,
    query: OAuthCallbackQuery,
    request: Request,
    accounts: AccountsRepository,
    oauth_states: OAuthStateRepository,
    oauth_providers: ProviderDirectory,
    settings: Settings,
) -> Json[OAuthTokenResponse]:
    """Finish a third-party sign-in: tokens (needs the state_key of the client that started it)"""
    header_key, cookie_key = request.headers.get(STATE_KEY_HEADER.lower()), _cookie(request, STATE_KEY_COOKIE)
    signed_in = service.sign_in_with_provider(
        accounts, oauth_states, oauth_providers, provider, query.code, query.state, header_key or cookie_key
    )
    headers = {"Cache-Control": "no-store"}
    if cookie_key and not header_key:  # the cookie did its job: clear it
        headers["Set-Cookie"] = _state_key_cookie("", 0, settings)
    return json_response(signed_in, headers=headers)


@oauth_api.get("/auth/oauth/weibo/jsapi-config", errors=(400, 502))
def weibo_jsapi_config(query: WeiboJsapiQuery, oauth_providers: ProviderDirectory) -> Json[WeiboJsapiConfig]:
    """The signed config of wb.init (Weibo's JS-SDK) for an in-Weibo-app page"""
    config = weibo_jsapi.jsapi_config(oauth_providers.settings, oauth_providers, query.url)
    return json_response(config, headers={"Cache-Control": "no-store"})


@oauth_api.post("/auth/oauth/weibo/jsapi", errors=(400, 401, 409, 502), headers=STATE_KEY_DOC)
def weibo_jsapi_sign_in(
    body: WeiboJsapiSignIn,
    request: Request,
    accounts: AccountsRepository,
    oauth_states: OAuthStateRepository,
    oauth_providers: ProviderDirectory,
) -> Json[OAuthTokenResponse]:
    """Finish a sign-in inside the Weibo app: tokens (one Weibo uid is one account in every flow)"""
    state_key = request.headers.get(STATE_KEY_HEADER.lower())
    signed_in = service.sign_in_with_provider(
        accounts, oauth_states, oauth_providers, "weibo", body.code, body.state, state_key
    )
    return json_response(signed_in, headers={"Cache-Control": "no-store"})


def _state_key_cookie(value: str, max_age: int, settings: Settings) -> str:
    """HttpOnly (no script reads it), SameSite=Lax (sent on the provider's top-level redirect back to the callback,
    never on a cross-site sub-request), Secure on every deployed stage. Path=/ because deployed URLs carry the API
    Gateway stage in front of /auth."""
    secure = "" if settings.is_local else "; Secure"
    return f"{STATE_KEY_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"


def _cookie(request: Request, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


@oauth_api.post("/me/bindings/{provider}", errors=(400, 401, 404, 409, 502))
def bind(
    provider: str,
    body: OAuthBindRequest,
    principal: Principal,
    accounts: AccountsRepository,
    oauth_states: OAuthStateRepository,
    oauth_providers: ProviderDirectory,
) -> Json[OAuthBindingsResponse]:
    """Bind a WeChat, Weibo or QQ identity to this account"""
    return service.bind_provider(
        accounts, oauth_states, oauth_providers, principal.user_id, provider, body.code, body.state
    )
