"""The only module touching the audit log's model: append an entry, read a lookup's entries newest first."""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from pynamodb.transactions import TransactWrite

from chalicelib.audit.domain import AuditEntry
from chalicelib.audit.models import SHARDS, AuditEntryModel
from chalicelib.dynamo import connection


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None:
        """Store the entry under each of its lookups at once; an entry is never overwritten."""

    def newest(
        self, lookup: str, value: str, after: str, before: str, filters: dict[str, str], limit: int
    ) -> list[AuditEntry]:
        """Up to `limit` entries of one lookup with after <= sort key < before, newest first, matching `filters`
        (attribute name -> value)."""


def _entry(item: AuditEntryModel) -> AuditEntry:
    return AuditEntry(
        audit_id=item.audit_id,
        actor_id=item.actor_id,
        actor_username=item.actor_username,
        actor_role=item.actor_role,
        action=item.action,
        target=item.target,
        at=item.at,
        request_id=item.request_id,
        status=int(item.status),
    )


class DynamoAuditLog:
    """AuditLog on the accounts table (AuditEntryModel)."""

    def append(self, entry: AuditEntry) -> None:
        shard = entry.shard(SHARDS)
        fields = {name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__}
        with TransactWrite(connection=connection()) as transaction:
            for lookup, value in entry.lookups():
                item = AuditEntryModel(AuditEntryModel.key(lookup, value, shard), entry.sort_key, **fields)
                transaction.save(item, condition=AuditEntryModel.pk.does_not_exist())

    def newest(
        self, lookup: str, value: str, after: str, before: str, filters: dict[str, str], limit: int
    ) -> list[AuditEntry]:
        condition: Any = None
        for name, wanted in filters.items():
            clause = getattr(AuditEntryModel, name) == wanted
            condition = clause if condition is None else condition & clause
        shards = [
            AuditEntryModel.query(
                AuditEntryModel.key(lookup, value, shard),
                AuditEntryModel.sk.between(after, before),
                filter_condition=condition,
                scan_index_forward=False,
                limit=limit + 1,  # `between` includes `before`: one more, dropped below
            )
            for shard in range(SHARDS)
        ]
        newest_first = sorted(map(_entry, itertools.chain(*shards)), key=lambda e: e.sort_key, reverse=True)
        return [entry for entry in newest_first if entry.sort_key < before][:limit]
