"""HTTP routes of accounts: register, sign in (password, SMS code), tokens, the profile and its bindings."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib.accounts import deletion, service
from chalicelib.accounts.deletion_wiring import StoredAccountData
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.accounts.schemas import (
    AccountDeletion,
    Bindings,
    LoginRequest,
    Outbox,
    OutboxQuery,
    PasswordChange,
    PhoneBindRequest,
    Profile,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    SmsLoginRequest,
    SmsLoginResponse,
    SmsSendRequest,
    SmsSent,
    TokenResponse,
)
from chalicelib.accounts.security_repository import DynamoSecurityRepository
from chalicelib.accounts.sms_sender import SnsSmsSender
from chalicelib.config import get_settings
from chalicelib.errors import NotFound
from chalicelib.http import Principal, endpoint, source_ip

accounts_api = Blueprint(__name__)
repo = DynamoAccountsRepository()
security = DynamoSecurityRepository()
sms = SnsSmsSender(security)
account_data = StoredAccountData()
TAGS = ("accounts",)
ME = ("me",)


@endpoint(accounts_api, "/auth/register", "POST", summary="Create an account, signed in (the body of a sign-in; "
          "a phone needs its texted sms_code)", tags=TAGS, body=RegisterRequest, response=RegisterResponse, status=201,
          errors=(401, 409))  # fmt: skip
def register(body: RegisterRequest) -> dict[str, Any]:
    user = service.register(repo, body.username, body.password, body.phone, security=security, sms_code=body.sms_code)
    return {"user_id": user.user_id, **service.start_session(repo, user).as_dict()}


@endpoint(accounts_api, "/auth/login", "POST", summary="Sign in with a password", tags=TAGS, body=LoginRequest,
          response=TokenResponse, errors=(401, 429))  # fmt: skip
def login(body: LoginRequest, request: Request) -> dict[str, Any]:
    ip = source_ip(request)
    return service.login(repo, security, body.password, body.username, body.phone, ip).as_dict()


@endpoint(accounts_api, "/auth/refresh", "POST", summary="Exchange a refresh token (each works once)", tags=TAGS,
          body=RefreshRequest, response=TokenResponse, errors=(401,))  # fmt: skip
def refresh(body: RefreshRequest) -> dict[str, Any]:
    return service.refresh(repo, body.refresh_token).as_dict()


@endpoint(accounts_api, "/auth/logout", "POST", summary="Sign this session out (revokes its refresh tokens)",
          tags=TAGS, body=RefreshRequest, status=204)  # fmt: skip
def logout(body: RefreshRequest) -> None:
    service.logout(repo, body.refresh_token)


@endpoint(accounts_api, "/auth/sms/send", "POST", summary="Text a 6-digit code (login, bind, register, "
          "set_password; delete_account: to the signed-in account's own phone)", tags=TAGS, auth="optional",
          body=SmsSendRequest, response=SmsSent, status=202, errors=(400, 401, 409, 429, 502))  # fmt: skip
def send_sms_code(body: SmsSendRequest, request: Request, principal: Principal | None) -> dict[str, Any]:
    if body.purpose == deletion.SMS_PURPOSE:
        deletion.send_code(
            repo, security, sms, principal.user_id if principal else None, body.phone, source_ip(request)
        )
    else:
        service.send_sms_code(security, sms, str(body.phone), body.purpose, source_ip(request))
    return {"sent": True, "resend_after_seconds": 60}


@endpoint(accounts_api, "/auth/sms/login", "POST", summary="Sign in with a texted code (creates the account)",
          tags=TAGS, body=SmsLoginRequest, response=SmsLoginResponse, errors=(401,))  # fmt: skip
def sms_login(body: SmsLoginRequest) -> dict[str, Any]:
    session, is_new = service.sms_login(repo, security, body.phone, body.code)
    return session.as_dict() | {"is_new_user": is_new}


@endpoint(accounts_api, "/me", summary="My profile", tags=ME, auth="customer", response=Profile, errors=(404,))
def get_me(principal: Principal) -> dict[str, Any]:
    return service.get_profile(repo, principal.user_id)


@endpoint(accounts_api, "/me", "PATCH", summary="Change nickname, avatar, gender or birthday", tags=ME,
          auth="customer", body=ProfileUpdate, response=Profile, errors=(404,))  # fmt: skip
def update_me(principal: Principal, body: ProfileUpdate) -> dict[str, Any]:
    return service.update_profile(repo, principal.user_id, body.changes())


@endpoint(accounts_api, "/me", "DELETE", summary="Delete my account (注销), confirmed by my password or a texted code "
          "(purpose delete_account); refused while an order or after-sales case is open", tags=ME, auth="customer",
          body=AccountDeletion, status=204, errors=(400, 401, 409))  # fmt: skip
def delete_me(principal: Principal, body: AccountDeletion) -> Response:
    deletion.delete_account(repo, security, account_data, principal.user_id, body.password, body.sms_code)
    return Response(body="", status_code=204)


@endpoint(accounts_api, "/me/password", "PUT", summary="Change (or first set, with a texted code) my password; "
          "signs out everywhere", tags=ME, auth="customer", body=PasswordChange, status=204,
          errors=(401, 409))  # fmt: skip
def change_password(principal: Principal, body: PasswordChange) -> None:
    service.change_password(repo, principal.user_id, body.old_password, body.new_password, security=security,
                            sms_code=body.sms_code)  # fmt: skip


@endpoint(accounts_api, "/me/bindings", summary="How I can sign in: password, phone, WeChat, Weibo, QQ", tags=ME,
          auth="customer", response=Bindings)  # fmt: skip
def list_bindings(principal: Principal) -> dict[str, Any]:
    return service.list_bindings(repo, principal.user_id)


@endpoint(accounts_api, "/me/bindings/phone", "POST", summary="Bind a phone verified by a texted code",
          tags=ME, auth="customer", body=PhoneBindRequest, response=Bindings, errors=(401, 409))  # fmt: skip
def bind_phone(principal: Principal, body: PhoneBindRequest) -> dict[str, Any]:
    return service.bind_verified_phone(repo, security, principal.user_id, body.phone, body.code)


@endpoint(accounts_api, "/me/bindings/phone", "DELETE", summary="Unbind my phone (never the last sign-in)",
          tags=ME, auth="customer", response=Bindings, errors=(404, 409))  # fmt: skip
def unbind_phone(principal: Principal) -> dict[str, Any]:
    return service.unbind(repo, principal.user_id, "phone")


@endpoint(accounts_api, "/me/bindings/{provider}", "DELETE", summary="Unbind WeChat, Weibo or QQ (never the last)",
          tags=ME, auth="customer", response=Bindings, errors=(404, 409))  # fmt: skip
def unbind_provider(principal: Principal, provider: str) -> dict[str, Any]:
    if provider not in service.PROVIDERS:
        raise NotFound("No such provider")
    return service.unbind(repo, principal.user_id, provider)


@endpoint(accounts_api, "/dev/outbox", summary="Texts the app sent (the local stage only: 404 on every deployed "
          "stage)", tags=("dev",), query=OutboxQuery, response=Outbox, errors=(404,))  # fmt: skip
def outbox(query: OutboxQuery) -> dict[str, Any]:
    if not get_settings().is_local:  # it hands out every sign-in code: never on a stage the internet can reach
        raise NotFound("No such route")
    return {"messages": security.outbox(query.to.removeprefix("+86"))}
