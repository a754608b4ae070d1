"""HTTP routes of themes."""

from __future__ import annotations

from chalice.app import Blueprint

themes_api = Blueprint(__name__)
