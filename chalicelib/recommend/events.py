"""Non-HTTP handlers of recommend: the scheduled refresh of recommendations.

numpy/scipy are loaded by refresh.compute when it runs, never when this module is imported.
"""

from __future__ import annotations

from typing import Any

from chalice.app import CloudWatchEvent

from chalicelib.analytics.lake import Lake
from chalicelib.clock import utcnow
from chalicelib.config import Settings
from chalicelib.deps import Handlers
from chalicelib.observability import metrics
from chalicelib.promotions.repository import PromotionsRepository
from chalicelib.recommend import service
from chalicelib.recommend.repository import CatalogFacts, RecommendationStore
from chalicelib.themes.repository import ThemeRepository

recommend_events = Handlers(__name__)


@recommend_events.schedule("rate(1 hour)")
def refresh_recommendations(
    event: CloudWatchEvent,
    settings: Settings,
    lake: Lake,
    catalog_facts: CatalogFacts,
    promotions: PromotionsRepository,
    themes: ThemeRepository,
    recommendations: RecommendationStore,
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
        window, catalog_facts, promotions, themes, recommendations, utcnow(), written=lake
    )
    metrics.add_metric(name="RecommendationRefreshes", unit="Count", value=1)
    metrics.add_metric(name="RecommendationShoppers", unit="Count", value=outcome["shoppers"])
    return outcome
