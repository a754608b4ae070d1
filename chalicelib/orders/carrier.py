"""Carriers behind one interface: where a shipment is, as the carrier reports it; a deterministic local fake."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.clock import iso

# (hours after shipping, status, description): what the fake carrier reports, in order.
FAKE_ROUTE = (
    (0, "PICKED_UP", "快件已揽收"),
    (6, "IN_TRANSIT", "快件已到达转运中心"),
    (24, "IN_TRANSIT", "快件已从转运中心发出"),
    (40, "OUT_FOR_DELIVERY", "快件正在派送中"),
    (48, "DELIVERED", "快件已签收"),
)


class Carrier(Protocol):
    def tracking(self, tracking_no: str, shipped_at: datetime, now: datetime) -> list[dict[str, Any]]:
        """The shipment's events up to now, newest first: {"status", "description", "at"}."""


class FakeCarrier:
    """Local and test carrier: the same events for every parcel, timed from when it was shipped."""

    def tracking(self, tracking_no: str, shipped_at: datetime, now: datetime) -> list[dict[str, Any]]:
        events = []
        for hours, status, description in FAKE_ROUTE:
            moment = shipped_at + timedelta(hours=hours)
            if moment <= now:
                events.append({"status": status, "description": description, "at": iso(moment)})
        return list(reversed(events))


def carrier_for(name: str) -> Carrier:
    """The carrier adapter by name; every carrier is the fake one until a real adapter is written."""
    return FakeCarrier()
