"""HTTP routes of the audit log (its entries are written by chalicelib.routes for every staff write)."""

from __future__ import annotations

from chalicelib.audit import service
from chalicelib.audit.repository import AuditLog
from chalicelib.audit.schemas import AuditPage, AuditQuery
from chalicelib.routes import Json, Routes

audit_api = Routes(__name__, tags=("admin",))


@audit_api.get("/admin/audit-log", roles=("admin",))
def search_audit_log(query: AuditQuery, audit_log: AuditLog) -> Json[AuditPage]:
    """Staff writes under /admin, refused ones too, newest first (role admin)"""
    return service.search(audit_log, query)
