"""HTTP routes of admin analytics: the summary of a range of days and its CSV export, both from the roll-ups."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.analytics import service
from chalicelib.analytics.repository import DynamoAnalyticsRepository
from chalicelib.analytics.schemas import ExportQuery, RangeQuery, Summary
from chalicelib.http import endpoint

analytics_api = Blueprint(__name__)
repo = DynamoAnalyticsRepository()
TAGS = ("admin",)


@endpoint(analytics_api, "/admin/analytics/summary", summary="GMV, orders, buyers, AOV, the daily series, top "
          "products, the funnel and category shares of ?from=..&to= (business days, Asia/Shanghai; at most 366)",
          tags=TAGS, auth="admin", query=RangeQuery, response=Summary)  # fmt: skip
def analytics_summary(query: RangeQuery) -> dict[str, Any]:
    return service.summary(repo, query)


@endpoint(analytics_api, "/admin/analytics/export.csv", summary="The daily series (?report=daily) or every "
          "product (?report=products) of ?from=..&to= as a CSV download", tags=TAGS, auth="admin",
          query=ExportQuery, media_type="text/csv")  # fmt: skip
def analytics_export(query: ExportQuery) -> Response:
    filename, text = service.export_csv(repo, query, query.report)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return Response(body="\ufeff" + text, status_code=200, headers=headers)  # the BOM makes Excel read UTF-8
