"""What an order is and the rules of its life, independent of storage (plain values and functions, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DURATIONS = (
    "ship_deadline_seconds",
    "auto_receive_seconds",
    "review_window_seconds",
    "after_sales_auto_approve_seconds",
)


@dataclass(frozen=True)
class OrderTimers:
    """How long each status may last (from the settings; an execution keeps the durations of its input)."""

    payment_timeout_seconds: int = 1800
    ship_deadline_seconds: int = 604800
    auto_receive_seconds: int = 1209600
    review_window_seconds: int = 604800
    after_sales_auto_approve_seconds: int = 172800

    @classmethod
    def from_settings(cls, settings: Any) -> OrderTimers:
        return cls(**{f.name: int(getattr(settings, f.name)) for f in fields(cls)})

    def durations(self) -> dict[str, int]:
        """The durations an execution's waits use (its input), by name."""
        return {name: int(getattr(self, name)) for name in DURATIONS}
