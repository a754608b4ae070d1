"""The Chalice app: wiring only (middleware and blueprints); the code lives in chalicelib."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.accounts.api import accounts_api
from chalicelib.accounts.authorizer import auth_bp
from chalicelib.accounts.oauth.api import oauth_api
from chalicelib.catalog.api import catalog_api
from chalicelib.catalog.events import catalog_events
from chalicelib.config import APP_NAME
from chalicelib.http import http_guard
from chalicelib.observability import observe_invocation
from chalicelib.ops.api import ops_api
from chalicelib.profile.api import profile_api

app = Chalice(app_name=APP_NAME)
app.register_middleware(observe_invocation, "all")
app.register_middleware(http_guard, "http")

for blueprint in (auth_bp, ops_api, accounts_api, oauth_api, profile_api, catalog_api, catalog_events):
    app.register_blueprint(blueprint)
