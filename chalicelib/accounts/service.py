"""Account rules: registration, password login, token issue, the admin account."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.accounts import guards, passwords, tokens
from chalicelib.accounts.domain import ACTIVE, DISABLED, PROVIDERS, User, mask_phone, normalize_phone
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.accounts.security_repository import SecurityRepository
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.errors import AccountDisabled, Conflict, InvalidState, NotFound, Unauthorized, ValidationError
from chalicelib.ids import new_id
from chalicelib.principal import Principal

REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Session:
    """What a successful sign-in hands the client."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "user": self.user.public_view(),
        }


def register(
    repo: AccountsRepository,
    username: str,
    password: str,
    phone: str | None = None,
    *,
    security: SecurityRepository | None = None,
    sms_code: str | None = None,
) -> User:
    """A new account. A phone needs the code texted to it for `register` (proof the phone is the registrant's, or
    anyone could park a victim's number on their account): missing 400, wrong or dead 401, and then no account is
    made. The code is used up only once the account exists, so a taken username can be fixed with the same code."""
    passwords.refuse_common(password)
    phone = normalize_phone(phone) if phone else None
    code_digest = None
    if phone:
        if not sms_code or security is None:
            raise ValidationError(
                "A phone needs the code texted to it (POST /auth/sms/send, purpose register)",
                errors=[{"field": "sms_code", "message": "A phone needs its SMS code."}],
            )
        code_digest = guards.check_sms_code(security, phone, "register", sms_code)
    user = User(
        user_id=new_id("u"),
        username=username,
        created_at=now_iso(),
        password_hash=passwords.hash_password(password),
        phone=phone,
        nickname=username,
    )
    handles = [("username", username.lower())]
    if user.phone:
        handles.append(("phone", user.phone))
    repo.create_user(user, handles)
    if phone and security is not None and code_digest is not None:
        guards.consume_sms_code(security, phone, "register", code_digest)
    return user


def login(
    repo: AccountsRepository,
    security: SecurityRepository,
    password: str,
    username: str | None = None,
    phone: str | None = None,
    source_ip: str = "",
) -> Session:
    """Password sign-in by username or phone; the same 401 whether the account or the password is wrong,
    429 while the account backs off after repeated failures or the source IP failed too often."""
    if (username is None) == (phone is None):
        raise ValidationError("Give exactly one of username or phone")
    handle = ("username", username.lower()) if username else ("phone", normalize_phone(phone or ""))
    user_id = repo.find_user_id(*handle)
    account = guards.login_account_key(user_id, handle)  # one count per account, whichever name was typed
    guards.check_login_allowed(security, account, source_ip)
    user = repo.get_user(user_id) if user_id else None
    if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
        guards.record_login_failure(security, account, source_ip)
        raise Unauthorized("Wrong username, phone or password")
    guards.record_login_success(security, account)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        repo.set_password_hash(user.user_id, passwords.hash_password(password))
    return start_session(repo, user)


def send_sms_code(
    security: SecurityRepository, sender: guards.SmsSender, phone: str, purpose: str, source_ip: str
) -> None:
    guards.send_sms_code(security, sender, normalize_phone(phone), purpose, source_ip)


def sms_login(repo: AccountsRepository, security: SecurityRepository, phone: str, code: str) -> tuple[Session, bool]:
    """Sign in with a texted code; the first time creates the account (with no password)."""
    phone = normalize_phone(phone)
    guards.verify_sms_code(security, phone, "login", code)
    for _ in range(2):
        user_id = repo.find_user_id("phone", phone)
        user = repo.get_user(user_id) if user_id else None
        if user is not None:
            return start_session(repo, user), False
        user = User(
            user_id=new_id("u"),
            username=_generated_username("m"),
            created_at=now_iso(),
            phone=phone,
            nickname=mask_phone(phone),
        )
        try:
            repo.create_user(user, [("phone", phone), ("username", user.username)])
        except Conflict:
            continue  # the same phone signed up at the same moment: use that account
        return start_session(repo, user), True
    raise Conflict("Could not sign in with this phone, retry")


def bind_verified_phone(
    repo: AccountsRepository, security: SecurityRepository, user_id: str, phone: str, code: str
) -> dict[str, Any]:
    phone = normalize_phone(phone)
    guards.verify_sms_code(security, phone, "bind", code)
    return bind_phone(repo, user_id, phone)


