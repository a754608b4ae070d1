"""HTTP routes of payments: starting payments, providers' notifies, refunds."""

from __future__ import annotations

from chalice.app import Blueprint

payments_api = Blueprint(__name__)
