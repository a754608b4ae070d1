"""Recording staff writes and searching them."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from chalicelib.audit.domain import AuditEntry, best_lookup
from chalicelib.audit.repository import AuditLog
from chalicelib.audit.schemas import AuditQuery
from chalicelib.clock import SHANGHAI, parse_iso, precise_iso, utcnow
from chalicelib.errors import ValidationError
from chalicelib.ids import new_id
from chalicelib.pagination import decode_cursor, encode_cursor, page


def record(log: AuditLog, entry: dict[str, Any]) -> AuditEntry:
    """Append a staff write (as chalicelib.routes describes it: actor, action, target, request_id, status)."""
    actor = entry["actor"]
    written = AuditEntry(
        audit_id=new_id("au"),
        actor_id=str(actor["user_id"]),
        actor_username=str(actor.get("username") or ""),
        actor_role=str(actor.get("role") or ""),
        action=str(entry["action"]),
        target=str(entry["target"]) if entry.get("target") else None,
        at=precise_iso(utcnow()),
        request_id=str(entry.get("request_id") or "unknown"),
        status=int(entry["status"]),
    )
    log.append(written)
    return written


def _bound(value: str | None, field: str, end: bool) -> str | None:
    """A sort-key bound: a day is Asia/Shanghai's (`to` takes the whole day), a time is itself."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), SHANGHAI)
            return precise_iso(day + timedelta(days=1) if end else day)
        moment = precise_iso(parse_iso(value))
    except ValueError as error:
        raise ValidationError(errors=[{"field": field, "message": "Not a valid day or time."}]) from error
    return moment + "~" if end else moment


def search(log: AuditLog, query: AuditQuery) -> dict[str, Any]:
    """Entries newest first, narrowed by actor, action, target, request id and a time range."""
    filters = {
        "actor_id": query.actor_id,
        "action": query.action,
        "target": query.target,
        "request_id": query.request_id,
    }
    lookup, value = best_lookup(filters)
    checked = {name: wanted for name, wanted in filters.items() if wanted and name != _FIELD_OF[lookup]}
    after = _bound(query.from_, "from", end=False) or "0"
    before = _bound(query.to, "to", end=True) or "~"
    scope = "audit:" + "|".join(f"{k}={v}" for k, v in sorted(filters.items()) if v) + f"|{after}|{before}"
    start = decode_cursor(query.cursor, scope)
    if start is not None:
        before = min(before, str(start.get("before", before)))
    if after >= before:
        return page([], None)
    entries = log.newest(lookup, value, after, before, checked, query.page_size)
    more = len(entries) == query.page_size
    cursor = encode_cursor({"before": entries[-1].sort_key}, scope) if more else None
    return page([entry.view() for entry in entries], cursor)


_FIELD_OF = {"request": "request_id", "target": "target", "actor": "actor_id", "action": "action", "all": ""}


class AuditTrail:
    """The audit log as the HTTP kernel (recording every staff write) and its route (searching them) use it."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def record(self, entry: dict[str, Any]) -> AuditEntry:
        return record(self.log, entry)

    def search(self, query: AuditQuery) -> dict[str, Any]:
        return search(self.log, query)