def principal_for_token(repo: AccountsRepository, token: str) -> Principal | None:
    """The caller of a valid access token whose account is active: a deleted or disabled account's tokens die with
    it, and a staff member's roles are the account's now, not the token's (one small read; API Gateway caches the
    authorizer's answer per token for its ttl, shorter than the token's)."""
    claims = tokens.verify_access_token(token)
    access = repo.access_of(claims.user_id) if claims is not None else None
    if claims is None or access is None or access[0] != ACTIVE:
        return None
    return Principal(user_id=claims.user_id, username=claims.username, roles=access[1])


def start_session(repo: AccountsRepository, user: User) -> Session:
    """Every sign-in ends here once its credentials are good: a disabled account is refused (403 ACCOUNT_DISABLED)."""
    if user.status == DISABLED:
        raise AccountDisabled("This account is disabled; contact customer service")
    access_token, expires_in = tokens.issue_access_token(user.user_id, user.username, user.roles)
    refresh_token, digest = tokens.new_refresh_token()
    repo.start_refresh_family(
        digest, user.user_id, new_id("rf"), user.refresh_epoch, now_iso(), epoch_seconds() + REFRESH_TOKEN_TTL_SECONDS
    )
    return Session(access_token=access_token, refresh_token=refresh_token, expires_in=expires_in, user=user)


def refresh(repo: AccountsRepository, refresh_token: str) -> Session:
    """Exchange a refresh token for new tokens. Each token works once: presenting a used one again means it was
    copied, so the whole family (every token descended from that sign-in) is revoked."""
    digest = tokens.refresh_token_digest(refresh_token)
    record = repo.get_refresh(digest)
    if record is None or record.expires_at <= epoch_seconds() or record.family_revoked:
        raise Unauthorized("Invalid or expired refresh token")
    if record.used:
        repo.revoke_family(record.family_id)
        raise Unauthorized("This refresh token was already used; every session from it is now signed out")
    user = repo.get_user(record.user_id)
    if user is None or user.refresh_epoch != record.family_epoch or user.status != ACTIVE:
        raise Unauthorized("Invalid or expired refresh token")
    new_token, new_digest = tokens.new_refresh_token()
    if not repo.rotate_refresh_token(digest, new_digest, record, now_iso()):
        repo.revoke_family(record.family_id)  # lost a race with another use of the same token: treat as reuse
        raise Unauthorized("This refresh token was already used; every session from it is now signed out")
    access_token, expires_in = tokens.issue_access_token(user.user_id, user.username, user.roles)
    return Session(access_token=access_token, refresh_token=new_token, expires_in=expires_in, user=user)


def logout(repo: AccountsRepository, refresh_token: str) -> None:
    """Sign this session out: its refresh family stops working (access tokens end with their short life)."""
    record = repo.get_refresh(tokens.refresh_token_digest(refresh_token))
    if record is not None:
        repo.revoke_family(record.family_id)


def change_password(
    repo: AccountsRepository,
    user_id: str,
    old_password: str | None,
    new_password: str,
    *,
    security: SecurityRepository | None = None,
    sms_code: str | None = None,
) -> None:
    """Needs the current password when there is one; a first password (an account made by SMS code or a provider)
    needs a fresh code texted to the account's phone (purpose `set_password`), never the access token alone: a
    stolen token must not turn into a password that outlives it. Every refresh token of the account stops working."""
    passwords.refuse_common(new_password, field="new_password")
    user = _existing(repo, user_id)
    if user.password_hash is not None:
        if not passwords.verify_password(user.password_hash, old_password or ""):
            raise Unauthorized("The current password is wrong")
    elif user.phone is None:
        raise InvalidState("Bind a phone first: a first password needs a code texted to the account's phone")
    elif not sms_code or security is None:
        raise ValidationError(
            "A first password needs the code texted to this account's phone (purpose set_password)",
            errors=[{"field": "sms_code", "message": "A first password needs an SMS code."}],
        )
    else:
        guards.verify_sms_code(security, user.phone, "set_password", sms_code)
    repo.change_password(user, passwords.hash_password(new_password))


def get_profile(repo: AccountsRepository, user_id: str) -> dict[str, Any]:
    return _existing(repo, user_id).profile_view()


def update_profile(
    repo: AccountsRepository,
    user_id: str,
    changes: dict[str, Any],
    known_categories: Callable[[list[str]], set[str]] | None = None,
) -> dict[str, Any]:
    """Only nickname, avatar_url, gender, birthday, occupation and interests are writable (the schema refuses
    anything else); every interest must be a category of the catalog (400 naming the unknown ones)."""
    interests = changes.get("interests") or []
    known = known_categories(interests) if interests and known_categories is not None else set()
    unknown = [category_id for category_id in interests if category_id not in known]
    if unknown:
        raise ValidationError(
            "Unknown interest categories: " + ", ".join(unknown),
            errors=[{"field": "interests", "message": "Every interest is a category id of GET /categories."}],
        )
    repo.update_profile(user_id, changes)
    return get_profile(repo, user_id)


