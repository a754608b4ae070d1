"""HTTP routes of accounts: register and sign in."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.accounts import service
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.accounts.schemas import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse
from chalicelib.http import endpoint

accounts_api = Blueprint(__name__)
repo = DynamoAccountsRepository()
TAGS = ("accounts",)


@endpoint(accounts_api, "/auth/register", "POST", summary="Create an account", tags=TAGS, body=RegisterRequest,
          response=RegisterResponse, status=201, errors=(409,))  # fmt: skip
def register(body: RegisterRequest) -> dict[str, Any]:
    return {"user_id": service.register(repo, body.username, body.password, body.phone).user_id}


@endpoint(accounts_api, "/auth/login", "POST", summary="Sign in with a password", tags=TAGS, body=LoginRequest,
          response=TokenResponse, errors=(401, 429))  # fmt: skip
def login(body: LoginRequest) -> dict[str, Any]:
    return service.login(repo, body.password, username=body.username, phone=body.phone).as_dict()
