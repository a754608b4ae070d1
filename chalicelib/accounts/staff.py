"""Staff accounts and the customers staff look after: search, detail, disable and enable."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.accounts import passwords
from chalicelib.accounts.directory import AccountsDirectory
from chalicelib.accounts.domain import DELETED, DISABLED, User, mask_phone, normalize_phone
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.clock import now_iso
from chalicelib.errors import InvalidState, NotFound
from chalicelib.ids import new_id
from chalicelib.pagination import decode_cursor, encode_cursor, page
from chalicelib.principal import STAFF_ROLES


class CustomerFacts(Protocol):
    """What other contexts know of a customer (answered by the composition root)."""

    def orders(self, user_id: str) -> tuple[int, int]:
        """(orders placed, paid minus refunded in fen)."""

    def membership(self, user_id: str) -> tuple[int | None, int]:
        """(level, growth) in the members club."""


def _role(user: User) -> str | None:
    return next((role for role in STAFF_ROLES if role in user.roles), None)


def staff_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "username": user.username,
        "role": _role(user),
        "status": user.status,
        "nickname": user.nickname,
        "created_at": user.created_at,
    }


def create_staff(
    repo: AccountsRepository, username: str, password: str, role: str, nickname: str | None
) -> dict[str, Any]:
    """A staff account of one role (409 if the username is taken); it signs in with POST /auth/login."""
    passwords.refuse_common(password)
    user = User(
        user_id=new_id("u"),
        username=username,
        created_at=now_iso(),
        password_hash=passwords.hash_password(password),
        nickname=nickname or username,
        roles={role},
    )
    repo.create_user(user, [("username", username.lower())], listed_as="staff")
    return staff_view(user)


def list_staff(directory: AccountsDirectory) -> dict[str, Any]:
    members = sorted(directory.accounts(directory.staff_ids()), key=lambda user: user.created_at)
    return page([staff_view(user) for user in members if _role(user)], None)


def update_staff(
    directory: AccountsDirectory, actor_id: str, user_id: str, role: str | None, status: str | None
) -> dict[str, Any]:
    """Change a staff member's role and/or status; an admin never demotes or disables themself (409)."""
    user = _staff(directory, user_id)
    if user_id == actor_id and (status == DISABLED or role not in (None, "admin")):
        raise InvalidState("You cannot demote or disable your own account")
    if role is not None and role != _role(user):
        directory.set_staff_role(user, role)
        user = _staff(directory, user_id)
    if status is not None and status != user.status:
        directory.set_status(user, status)
        user = _staff(directory, user_id)
    return staff_view(user)


def _staff(directory: AccountsDirectory, user_id: str) -> User:
    found = directory.accounts([user_id])
    if not found or _role(found[0]) is None or found[0].status == DELETED:
        raise NotFound("No such staff member")
    return found[0]


# -- customers -----------------------------------------------------------------------------------------------------


def customer_view(user: User, facts: CustomerFacts, detail: bool = False) -> dict[str, Any]:
    level, growth = facts.membership(user.user_id)
    view: dict[str, Any] = {
        "user_id": user.user_id,
        "username": user.username,
        "nickname": user.nickname,
        "phone": mask_phone(user.phone),
        "status": user.status,
        "level": level,
        "points_balance": user.points_balance,
        "created_at": user.created_at,
    }
    if detail:
        orders_count, total_paid_fen = facts.orders(user.user_id)
        view |= {"orders_count": orders_count, "total_paid_fen": total_paid_fen, "growth": growth}
    return view


def search_customers(
    repo: AccountsRepository,
    directory: AccountsDirectory,
    facts: CustomerFacts,
    phone: str | None,
    username: str | None,
    page_size: int,
    cursor: str | None,
) -> dict[str, Any]:
    """By phone (exact: its handle) or username prefix (the sharded directory), else every customer by username."""
    prefix = (username or "").lower()
    if phone:
        user_id = repo.find_user_id("phone", normalize_phone(phone))
        found = [u for u in directory.accounts([user_id] if user_id else []) if u.username.lower().startswith(prefix)]
        return page([customer_view(user, facts) for user in found if _role(user) is None], None)
    scope = f"customers:{prefix}"
    start = decode_cursor(cursor, scope)
    names = directory.customer_names(prefix, str(start["after"]) if start else None, page_size)
    users = directory.accounts([user_id for _, user_id in names])
    next_cursor = encode_cursor({"after": names[-1][0]}, scope) if len(names) == page_size else None
    return page([customer_view(user, facts) for user in users if _role(user) is None], next_cursor)


def _customer(directory: AccountsDirectory, user_id: str) -> User:
    found = directory.accounts([user_id])
    if not found or _role(found[0]) is not None:
        raise NotFound("No such customer")
    return found[0]


def customer_detail(directory: AccountsDirectory, facts: CustomerFacts, user_id: str) -> dict[str, Any]:
    return customer_view(_customer(directory, user_id), facts, detail=True)


def set_customer_status(
    directory: AccountsDirectory, facts: CustomerFacts, user_id: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    """Disable (no sign-in by any method, every refresh token dead, access tokens refused by the authorizer) or
    enable a customer; a deleted account stays deleted (409)."""
    user = _customer(directory, user_id)
    if user.status == DELETED:
        raise InvalidState("This account was deleted by its customer")
    if user.status != status:
        directory.set_status(user, status, reason)
        user = _customer(directory, user_id)
    return customer_view(user, facts, detail=True)
