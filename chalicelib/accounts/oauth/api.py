"""HTTP routes of third-party sign-in and binding."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib.accounts.oauth import service
from chalicelib.accounts.oauth.config import oauth_settings
from chalicelib.accounts.oauth.providers import ProviderDirectory
from chalicelib.accounts.oauth.repository import DynamoOAuthStateRepository
from chalicelib.accounts.oauth.schemas import (
    OAuthAuthorizeQuery,
    OAuthAuthorizeResponse,
    OAuthBindingsResponse,
    OAuthBindRequest,
    OAuthCallbackQuery,
    OAuthTokenResponse,
)
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.config import get_settings
from chalicelib.http import Principal, endpoint, json_response

oauth_api = Blueprint(__name__)
repo = DynamoAccountsRepository()
states = DynamoOAuthStateRepository()
TAGS = ("accounts",)
STATE_KEY_HEADER = "X-OAuth-State-Key"
STATE_KEY_COOKIE = "oauth_state_key"
STATE_KEY_DOC = ((STATE_KEY_HEADER, False, "The state_key /authorize returned (or its cookie): missing or wrong 401"),)
COOKIE_DOC = {
    "cookies": [(STATE_KEY_COOKIE, "Set by /authorize (HttpOnly, SameSite=Lax): the state_key, for a browser flow "
                 "whose redirect_uri is this callback")],
}  # fmt: skip
SET_COOKIE_DOC = {"response_headers": {"Set-Cookie": "oauth_state_key=<state_key>; HttpOnly; SameSite=Lax (Secure "
                                       "on deployed stages): the state_key, for the callback"}}  # fmt: skip


@endpoint(oauth_api, "/auth/oauth/{provider}/authorize", summary="Start a WeChat, Weibo or QQ sign-in or binding "
          "(keep state_key: the callback needs it)", tags=TAGS, auth="optional", query=OAuthAuthorizeQuery,
          response=OAuthAuthorizeResponse, errors=(400, 401, 404, 502), extra=SET_COOKIE_DOC)  # fmt: skip
def authorize(provider: str, query: OAuthAuthorizeQuery, principal: Principal | None) -> Response:
    settings = oauth_settings()
    user_id = principal.user_id if principal else None
    started = service.begin_authorization(states, settings, ProviderDirectory(settings), provider, query.redirect_uri,
                                          query.client, query.purpose, user_id)  # fmt: skip
    cookie = _state_key_cookie(started["state_key"], started["expires_in"])
    return json_response(started, headers={"Set-Cookie": cookie, "Cache-Control": "no-store"})


@endpoint(oauth_api, "/auth/oauth/{provider}/callback", summary="Finish a third-party sign-in: tokens (needs the "
          "state_key of the client that started it)", tags=TAGS, query=OAuthCallbackQuery, response=OAuthTokenResponse,
          errors=(400, 401, 404, 409, 502), headers=STATE_KEY_DOC, extra=COOKIE_DOC)  # fmt: skip
def callback(provider: str, query: OAuthCallbackQuery, request: Request) -> Response:
    directory = ProviderDirectory(oauth_settings())
    header_key, cookie_key = request.headers.get(STATE_KEY_HEADER.lower()), _cookie(request, STATE_KEY_COOKIE)
    signed_in = service.sign_in_with_provider(
        repo, states, directory, provider, query.code, query.state, header_key or cookie_key
    )
    headers = {"Cache-Control": "no-store"}
    if cookie_key and not header_key:  # the cookie did its job: clear it
        headers["Set-Cookie"] = _state_key_cookie("", 0)
    return json_response(signed_in, headers=headers)


def _state_key_cookie(value: str, max_age: int) -> str:
    """HttpOnly (no script reads it), SameSite=Lax (sent on the provider's top-level redirect back to the callback,
    never on a cross-site sub-request), Secure on every deployed stage. Path=/ because deployed URLs carry the API
    Gateway stage in front of /auth."""
    secure = "" if get_settings().is_local else "; Secure"
    return f"{STATE_KEY_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"


def _cookie(request: Request, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


@endpoint(oauth_api, "/me/bindings/{provider}", "POST", summary="Bind a WeChat, Weibo or QQ identity to this account",
          tags=TAGS, auth="customer", body=OAuthBindRequest, response=OAuthBindingsResponse,
          errors=(400, 401, 404, 409, 502))  # fmt: skip
def bind(provider: str, body: OAuthBindRequest, principal: Principal) -> dict[str, Any]:
    directory = ProviderDirectory(oauth_settings())
    return service.bind_provider(repo, states, directory, principal.user_id, provider, body.code, body.state)
