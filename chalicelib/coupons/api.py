"""HTTP routes of coupons."""

from __future__ import annotations

from chalice.app import Blueprint

coupons_api = Blueprint(__name__)
