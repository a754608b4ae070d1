"""HTTP routes of the personal center."""

from __future__ import annotations

from chalice.app import Blueprint

profile_api = Blueprint(__name__)
