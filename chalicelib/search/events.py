"""Non-HTTP handlers of search: the search indexer and the search log consumer."""

from __future__ import annotations

from chalice.app import Blueprint

search_events = Blueprint(__name__)
