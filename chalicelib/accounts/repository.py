"""The only module that touches the accounts models: users, their handles and refresh tokens."""

from __future__ import annotations

import zlib
from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.domain import ACTIVE, DELETED, DELETED_USERNAME, RefreshRecord, User
from chalicelib.accounts.models import (
    NAME_SHARDS,
    HandleModel,
    NameEntryModel,
    RefreshFamilyModel,
    RefreshTokenModel,
    StaffEntryModel,
    UserModel,
)
from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.errors import Conflict, InvalidState, NotFound


class AccountsRepository(Protocol):
    def create_user(self, user: User, handles: list[tuple[str, str]], listed_as: str = "customer") -> None:
        """Store the user and claim every handle at once, listed in the customer (or staff) directory; Conflict
        naming the first handle already taken."""

    def find_user_id(self, kind: str, value: str) -> str | None: ...

    def get_user(self, user_id: str) -> User | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    def add_role(self, user_id: str, role: str) -> None: ...

    def start_refresh_family(
        self, digest: str, user_id: str, family_id: str, epoch: int, created_at: str, expires_at: int
    ) -> None:
        """Store a sign-in's first refresh token and its family."""

    def get_refresh(self, digest: str) -> RefreshRecord | None: ...

    def rotate_refresh_token(self, old_digest: str, new_digest: str, record: RefreshRecord, created_at: str) -> bool:
        """Mark the old token used and store its successor, atomically; False if the old one was already used
        or its family revoked (then nothing is written)."""

    def revoke_family(self, family_id: str) -> None: ...

    def update_profile(self, user_id: str, changes: dict[str, Any]) -> None:
        """Set (value) or remove (None) the given profile fields."""

    def change_password(self, user: User, password_hash: str) -> None:
        """New hash and a new refresh epoch (every older refresh family dies); InvalidState if the user changed."""

    def bind_handle(self, user: User, kind: str, value: str, binding: dict[str, str] | None) -> None:
        """Claim handle (kind, value) for the user and record it (binding for a provider, else the phone);
        Conflict if another account holds it, InvalidState if the user changed since it was read."""

    def unbind_handle(self, user: User, kind: str, value: str) -> None:
        """Release the user's handle and forget it on the user; InvalidState if the user changed since read."""

    def close_account(self, user: User, at: str) -> None:
        """At once: every handle of the user released, its profile emptied (username, password, phone, nickname,
        avatar, gender, birthday, bindings), its status DELETED and its refresh epoch raised (every refresh family
        dies); InvalidState if the user changed since read (a bind, a password change, another deletion)."""

    def account_status(self, user_id: str) -> str | None:
        """ACTIVE, DISABLED or DELETED, for staff; None when there is no such account."""

    def access_of(self, user_id: str) -> tuple[str, frozenset[str]] | None:
        """The account's status and roles as they are now (one small read); None when there is no such account."""


def to_user(item: UserModel, closed_too: bool = False) -> User | None:
    if item.status == DELETED and not closed_too:
        return None  # a deleted account is no one: no sign-in, token or profile reaches it
    return User(
        user_id=item.user_id,
        username=item.username,
        created_at=item.created_at,
        password_hash=item.password_hash,
        phone=item.phone,
        nickname=item.nickname,
        avatar_url=item.avatar_url,
        gender=item.gender,
        birthday=item.birthday,
        roles=set(item.roles or {"customer"}),
        points_balance=int(item.points_balance or 0),
        bindings={k: dict(v) for k, v in (_plain(item.bindings) or {}).items()},
        version=int(item.version or 1),
        refresh_epoch=int(item.refresh_epoch or 0),
        status=item.status or ACTIVE,
        occupation=item.occupation,
        interests=[str(category_id) for category_id in item.interests or []],
    )


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


