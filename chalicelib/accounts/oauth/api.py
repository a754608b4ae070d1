"""HTTP routes of third-party sign-in and binding."""

from __future__ import annotations

from chalice.app import Blueprint

oauth_api = Blueprint(__name__)
