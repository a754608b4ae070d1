"""HTTP routes of search."""

from __future__ import annotations

from chalice.app import Blueprint

search_api = Blueprint(__name__)
