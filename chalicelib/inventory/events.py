"""Inventory's asynchronous side: stock-change events from the catalog stream, restock notifications, alerts."""

from __future__ import annotations

from chalice.app import Blueprint

inventory_events = Blueprint(__name__)
