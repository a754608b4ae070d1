"""Account rules: registration, password login, token issue, the admin account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.accounts import passwords, tokens
from chalicelib.accounts.domain import User, normalize_phone
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.errors import Conflict, Unauthorized, ValidationError
from chalicelib.ids import new_id

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


def register(repo: AccountsRepository, username: str, password: str, phone: str | None = None) -> User:
    user = User(
        user_id=new_id("u"),
        username=username,
        created_at=now_iso(),
        password_hash=passwords.hash_password(password),
        phone=normalize_phone(phone) if phone else None,
        nickname=username,
    )
    handles = [("username", username.lower())]
    if user.phone:
        handles.append(("phone", user.phone))
    repo.create_user(user, handles)
    return user


def login(repo: AccountsRepository, password: str, username: str | None = None, phone: str | None = None) -> Session:
    """Password sign-in by username or phone; the same 401 whether the account or the password is wrong."""
    if (username is None) == (phone is None):
        raise ValidationError("Give exactly one of username or phone")
    handle = ("username", username.lower()) if username else ("phone", normalize_phone(phone or ""))
    user_id = repo.find_user_id(*handle)
    user = repo.get_user(user_id) if user_id else None
    if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("Wrong username, phone or password")
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        repo.set_password_hash(user.user_id, passwords.hash_password(password))
    return start_session(repo, user)


def start_session(repo: AccountsRepository, user: User, family_id: str | None = None) -> Session:
    access_token, expires_in = tokens.issue_access_token(user.user_id, user.username, user.roles)
    refresh_token, digest = tokens.new_refresh_token()
    repo.save_refresh_token(
        digest, user.user_id, family_id or new_id("rf"), now_iso(), epoch_seconds() + REFRESH_TOKEN_TTL_SECONDS
    )
    return Session(access_token=access_token, refresh_token=refresh_token, expires_in=expires_in, user=user)


def ensure_admin(repo: AccountsRepository, username: str, password: str) -> str:
    """The operator account: created on first call, its password reset to `password` and role ensured later on."""
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
