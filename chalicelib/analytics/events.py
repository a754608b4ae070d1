"""Non-HTTP handlers of analytics: the behaviour and order event consumer."""

from __future__ import annotations

from chalice.app import Blueprint

analytics_events = Blueprint(__name__)
