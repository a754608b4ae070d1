"""Non-HTTP handlers of recommend: the scheduled refresh of recommendations.

numpy/scipy are loaded by refresh.compute when it runs, never when this module is imported.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.analytics.lake import Lake
from chalicelib.clock import now_iso, utcnow
from chalicelib.config import Settings, resource_name
from chalicelib.deps import Handlers
from chalicelib.observability import metrics
from chalicelib.promotions.repository import PromotionsRepository
from chalicelib.recommend import service
from chalicelib.recommend.repository import CatalogFacts, RecommendationStore
from chalicelib.recommend.segments import Audience
from chalicelib.themes.repository import ThemeRepository

recommend_events = Handlers(__name__)
RECOMMEND_REFRESH_QUEUE = resource_name("recommend-refresh")
REFRESH_RECEIVES = 3  # the queue's maxReceiveCount (infra/template.yaml)


@recommend_events.schedule("rate(1 hour)")
def refresh_recommendations(
    event: CloudWatchEvent,
    settings: Settings,
    lake: Lake,
    catalog_facts: CatalogFacts,
    promotions: PromotionsRepository,
    themes: ThemeRepository,
    recommendations: RecommendationStore,
    audience: Audience,
) -> dict[str, Any]:
    """Hourly (the local runtime: soon after start, then every LOCAL_RECOMMEND_REFRESH_SECONDS): reads the last
    RECOMMEND_BEHAVIOUR_DAYS of behaviour from the analytics lake (finished days from their compacted column objects,
    built once; the days read in parallel), the catalog (one Scan), promotions and themes,
    and stores hot, new, promotions, themes, similar items, hot per category and every active shopper's picks
    (only the lists that changed, in parallel)."""
    from chalicelib.analytics.rollup import today
    from chalicelib.recommend.window import load_window  # numpy: only this function loads it

    window = load_window(lake, settings.recommend_behaviour_days, today())
    outcome = service.refresh_recommendations(
        window, catalog_facts, promotions, themes, recommendations, utcnow(), audience, written=lake
    )
    metrics.add_metric(name="RecommendationRefreshes", unit="Count", value=1)
    metrics.add_metric(name="RecommendationShoppers", unit="Count", value=outcome["shoppers"])
    return outcome


@recommend_events.on_sqs_message(queue=RECOMMEND_REFRESH_QUEUE, batch_size=1)
def run_recommendation_refresh(
    event: SQSEvent,
    settings: Settings,
    lake: Lake,
    catalog_facts: CatalogFacts,
    promotions: PromotionsRepository,
    themes: ThemeRepository,
    recommendations: RecommendationStore,
    audience: Audience,
) -> dict[str, Any]:
    """A refresh staff asked for (POST /admin/recommendations/refresh): the same refresh as the schedule's, then its
    run marked SUCCEEDED. A failure is retried by the queue (3 receives); the run is marked FAILED on the last one,
    and a run already finished (a redelivery) is not refreshed again."""
    for record in event:
        run_id = str(json.loads(record.body)["run_id"])
        found = recommendations.get(run_id)
        if found is not None and found["status"] != "RUNNING":
            continue
        try:
            from chalicelib.analytics.rollup import today
            from chalicelib.recommend.window import load_window  # numpy: only the refresh loads it

            window = load_window(lake, settings.recommend_behaviour_days, today())
            service.refresh_recommendations(
                window, catalog_facts, promotions, themes, recommendations, utcnow(), audience, written=lake
            )
        except Exception:
            if int(record.to_dict()["attributes"].get("ApproximateReceiveCount", "1")) >= REFRESH_RECEIVES:
                recommendations.finish(run_id, "FAILED", now_iso())
            raise
        recommendations.finish(run_id, "SUCCEEDED", now_iso())
    return {"runs": len(list(event))}
