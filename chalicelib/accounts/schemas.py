"""Request and response models of the auth routes (they also feed the OpenAPI spec)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.accounts.domain import PHONE_PATTERN, USERNAME_PATTERN


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(WriteModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3..32 of [A-Za-z0-9_]")
    password: str = Field(min_length=8, max_length=128)
    phone: str | None = Field(None, pattern=PHONE_PATTERN, description="Mainland mobile, optional +86")


class RegisterResponse(BaseModel):
    user_id: str


class LoginRequest(WriteModel):
    username: str | None = Field(None, min_length=1, max_length=32)
    phone: str | None = Field(None, pattern=PHONE_PATTERN)
    password: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def one_identifier(self) -> LoginRequest:
        if (self.username is None) == (self.phone is None):
            raise ValueError("give exactly one of username or phone")
        return self


class UserSummary(BaseModel):
    user_id: str
    username: str
    roles: list[str]


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserSummary
