"""HTTP routes of the audit log (its entries are written by chalicelib.routes for every staff write)."""

from __future__ import annotations

from chalicelib.audit.schemas import AuditPage, AuditQuery
from chalicelib.audit.service import AuditTrail
from chalicelib.routes import Json, Routes

audit_api = Routes(__name__, tags=("admin",))


@audit_api.get("/admin/audit-log", roles=("admin",))
def search_audit_log(query: AuditQuery, audit_trail: AuditTrail) -> Json[AuditPage]:
    """Staff writes under /admin, refused ones too, newest first (role admin)"""
    return audit_trail.search(query)
