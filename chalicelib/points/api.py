"""HTTP routes of points."""

from __future__ import annotations

from chalice.app import Blueprint

points_api = Blueprint(__name__)
