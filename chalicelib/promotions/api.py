"""HTTP routes of promotions."""

from __future__ import annotations

from chalice.app import Blueprint

promotions_api = Blueprint(__name__)
