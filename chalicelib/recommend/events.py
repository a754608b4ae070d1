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
from chalicelib.recommend import service, sharded
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
    """Hourly (the local runtime: soon after start, then every LOCAL_RECOMMEND_REFRESH_SECONDS). A window whose raw
    lake objects exceed RECOMMEND_DISTRIBUTED_ABOVE_BYTES starts the sharded refresh (the recommend_refresh state
    machine) instead; otherwise this Lambda reads the last
    RECOMMEND_BEHAVIOUR_DAYS of behaviour from the analytics lake (finished days from their compacted column objects,
    built once; the days read in parallel), the catalog (one Scan), promotions and themes,
    and stores hot, new, promotions, themes, similar items, hot per category and every active shopper's picks
    (only the lists that changed, in parallel)."""
    from chalicelib.analytics.rollup import today
    from chalicelib.recommend.window import load_window  # numpy: only this function loads it

    started = sharded.start_if_large(settings, lake, utcnow())
    if started is not None:
        metrics.add_metric(name="RecommendationShardedRefreshes", unit="Count", value=1)
        return started
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


# ------------------------------------------------- the sharded refresh's steps (recommend_refresh.asl.json)


@recommend_events.lambda_function(name="recommend_refresh_plan")
def recommend_refresh_plan(
    event: dict[str, Any], context: Any, settings: Settings, lake: Lake, catalog_facts: CatalogFacts
) -> dict[str, Any]:
    """Freeze the window and the catalog into the run's prefix; write the manifests of product and shopper shards."""
    sizes = {name: int(event[name]) for name in ("products_per_shard", "events_per_shopper_shard") if name in event}
    days = settings.recommend_behaviour_days
    run_id = str(event["run_id"])
    return service.plan_sharded_refresh(lake, settings.analytics_bucket, catalog_facts, run_id, days, utcnow(), **sizes)


@recommend_events.lambda_function(name="recommend_refresh_similar")
def recommend_refresh_similar(event: dict[str, Any], context: Any, lake: Lake) -> dict[str, Any]:
    """One product block of the Distributed Map: its similar items and hot scores."""
    from chalicelib.recommend import shards

    return shards.similar_shard(lake, event)


@recommend_events.lambda_function(name="recommend_refresh_merge")
def recommend_refresh_merge(event: dict[str, Any], context: Any, lake: Lake) -> dict[str, Any]:
    """The product blocks merged: the popular order and the neighbour table."""
    from chalicelib.recommend import shards

    return shards.merge_similar(lake, event)


@recommend_events.lambda_function(name="recommend_refresh_for_you")
def recommend_refresh_for_you(event: dict[str, Any], context: Any, lake: Lake, audience: Audience) -> dict[str, Any]:
    """One shopper bucket of the Distributed Map: its shoppers' picks and segment tallies."""
    from chalicelib.recommend import shards

    return shards.for_you_shard(lake, event, audience)


@recommend_events.lambda_function(name="recommend_refresh_reduce")
def recommend_refresh_reduce(
    event: dict[str, Any],
    context: Any,
    lake: Lake,
    promotions: PromotionsRepository,
    themes: ThemeRepository,
    recommendations: RecommendationStore,
) -> dict[str, Any]:
    """Every shard's lists merged; only the changed ones written, then the home item."""
    outcome = service.reduce_sharded_refresh(lake, event, promotions, themes, recommendations)
    metrics.add_metric(name="RecommendationRefreshes", unit="Count", value=1)
    metrics.add_metric(name="RecommendationShoppers", unit="Count", value=outcome["shoppers"])
    return outcome
