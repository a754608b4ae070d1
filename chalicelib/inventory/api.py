"""HTTP routes of inventory."""

from __future__ import annotations

from chalice.app import Blueprint

inventory_api = Blueprint(__name__)
