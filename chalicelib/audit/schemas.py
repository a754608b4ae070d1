"""Request and response bodies of the audit log."""

from __future__ import annotations

from pydantic import Field

from chalicelib.pagination import PageQuery
from chalicelib.schema import BaseModel

DAY_OR_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"


class AuditQuery(PageQuery):
    """Filters of `GET /admin/audit-log`; `from` / `to` are Asia/Shanghai days (YYYY-MM-DD) or ISO 8601 times."""

    actor_id: str | None = Field(None, min_length=1, max_length=128)
    action: str | None = Field(None, min_length=1, max_length=256)
    target: str | None = Field(None, min_length=1, max_length=128)
    request_id: str | None = Field(None, min_length=1, max_length=128)
    from_: str | None = Field(None, alias="from", pattern=DAY_OR_TIME)
    to: str | None = Field(None, pattern=DAY_OR_TIME)


class AuditActor(BaseModel):
    user_id: str
    username: str
    role: str


class AuditEntryView(BaseModel):
    audit_id: str
    actor: AuditActor
    action: str = Field(description="The method and the route template, e.g. `PATCH /admin/skus/{sku_id}/stock`")
    target: str | None = Field(description="The id in the path, else the id the write created")
    at: str
    request_id: str = Field(description="The write's X-Request-Id")
    status: int = Field(description="The HTTP status the write was answered with (refused writes too)")


class AuditPage(BaseModel):
    items: list[AuditEntryView]
    next_cursor: str | None
