"""HTTP routes of cart."""

from __future__ import annotations

from chalice.app import Blueprint

cart_api = Blueprint(__name__)
