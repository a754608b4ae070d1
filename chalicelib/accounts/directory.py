"""The only module touching the staff and customer directories (and the user items as staff change them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.accounts.domain import DELETED, DISABLED, User
from chalicelib.accounts.models import NAME_SHARDS, NameEntryModel, StaffEntryModel, UserModel
from chalicelib.accounts.repository import listing, to_user
from chalicelib.errors import InvalidState
from chalicelib.principal import STAFF_ROLES


class AccountsDirectory(Protocol):
    def accounts(self, user_ids: list[str]) -> list[User]:
        """These accounts in the order of the ids, deleted ones too (status DELETED); missing ones left out."""

    def set_status(self, user: User, status: str, reason: str | None = None) -> None:
        """ACTIVE or DISABLED; disabling raises the refresh epoch (every refresh family dies). InvalidState if the
        user changed since read or was deleted."""

    def set_staff_role(self, user: User, role: str) -> None:
        """The staff member's one role; InvalidState if the user changed since read."""

    def staff_ids(self) -> list[str]: ...

    def customer_names(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(directory key, user_id) of customers whose lowercased username starts with prefix, by username, after
        the directory key `after`."""


class DynamoAccountsDirectory:
    """AccountsDirectory on the accounts table."""

    def accounts(self, user_ids: list[str]) -> list[User]:
        keys = [(UserModel.key(user_id), "PROFILE") for user_id in dict.fromkeys(user_ids)]
        found = {item.user_id: to_user(item, closed_too=True) for item in UserModel.batch_get(keys)}
        return [user for user in (found.get(user_id) for user_id in user_ids) if user is not None]

    def set_status(self, user: User, status: str, reason: str | None = None) -> None:
        actions: list[Any] = [UserModel.version.set(user.version + 1)]
        if status == DISABLED:
            actions += [UserModel.status.set(DISABLED), UserModel.refresh_epoch.set(user.refresh_epoch + 1)]
            actions.append(UserModel.disabled_reason.set(reason) if reason else UserModel.disabled_reason.remove())
        else:
            actions += [UserModel.status.remove(), UserModel.disabled_reason.remove()]
        condition = (UserModel.version == user.version) & (
            UserModel.status.does_not_exist() | (UserModel.status != DELETED)
        )
        self._update(user, actions, condition)

    def set_staff_role(self, user: User, role: str) -> None:
        self._update(
            user,
            [UserModel.roles.set({role}), UserModel.version.set(user.version + 1)],
            UserModel.version == user.version,
        )

    @staticmethod
    def _update(user: User, actions: list[Any], condition: Any) -> None:
        try:
            UserModel(UserModel.key(user.user_id), "PROFILE").update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise InvalidState("The account changed meanwhile, retry") from error
            raise

    def staff_ids(self) -> list[str]:
        return [item.user_id for item in StaffEntryModel.query("STAFF")]

    def customer_names(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for shard in range(NAME_SHARDS):
            condition = (
                NameEntryModel.sk.between(after + "\x00", prefix + "\uffff")
                if after is not None
                else (NameEntryModel.sk.startswith(prefix) if prefix else None)
            )
            items = NameEntryModel.query(NameEntryModel.key(shard), condition, limit=limit)
            found.extend((item.sk, item.user_id) for item in items)
        return sorted(found)[:limit]

    # -- the one-off backfill of accounts made before the directories (infra/migrations/customer_directory.py) ------

    def every_account(self) -> Iterator[User]:
        """Every account but the deleted ones: a Scan of the accounts table, for the migration only."""
        for item in UserModel.scan(filter_condition=UserModel.sk == "PROFILE", page_size=100):
            user = to_user(item, closed_too=True)
            if user is not None and user.status != DELETED:
                yield user

    def list_in_directory(self, user: User) -> bool:
        """Write the account's directory entry (staff or customer) unless it is there; whether it was written."""
        entry = listing(user, "staff" if any(role in STAFF_ROLES for role in user.roles) else "customer")
        try:
            entry.save(condition=NameEntryModel.pk.does_not_exist())  # both directories key on pk, sk
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
