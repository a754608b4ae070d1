"""HTTP routes of admin analytics."""

from __future__ import annotations

from chalice.app import Blueprint

analytics_api = Blueprint(__name__)
