"""Non-HTTP handlers of analytics: the behaviour and order event consumer, and the lake's hourly compaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.analytics import service
from chalicelib.analytics.lake import Lake, day_prefix
from chalicelib.analytics.repository import AnalyticsRepository
from chalicelib.analytics.service import CategoriesOf
from chalicelib.config import resource_name
from chalicelib.deps import Handlers
from chalicelib.observability import metrics

analytics_events = Handlers(__name__)
ANALYTICS_EVENTS_QUEUE = resource_name("analytics-events")


@analytics_events.on_sqs_message(queue=ANALYTICS_EVENTS_QUEUE, batch_size=100, maximum_batching_window_in_seconds=10)
def record_analytics_events(
    event: SQSEvent, analytics: AnalyticsRepository, lake: Lake, categories_of: CategoriesOf
) -> dict[str, Any]:
    """Validates a batch of analytics events (malformed ones are logged and dropped), drops the ones counted before,
    keeps the rest in the S3 lake and adds them to the daily roll-ups exactly once (see service.record_batch).

    Anything else that fails raises, so the batch comes back (after 5 tries: the DLQ); what was committed before the
    failure is recognised by its seen-markers and not counted again.
    """
    outcome = service.record_batch(analytics, lake, [r.body for r in event], categories_of)
    metrics.add_metric(name="AnalyticsEventsCounted", unit="Count", value=outcome.counted)
    if outcome.malformed:
        metrics.add_metric(name="AnalyticsEventsMalformed", unit="Count", value=outcome.malformed)
    if outcome.duplicates:
        metrics.add_metric(name="AnalyticsEventsDuplicate", unit="Count", value=outcome.duplicates)
    return outcome.as_dict()


COMPACT_RECENT_DAYS = 2  # today and yesterday (late deliveries) every run
COMPACT_LOOKBACK_DAYS = 7  # and any day of the last week that has raw objects but no columnar files yet


@analytics_events.schedule("rate(1 hour)")
def compact_analytics_lake(event: CloudWatchEvent, lake: Lake) -> dict[str, Any]:
    """Hourly (locally every LOCAL_LAKE_COMPACT_SECONDS): rewrites today's and yesterday's (business days) columnar
    Parquet files of the lake from their raw objects, each event once, for Athena (and DuckDB locally), and any day
    of the last week not compacted yet. An event's `detail.days` names other days to redo (after a DLQ redrive)."""
    from chalicelib.analytics import columnar  # pyarrow: only this function's layer has it
    from chalicelib.analytics.rollup import today

    last = today()
    asked = [str(day) for day in (event.to_dict().get("detail") or {}).get("days") or []]
    recent = [(last - timedelta(days=n)).isoformat() for n in range(COMPACT_RECENT_DAYS)]
    older = [(last - timedelta(days=n)).isoformat() for n in range(COMPACT_RECENT_DAYS, COMPACT_LOOKBACK_DAYS)]
    missing = [day for day in older if lake.keys(day_prefix(day)) and not columnar.compacted(lake, day)]
    compacted = {day: columnar.compact_day(lake, day) for day in dict.fromkeys([*asked, *recent, *missing])}
    metrics.add_metric(name="AnalyticsDaysCompacted", unit="Count", value=len(compacted))
    return {"days": compacted}
