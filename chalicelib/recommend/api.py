"""HTTP routes of recommendations."""

from __future__ import annotations

from chalice.app import Blueprint

recommend_api = Blueprint(__name__)
