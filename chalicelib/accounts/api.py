"""HTTP routes of accounts: register, sign in (password, SMS code), tokens, the profile and its bindings."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.accounts import deletion, service
from chalicelib.accounts.deletion import AccountData
from chalicelib.accounts.guards import SmsSender
from chalicelib.accounts.repository import AccountsRepository
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
from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.auth import Principal
from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.http import source_ip
from chalicelib.routes import Json, Routes

accounts_api = Routes(__name__, tags=("accounts",))
ME = ("me",)


@accounts_api.post("/auth/register", status=201, errors=(401, 409))
def register(
    body: RegisterRequest, accounts: AccountsRepository, security: SecurityRepository
) -> Json[RegisterResponse]:
    """Create an account, signed in (the body of a sign-in; a phone needs its texted sms_code)"""
    user = service.register(
        accounts, body.username, body.password, body.phone, security=security, sms_code=body.sms_code
    )
    return {"user_id": user.user_id, **service.start_session(accounts, user).as_dict()}


@accounts_api.post("/auth/login", errors=(401, 429))
def login(
    body: LoginRequest, request: Request, accounts: AccountsRepository, security: SecurityRepository
) -> Json[TokenResponse]:
    """Sign in with a password"""
    ip = source_ip(request)
    return service.login(accounts, security, body.password, body.username, body.phone, ip).as_dict()


@accounts_api.post("/auth/refresh", errors=(401,))
def refresh(body: RefreshRequest, accounts: AccountsRepository) -> Json[TokenResponse]:
    """Exchange a refresh token (each works once)"""
    return service.refresh(accounts, body.refresh_token).as_dict()


@accounts_api.post("/auth/logout", status=204)
def logout(body: RefreshRequest, accounts: AccountsRepository) -> None:
    """Sign this session out (revokes its refresh tokens)"""
    service.logout(accounts, body.refresh_token)


@accounts_api.post("/auth/sms/send", status=202, errors=(400, 401, 409, 429, 502))
def send_sms_code(
    body: SmsSendRequest,
    request: Request,
    principal: Principal | None,
    accounts: AccountsRepository,
    security: SecurityRepository,
    sms: SmsSender,
) -> Json[SmsSent]:
    """Text a 6-digit code (login, bind, register, set_password; delete_account: to the signed-in account's own
    phone)"""
    if body.purpose == deletion.SMS_PURPOSE:
        deletion.send_code(
            accounts, security, sms, principal.user_id if principal else None, body.phone, source_ip(request)
        )
    else:
        service.send_sms_code(security, sms, str(body.phone), body.purpose, source_ip(request))
    return {"sent": True, "resend_after_seconds": 60}


@accounts_api.post("/auth/sms/login", errors=(401,))
def sms_login(
    body: SmsLoginRequest, accounts: AccountsRepository, security: SecurityRepository
) -> Json[SmsLoginResponse]:
    """Sign in with a texted code (creates the account)"""
    session, is_new = service.sms_login(accounts, security, body.phone, body.code)
    return session.as_dict() | {"is_new_user": is_new}


@accounts_api.get("/me", errors=(404,), tags=ME)
def get_me(principal: Principal, accounts: AccountsRepository) -> Json[Profile]:
    """My profile"""
    return service.get_profile(accounts, principal.user_id)


@accounts_api.patch("/me", errors=(404,), tags=ME)
def update_me(
    principal: Principal,
    body: ProfileUpdate,
    accounts: AccountsRepository,
    known_categories: Callable[[list[str]], set[str]],
) -> Json[Profile]:
    """Change nickname, avatar, gender, birthday, occupation or interests (category ids)"""
    return service.update_profile(accounts, principal.user_id, body.changes(), known_categories)


@accounts_api.delete("/me", status=204, errors=(400, 401, 409), tags=ME)
def delete_me(
    principal: Principal,
    body: AccountDeletion,
    accounts: AccountsRepository,
    security: SecurityRepository,
    account_data: AccountData,
) -> Response:
    """Delete my account (注销), confirmed by my password or a texted code (purpose delete_account); refused while an
    order or after-sales case is open"""
    deletion.delete_account(accounts, security, account_data, principal.user_id, body.password, body.sms_code)
    return Response(body="", status_code=204)


@accounts_api.put("/me/password", status=204, errors=(401, 409), tags=ME)
def change_password(
    principal: Principal, body: PasswordChange, accounts: AccountsRepository, security: SecurityRepository
) -> None:
    """Change (or first set, with a texted code) my password; signs out everywhere"""
    service.change_password(
        accounts, principal.user_id, body.old_password, body.new_password, security=security, sms_code=body.sms_code
    )


@accounts_api.get("/me/bindings", tags=ME)
def list_bindings(principal: Principal, accounts: AccountsRepository) -> Json[Bindings]:
    """How I can sign in: password, phone, WeChat, Weibo, QQ"""
    return service.list_bindings(accounts, principal.user_id)


@accounts_api.post("/me/bindings/phone", errors=(401, 409), tags=ME)
def bind_phone(
    principal: Principal, body: PhoneBindRequest, accounts: AccountsRepository, security: SecurityRepository
) -> Json[Bindings]:
    """Bind a phone verified by a texted code"""
    return service.bind_verified_phone(accounts, security, principal.user_id, body.phone, body.code)


@accounts_api.delete("/me/bindings/phone", errors=(404, 409), tags=ME)
def unbind_phone(principal: Principal, accounts: AccountsRepository) -> Json[Bindings]:
    """Unbind my phone (never the last sign-in)"""
    return service.unbind(accounts, principal.user_id, "phone")


@accounts_api.delete("/me/bindings/{provider}", errors=(404, 409), tags=ME)
def unbind_provider(principal: Principal, provider: str, accounts: AccountsRepository) -> Json[Bindings]:
    """Unbind WeChat, Weibo or QQ (never the last)"""
    if provider not in service.PROVIDERS:
        raise NotFound("No such provider")
    return service.unbind(accounts, principal.user_id, provider)


@accounts_api.get("/dev/outbox", errors=(404,), tags=("dev",))
def outbox(query: OutboxQuery, settings: Settings, security: SecurityRepository) -> Json[Outbox]:
    """Texts the app sent (the local stage only: 404 on every deployed stage)"""
    if not settings.is_local:  # it hands out every sign-in code: never on a stage the internet can reach
        raise NotFound("No such route")
    return {"messages": security.outbox(query.to.removeprefix("+86"))}
