"""An audit entry as plain values, and how an entry is found: the lookups it is written under."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    audit_id: str
    actor_id: str
    actor_username: str
    actor_role: str
    action: str  # "PATCH /admin/skus/{sku_id}/stock": the method and the route template
    target: str | None  # the id in the path, else the id the write created
    at: str  # ISO 8601 UTC to the microsecond (entries of one second keep their order)
    request_id: str
    status: int

    @property
    def sort_key(self) -> str:
        return f"{self.at}#{self.audit_id}"

    def lookups(self) -> list[tuple[str, str]]:
        """(lookup, value) of every copy written: all entries, by actor, action, request id and target."""
        found = [("all", "-"), ("actor", self.actor_id), ("action", self.action), ("request", self.request_id)]
        if self.target:
            found.append(("target", self.target))
        return found

    def shard(self, shards: int) -> int:
        return zlib.crc32(self.audit_id.encode()) % shards

    def view(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "actor": {"user_id": self.actor_id, "username": self.actor_username, "role": self.actor_role},
            "action": self.action,
            "target": self.target,
            "at": self.at[:19] + "Z",
            "request_id": self.request_id,
            "status": self.status,
        }


def best_lookup(filters: dict[str, str | None]) -> tuple[str, str]:
    """The narrowest lookup the filters allow (a request id names one write; a target, an actor, then an action
    fewer than all); the other filters are checked on what it reads."""
    for lookup, name in (("request", "request_id"), ("target", "target"), ("actor", "actor_id"), ("action", "action")):
        value = filters.get(name)
        if value:
            return lookup, value
    return "all", "-"