def ensure_admin(repo: AccountsRepository, username: str, password: str) -> str:
    """The operator account: created on first call, its password reset to `password` and role ensured later on."""
    passwords.refuse_common(password)
    try:
        user = register(repo, username, password)
        user_id = user.user_id
    except Conflict:
        found = repo.find_user_id("username", username.lower())
        if found is None:
            raise
        user_id = found
        repo.set_password_hash(user_id, passwords.hash_password(password))
    repo.add_role(user_id, "admin")
    return user_id


def _generated_username(provider: str) -> str:
    return f"{provider}_{secrets.token_hex(5)}"


def sign_in_with_identity(
    repo: AccountsRepository, provider: str, subject: str, nickname: str | None = None, avatar_url: str | None = None
) -> tuple[Session, bool]:
    """Sign in by a third-party identity (provider + its stable subject id); the first time creates the account.

    Returns the session and whether the account is new. Two first sign-ins racing create one account.
    """
    for _ in range(2):
        user_id = repo.find_user_id(provider, subject)
        if user_id is not None:
            user = repo.get_user(user_id)
            if user is not None:
                return start_session(repo, user), False
        user = User(
            user_id=new_id("u"),
            username=_generated_username(provider),
            created_at=now_iso(),
            nickname=nickname or None,
            avatar_url=avatar_url or None,
            bindings={provider: {"subject": subject, "nickname": nickname or "", "bound_at": now_iso()}},
        )
        try:
            repo.create_user(user, [(provider, subject), ("username", user.username)])
        except Conflict:
            continue  # someone signed in with the same identity at the same moment: use that account
        return start_session(repo, user), True
    raise Conflict("Could not sign in with this identity, retry")


def bind_identity(
    repo: AccountsRepository, user_id: str, provider: str, subject: str, nickname: str | None = None
) -> dict[str, Any]:
    """Bind a third-party identity to the account: 409 if another account holds it; binding it again is a no-op."""
    user = _existing(repo, user_id)
    if repo.find_user_id(provider, subject) == user_id:
        return list_bindings(repo, user_id)
    if provider in user.bindings:
        raise Conflict(f"Another {provider} identity is bound to this account; unbind it first")
    binding = {"subject": subject, "nickname": nickname or "", "bound_at": now_iso()}
    repo.bind_handle(user, provider, subject, binding)
    return list_bindings(repo, user_id)


def bind_phone(repo: AccountsRepository, user_id: str, phone: str) -> dict[str, Any]:
    """Bind (or change to) a verified phone: 409 if it belongs to another account."""
    phone = normalize_phone(phone)
    user = _existing(repo, user_id)
    if user.phone == phone:
        return list_bindings(repo, user_id)
    if user.phone is not None:
        repo.unbind_handle(user, "phone", user.phone)
        user = _existing(repo, user_id)
    repo.bind_handle(user, "phone", phone, None)
    return list_bindings(repo, user_id)


def unbind(repo: AccountsRepository, user_id: str, kind: str) -> dict[str, Any]:
    """Remove a way of signing in; never the last one."""
    user = _existing(repo, user_id)
    value = user.phone if kind == "phone" else user.bindings.get(kind, {}).get("subject")
    if value is None:
        raise NotFound(f"No {kind} is bound to this account")
    if user.sign_in_methods() <= 1:
        raise InvalidState("This is the only way to sign in to this account: bind another one first")
    repo.unbind_handle(user, kind, value)
    return list_bindings(repo, user_id)


def list_bindings(repo: AccountsRepository, user_id: str) -> dict[str, Any]:
    user = _existing(repo, user_id)
    providers = {
        provider: {"bound": provider in user.bindings, **_binding_view(user.bindings.get(provider))}
        for provider in PROVIDERS
    }
    return {"password": user.password_hash is not None, "phone": mask_phone(user.phone), "providers": providers}


def _binding_view(binding: dict[str, str] | None) -> dict[str, Any]:
    if not binding:
        return {"nickname": None, "bound_at": None}
    return {"nickname": binding.get("nickname") or None, "bound_at": binding.get("bound_at")}


def _existing(repo: AccountsRepository, user_id: str) -> User:
    user = repo.get_user(user_id)
    if user is None:
        raise NotFound("No such account")
    return user
