"""Request and response models of third-party sign-in and binding (they also feed the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.accounts.schemas import TokenResponse
from chalicelib.schema import BaseModel

STATE_PATTERN = r"^[A-Za-z0-9]{16,128}$"


class OAuthAuthorizeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    redirect_uri: str = Field(
        min_length=1,
        max_length=2048,
        description="Where the provider sends the browser back: exactly an allow-listed URI, as sent (no whitespace, "
        "control characters, fragment or dot segments; nothing is cleaned up)",
    )
    client: Literal["pc", "h5"] = Field(
        "pc", description="pc: the provider's QR page; h5: its in-app / mobile authorization page"
    )
    purpose: Literal["login", "bind"] = Field(
        "login", description="bind needs a bearer token: the state is then issued to that account"
    )
    display: Literal["client"] | None = Field(
        None,
        description="Weibo only: client is the in-Weibo-app page (authorized silently; finish with POST "
        "/auth/oauth/weibo/jsapi)",
    )


class OAuthAuthorizeResponse(BaseModel):
    authorize_url: str
    state: str
    state_key: str = Field(
        description="A secret binding the state to this client: keep it (never put it in a URL) and send it to the "
        "callback as X-OAuth-State-Key; the response also sets it as the HttpOnly oauth_state_key cookie"
    )
    expires_in: int = Field(description="Seconds the state stays valid (single use)")


class OAuthCallbackQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")  # providers may add their own parameters to the redirect

    code: str = Field(min_length=1, max_length=512, description="The authorization code the provider redirected with")
    state: str = Field(pattern=STATE_PATTERN, description="The state /authorize issued")


class WeiboJsapiQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=2048, description="The page calling wb.init: an allow-listed URI")


class WeiboJsapiConfig(BaseModel):
    appkey: str
    timestamp: int = Field(description="Seconds since the epoch the signature was made at")
    noncestr: str
    signature: str = Field(description="SHA-1 of jsapi_ticket, noncestr, timestamp and url (less its fragment)")


class WeiboJsapiSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=512, description="The code the Weibo app opened the page with")
    state: str = Field(pattern=STATE_PATTERN, description="The state /authorize?display=client issued")


class OAuthTokenResponse(TokenResponse):
    is_new_user: bool


class OAuthBindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=512)
    state: str = Field(pattern=STATE_PATTERN, description="A state issued by /authorize?purpose=bind to this account")


class OAuthProviderBinding(BaseModel):
    bound: bool
    nickname: str | None
    bound_at: str | None


class OAuthBindingsResponse(BaseModel):
    password: bool
    phone: str | None = Field(description="Masked, e.g. 138****0000")
    providers: dict[str, OAuthProviderBinding]
