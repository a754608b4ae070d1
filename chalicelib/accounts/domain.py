"""What an account is, independent of storage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

USERNAME_PATTERN = r"^[A-Za-z0-9_]{3,32}$"
# [0-9], never \d: pydantic's (Rust) and Python's \d also match full-width and Arabic-Indic digits.
PHONE_PATTERN = r"^(\+86)?1[3-9][0-9]{9}$"
SMS_CODE_PATTERN = r"^[0-9]{6}$"
PROVIDERS = ("wechat", "weibo", "qq")
DELETED = "DELETED"  # the status staff see of an account its customer deleted
DISABLED = "DISABLED"  # an account staff disabled: no sign-in reaches it until it is enabled again
ACTIVE = "ACTIVE"
DELETED_USERNAME = "已注销用户"  # what stays of a deleted account's name (reviews show it)


def normalize_phone(phone: str) -> str:
    """Mainland mobile numbers are stored as their 11 digits."""
    return phone.removeprefix("+86")


def mask_phone(phone: str | None) -> str | None:
    return f"{phone[:3]}****{phone[-4:]}" if phone and re.fullmatch(r"[0-9]{11}", phone) else phone


@dataclass
class User:
    user_id: str
    username: str
    created_at: str
    password_hash: str | None = None
    phone: str | None = None
    nickname: str | None = None
    avatar_url: str | None = None
    gender: str | None = None
    birthday: str | None = None
    roles: set[str] = field(default_factory=lambda: {"customer"})
    points_balance: int = 0
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)
    version: int = 1
    refresh_epoch: int = 0
    status: str = ACTIVE  # ACTIVE, DISABLED, or DELETED (only staff ever see a deleted account)
    occupation: str | None = None
    interests: list[str] = field(default_factory=list)  # category ids, the first the most wanted

    def handles(self) -> list[tuple[str, str]]:
        """Every (kind, value) that finds this account: its username, phone and third-party identities."""
        found = [("username", self.username.lower())]
        if self.phone:
            found.append(("phone", self.phone))
        found.extend((provider, binding["subject"]) for provider, binding in self.bindings.items())
        return found

    def sign_in_methods(self) -> int:
        """Password, phone (SMS code) and each bound provider are each a way back into the account."""
        return int(self.password_hash is not None) + int(self.phone is not None) + len(self.bindings)

    def public_view(self) -> dict[str, object]:
        return {"user_id": self.user_id, "username": self.username, "roles": sorted(self.roles)}

    def profile_view(self) -> dict[str, object]:
        """What `GET /me` shows: the phone masked, never a hash."""
        return {
            **self.public_view(),
            "nickname": self.nickname,
            "phone": mask_phone(self.phone),
            "avatar_url": self.avatar_url,
            "gender": self.gender,
            "birthday": self.birthday,
            "points_balance": self.points_balance,
            "has_password": self.password_hash is not None,
            "created_at": self.created_at,
            "occupation": self.occupation,
            "interests": list(self.interests),
        }


@dataclass(frozen=True)
class RefreshRecord:
    """A stored refresh token (by digest) and the state of its family."""

    user_id: str
    family_id: str
    expires_at: int
    used: bool
    family_revoked: bool
    family_epoch: int
