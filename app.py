"""The Chalice app: wiring only (middleware, blueprints, the container that hands routes what they use); the code
lives in chalicelib.

Blueprints are named, not imported: chalicelib.lazy_app registers a context's blueprint when a request first reaches
one of its routes (chalicelib/route_table.py says which), or everything when the whole app is asked for, so a cold
start loads one context, not all. The container (chalicelib.bootstrap) builds what a route uses on first use.
"""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap, deps, route_table
from chalicelib.config import APP_NAME, current_stage
from chalicelib.http import http_guard
from chalicelib.lazy_app import LazyBlueprintChalice
from chalicelib.observability import observe_invocation
from chalicelib.routes import complete_operations_with

BLUEPRINTS = (
    "chalicelib.auth:auth_bp",
    "chalicelib.ops.api:ops_api",
    "chalicelib.accounts.api:accounts_api",
    "chalicelib.accounts.oauth.api:oauth_api",
    "chalicelib.accounts.staff_api:staff_api",
    "chalicelib.profile.api:profile_api",
    "chalicelib.catalog.api:catalog_api",
    "chalicelib.catalog.events:catalog_events",
    "chalicelib.cart.api:cart_api",
    "chalicelib.promotions.api:promotions_api",
    "chalicelib.coupons.api:coupons_api",
    "chalicelib.points.api:points_api",
    "chalicelib.inventory.api:inventory_api",
    "chalicelib.inventory.events:inventory_events",
    "chalicelib.themes.api:themes_api",
    "chalicelib.orders.api:orders_api",
    "chalicelib.orders.events:orders_events",
    "chalicelib.orders.parcels_api:parcels_api",
    "chalicelib.orders.aftersales_api:aftersales_api",
    "chalicelib.logistics.api:logistics_api",
    "chalicelib.logistics.events:logistics_events",
    "chalicelib.flashsale.api:flashsale_api",
    "chalicelib.flashsale.events:flashsale_events",
    "chalicelib.reviews.api:reviews_api",
    "chalicelib.uploads.api:uploads_api",
    "chalicelib.feedback.api:feedback_api",
    "chalicelib.membership.api:membership_api",
    "chalicelib.payments.api:payments_api",
    "chalicelib.payments.events:payments_events",
    "chalicelib.search.api:search_api",
    "chalicelib.search.events:search_events",
    "chalicelib.recommend.api:recommend_api",
    "chalicelib.recommend.events:recommend_events",
    "chalicelib.analytics.api:analytics_api",
    "chalicelib.analytics.events:analytics_events",
    "chalicelib.audit.api:audit_api",
)

STAGE = current_stage()  # a deployed function without an explicit SHOP_STAGE refuses to start (MissingStage)
deps.use(bootstrap.container)
app = LazyBlueprintChalice(APP_NAME, BLUEPRINTS, route_table.PATHS, route_table.HANDLERS)
app.register_middleware(observe_invocation, "all")
app.register_middleware(http_guard, "http")
complete_operations_with(app.register_every_blueprint)


def __getattr__(name: str) -> Any:
    """`app.<function name>`: the deployed handler of every non-HTTP function (infra/package.py points them here), so
    the app's middleware wraps them as it does locally; a blueprint's module imported alone has none."""
    try:
        return app.handler(name)
    except KeyError:
        raise AttributeError(f"module 'app' has no attribute {name!r}") from None
