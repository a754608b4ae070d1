"""HTTP routes of admin analytics: the summary of a range of days and its CSV export, both from the roll-ups."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.analytics import service
from chalicelib.analytics.repository import AnalyticsRepository
from chalicelib.analytics.schemas import ExportQuery, RangeQuery, Summary
from chalicelib.analytics.warehouse import Warehouse
from chalicelib.routes import Json, Routes

analytics_api = Routes(__name__, tags=("admin",))


@analytics_api.get("/admin/analytics/summary", roles=("analyst",))
def analytics_summary(query: RangeQuery, analytics: AnalyticsRepository, warehouse: Warehouse) -> Json[Summary]:
    """GMV, orders, buyers, AOV, the daily series, top products, the funnel and category shares of ?from=..&to=
    (business days, Asia/Shanghai; at most 366; beyond 31 days from the lake)"""
    return service.summary(analytics, query, warehouse)


@analytics_api.get("/admin/analytics/export.csv", media_type="text/csv", roles=("analyst",))
def analytics_export(query: ExportQuery, analytics: AnalyticsRepository, warehouse: Warehouse) -> Response:
    """The daily series (?report=daily) or every product (?report=products) of ?from=..&to= as a CSV download"""
    filename, text = service.export_csv(analytics, query, query.report, warehouse)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return Response(body="\ufeff" + text, status_code=200, headers=headers)  # the BOM makes Excel read UTF-8
