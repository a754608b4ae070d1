"""The only module that touches the accounts models: users, their handles and refresh tokens."""

from __future__ import annotations

from typing import Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.domain import User
from chalicelib.accounts.models import HandleModel, RefreshTokenModel, UserModel
from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.errors import Conflict


class AccountsRepository(Protocol):
    def create_user(self, user: User, handles: list[tuple[str, str]]) -> None:
        """Store the user and claim every handle at once; Conflict naming the first handle already taken."""

    def find_user_id(self, kind: str, value: str) -> str | None: ...

    def get_user(self, user_id: str) -> User | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    def add_role(self, user_id: str, role: str) -> None: ...

    def save_refresh_token(
        self, digest: str, user_id: str, family_id: str, created_at: str, expires_at: int
    ) -> None: ...


def _to_user(item: UserModel) -> User:
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
    )


class DynamoAccountsRepository:
    """AccountsRepository on the accounts table."""

    def create_user(self, user: User, handles: list[tuple[str, str]]) -> None:
        item = UserModel(
            UserModel.key(user.user_id),
            "PROFILE",
            user_id=user.user_id,
            username=user.username,
            password_hash=user.password_hash,
            phone=user.phone,
            nickname=user.nickname,
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
            return _to_user(UserModel.get(UserModel.key(user_id), "PROFILE"))
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

    def save_refresh_token(self, digest: str, user_id: str, family_id: str, created_at: str, expires_at: int) -> None:
        RefreshTokenModel(
            RefreshTokenModel.key(digest),
            "TOKEN",
            user_id=user_id,
            family_id=family_id,
            created_at=created_at,
            expires_at=expires_at,
        ).save(condition=RefreshTokenModel.pk.does_not_exist())