class DynamoAccountsRepository:
    """AccountsRepository on the accounts table."""

    def create_user(self, user: User, handles: list[tuple[str, str]], listed_as: str = "customer") -> None:
        item = UserModel(
            UserModel.key(user.user_id),
            "PROFILE",
            user_id=user.user_id,
            username=user.username,
            password_hash=user.password_hash,
            phone=user.phone,
            nickname=user.nickname,
            avatar_url=user.avatar_url,
            bindings=user.bindings,
            roles=set(user.roles),
            points_balance=user.points_balance,
            created_at=user.created_at,
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(item, condition=UserModel.pk.does_not_exist())
                for kind, value in handles:
                    handle = HandleModel(HandleModel.key(kind, value), "HANDLE", user_id=user.user_id)
                    transaction.save(handle, condition=HandleModel.pk.does_not_exist())
                transaction.save(listing(user, listed_as))
        except TransactWriteError as error:
            failed = cancelled_conditions(error)
            for (kind, _value), did_fail in zip(handles, failed[1:], strict=False):
                if did_fail:
                    raise Conflict(f"This {kind} is already registered", field=kind) from error
            raise

    def find_user_id(self, kind: str, value: str) -> str | None:
        try:
            return HandleModel.get(HandleModel.key(kind, value), "HANDLE").user_id
        except DoesNotExist:
            return None

    def get_user(self, user_id: str) -> User | None:
        try:
            return to_user(UserModel.get(UserModel.key(user_id), "PROFILE", consistent_read=True))
        except DoesNotExist:
            return None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        UserModel(UserModel.key(user_id), "PROFILE").update(
            actions=[UserModel.password_hash.set(password_hash)], condition=UserModel.pk.exists()
        )

    def add_role(self, user_id: str, role: str) -> None:
        UserModel(UserModel.key(user_id), "PROFILE").update(
            actions=[UserModel.roles.add({role})], condition=UserModel.pk.exists()
        )

    def start_refresh_family(
        self, digest: str, user_id: str, family_id: str, epoch: int, created_at: str, expires_at: int
    ) -> None:
        family = RefreshFamilyModel(
            RefreshFamilyModel.key(family_id), "FAMILY", user_id=user_id, refresh_epoch=epoch, expires_at=expires_at
        )
        token = RefreshTokenModel(
            RefreshTokenModel.key(digest),
            "TOKEN",
            user_id=user_id,
            family_id=family_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(family, condition=RefreshFamilyModel.pk.does_not_exist())
            transaction.save(token, condition=RefreshTokenModel.pk.does_not_exist())

    def get_refresh(self, digest: str) -> RefreshRecord | None:
        try:
            token = RefreshTokenModel.get(RefreshTokenModel.key(digest), "TOKEN")
            family = RefreshFamilyModel.get(RefreshFamilyModel.key(token.family_id), "FAMILY")
        except DoesNotExist:
            return None
        return RefreshRecord(
            user_id=token.user_id,
            family_id=token.family_id,
            expires_at=int(token.expires_at),
            used=token.used_at is not None,
            family_revoked=bool(family.revoked),
            family_epoch=int(family.refresh_epoch or 0),
        )

    def rotate_refresh_token(self, old_digest: str, new_digest: str, record: RefreshRecord, created_at: str) -> bool:
        successor = RefreshTokenModel(
            RefreshTokenModel.key(new_digest),
            "TOKEN",
            user_id=record.user_id,
            family_id=record.family_id,
            created_at=created_at,
            expires_at=record.expires_at,
        )
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    RefreshTokenModel(RefreshTokenModel.key(old_digest), "TOKEN"),
                    actions=[RefreshTokenModel.used_at.set(created_at)],
                    condition=RefreshTokenModel.pk.exists() & RefreshTokenModel.used_at.does_not_exist(),
                )
                transaction.condition_check(
                    RefreshFamilyModel,
                    RefreshFamilyModel.key(record.family_id),
                    "FAMILY",
                    condition=RefreshFamilyModel.revoked == False,  # noqa: E712 - a condition, not a comparison
                )
                transaction.save(successor, condition=RefreshTokenModel.pk.does_not_exist())
        except TransactWriteError:
            return False
        return True

    def revoke_family(self, family_id: str) -> None:
        try:
            RefreshFamilyModel(RefreshFamilyModel.key(family_id), "FAMILY").update(
                actions=[RefreshFamilyModel.revoked.set(True)], condition=RefreshFamilyModel.pk.exists()
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def update_profile(self, user_id: str, changes: dict[str, Any]) -> None:
        actions = [
            getattr(UserModel, name).set(value) if value is not None else getattr(UserModel, name).remove()
            for name, value in changes.items()
        ]
        if not actions:
            return
        try:
            UserModel(UserModel.key(user_id), "PROFILE").update(actions=actions, condition=UserModel.pk.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such account") from error
            raise

    def change_password(self, user: User, password_hash: str) -> None:
        try:
            UserModel(UserModel.key(user.user_id), "PROFILE").update(
                actions=[
                    UserModel.password_hash.set(password_hash),
                    UserModel.refresh_epoch.set(user.refresh_epoch + 1),
                    UserModel.version.set(user.version + 1),
                ],
                condition=UserModel.version == user.version,
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise InvalidState("The account changed meanwhile, retry") from error
            raise

    def bind_handle(self, user: User, kind: str, value: str, binding: dict[str, str] | None) -> None:
        record = UserModel.phone.set(value) if binding is None else _binding_path(kind).set(binding)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(
                    HandleModel(HandleModel.key(kind, value), "HANDLE", user_id=user.user_id),
                    condition=HandleModel.pk.does_not_exist(),
                )
                transaction.update(
                    UserModel(UserModel.key(user.user_id), "PROFILE"),
                    actions=[record, UserModel.version.set(user.version + 1)],
                    condition=UserModel.version == user.version,
                )
        except TransactWriteError as error:
            handle_taken, user_changed = ([*cancelled_conditions(error), False, False])[:2]
            if handle_taken:
                raise Conflict(f"This {kind} is bound to another account", field=kind) from error
            if user_changed:
                raise InvalidState("The account changed meanwhile, retry") from error
            raise

    def unbind_handle(self, user: User, kind: str, value: str) -> None:
        forget = UserModel.phone.remove() if kind == "phone" else _binding_path(kind).remove()
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.delete(
                    HandleModel(HandleModel.key(kind, value), "HANDLE"),
                    condition=HandleModel.user_id == user.user_id,
                )
                transaction.update(
                    UserModel(UserModel.key(user.user_id), "PROFILE"),
                    actions=[forget, UserModel.version.set(user.version + 1)],
                    condition=UserModel.version == user.version,
                )
        except TransactWriteError as error:
            raise InvalidState("The account changed meanwhile, retry") from error

    def close_account(self, user: User, at: str) -> None:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    UserModel(UserModel.key(user.user_id), "PROFILE"),
                    actions=[
                        UserModel.status.set(DELETED),
                        UserModel.deleted_at.set(at),
                        UserModel.username.set(DELETED_USERNAME),
                        UserModel.password_hash.remove(),
                        UserModel.phone.remove(),
                        UserModel.nickname.remove(),
                        UserModel.avatar_url.remove(),
                        UserModel.gender.remove(),
                        UserModel.birthday.remove(),
                        UserModel.bindings.set({}),
                        UserModel.refresh_epoch.set(user.refresh_epoch + 1),
                        UserModel.version.set(user.version + 1),
                    ],
                    condition=(UserModel.version == user.version) & UserModel.status.does_not_exist(),
                )
                for kind, value in user.handles():
                    transaction.delete(
                        HandleModel(HandleModel.key(kind, value), "HANDLE"),
                        condition=HandleModel.user_id == user.user_id,
                    )
        except TransactWriteError as error:
            raise InvalidState("The account changed meanwhile, retry") from error

    def account_status(self, user_id: str) -> str | None:
        try:
            item = UserModel.get(UserModel.key(user_id), "PROFILE", attributes_to_get=["pk", "status"])
        except DoesNotExist:
            return None
        return item.status or "ACTIVE"

    def access_of(self, user_id: str) -> tuple[str, frozenset[str]] | None:
        try:
            item = UserModel.get(UserModel.key(user_id), "PROFILE", attributes_to_get=["pk", "status", "roles"])
        except DoesNotExist:
            return None
        return item.status or ACTIVE, frozenset(item.roles or {"customer"})


def listing(user: User, listed_as: str) -> Model:
    """The user's entry in the customer directory (by username) or the staff directory."""
    if listed_as == "staff":
        return StaffEntryModel("STAFF", user.user_id, user_id=user.user_id)
    shard = zlib.crc32(user.user_id.encode()) % NAME_SHARDS
    return NameEntryModel(NameEntryModel.key(shard), f"{user.username.lower()}#{user.user_id}", user_id=user.user_id)


def _binding_path(provider: str) -> Any:
    """The document path bindings.<provider> (pynamodb's typing does not know map paths)."""
    bindings: Any = UserModel.bindings
    return bindings[provider]
