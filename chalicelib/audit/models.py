"""pynamodb model of the audit log, in the accounts table: one entry written once per way it is looked up."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.config import get_settings
from chalicelib.dynamo import table_meta

# Each entry goes to one of SHARDS partitions of every lookup (its shard from its id): no lookup, not even "all
# entries" or one busy actor, is a single hot partition on the write path; a read queries the SHARDS and merges.
SHARDS = 8


class AuditEntryModel(Model):
    """pk=AUDIT#<lookup>#<value>#<shard>, sk=<at>#<audit_id>; lookups `all`, `actor`, `action`, `target`, `request`.

    Written in one transaction, each copy only if absent, and never updated or deleted (no TTL)."""

    Meta = table_meta(get_settings().accounts_table)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    audit_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_username = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    request_id = UnicodeAttribute()
    status = NumberAttribute()

    @staticmethod
    def key(lookup: str, value: str, shard: int) -> str:
        return f"AUDIT#{lookup}#{value}#{shard}"
