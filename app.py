"""The Chalice app: wiring only (middleware and blueprints); the code lives in chalicelib."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.accounts.api import accounts_api
from chalicelib.accounts.authorizer import auth_bp
from chalicelib.accounts.oauth.api import oauth_api
from chalicelib.analytics.api import analytics_api
from chalicelib.analytics.events import analytics_events
from chalicelib.cart.api import cart_api
from chalicelib.catalog.api import catalog_api
from chalicelib.catalog.events import catalog_events
from chalicelib.config import APP_NAME
from chalicelib.coupons.api import coupons_api
from chalicelib.http import http_guard
from chalicelib.inventory.api import inventory_api
from chalicelib.inventory.events import inventory_events
from chalicelib.observability import observe_invocation
from chalicelib.ops.api import ops_api
from chalicelib.orders.api import orders_api
from chalicelib.orders.events import orders_events
from chalicelib.payments.api import payments_api
from chalicelib.payments.events import payments_events
from chalicelib.points.api import points_api
from chalicelib.profile.api import profile_api
from chalicelib.promotions.api import promotions_api
from chalicelib.recommend.api import recommend_api
from chalicelib.recommend.events import recommend_events
from chalicelib.reviews.api import reviews_api
from chalicelib.search.api import search_api
from chalicelib.search.events import search_events
from chalicelib.themes.api import themes_api

app = Chalice(app_name=APP_NAME)
app.register_middleware(observe_invocation, "all")
app.register_middleware(http_guard, "http")

BLUEPRINTS = (
    auth_bp, ops_api, accounts_api, oauth_api, profile_api, catalog_api, catalog_events, cart_api, promotions_api,
    coupons_api, points_api, inventory_api, inventory_events, themes_api, orders_api, orders_events,
    reviews_api, payments_api, payments_events, search_api, search_events, recommend_api, recommend_events,
    analytics_api, analytics_events,
)  # fmt: skip
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)
