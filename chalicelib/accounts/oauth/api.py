"""HTTP routes of third-party sign-in and binding."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

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
from chalicelib.http import Principal, endpoint

oauth_api = Blueprint(__name__)
repo = DynamoAccountsRepository()
states = DynamoOAuthStateRepository()
TAGS = ("accounts",)


@endpoint(oauth_api, "/auth/oauth/{provider}/authorize", summary="Start a WeChat, Weibo or QQ sign-in or binding",
          tags=TAGS, auth="optional", query=OAuthAuthorizeQuery, response=OAuthAuthorizeResponse,
          errors=(400, 401, 404, 502))  # fmt: skip
def authorize(provider: str, query: OAuthAuthorizeQuery, principal: Principal | None) -> dict[str, Any]:
    settings = oauth_settings()
    user_id = principal.user_id if principal else None
    return service.begin_authorization(states, settings, ProviderDirectory(settings), provider, query.redirect_uri,
                                       query.client, query.purpose, user_id)  # fmt: skip


@endpoint(oauth_api, "/auth/oauth/{provider}/callback", summary="Finish a third-party sign-in: tokens",
          tags=TAGS, query=OAuthCallbackQuery, response=OAuthTokenResponse, errors=(400, 404, 409, 502))  # fmt: skip
def callback(provider: str, query: OAuthCallbackQuery) -> dict[str, Any]:
    directory = ProviderDirectory(oauth_settings())
    return service.sign_in_with_provider(repo, states, directory, provider, query.code, query.state)


@endpoint(oauth_api, "/me/bindings/{provider}", "POST", summary="Bind a WeChat, Weibo or QQ identity to this account",
          tags=TAGS, auth="customer", body=OAuthBindRequest, response=OAuthBindingsResponse,
          errors=(400, 401, 404, 409, 502))  # fmt: skip
def bind(provider: str, body: OAuthBindRequest, principal: Principal) -> dict[str, Any]:
    directory = ProviderDirectory(oauth_settings())
    return service.bind_provider(repo, states, directory, principal.user_id, provider, body.code, body.state)
