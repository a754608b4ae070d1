"""Non-HTTP handlers of recommend: the scheduled refresh of recommendations."""

from __future__ import annotations

from chalice.app import Blueprint

recommend_events = Blueprint(__name__)
