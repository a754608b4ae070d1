"""The payment channels by name: each one registered by the composition root with how to build it from the payment
settings (its keys, its notify URL), and whether those settings configure it. Knows no channel itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.errors import NotFound
from chalicelib.payments.channels import PaymentChannel
from chalicelib.payments.config import PaymentSettings
from chalicelib.payments.transport import HttpxTransport, PaymentTransport

BuildChannel = Callable[[PaymentSettings, PaymentTransport], PaymentChannel]


@dataclass(frozen=True)
class Registered:
    build: BuildChannel
    configured: Callable[[PaymentSettings], bool]


class ChannelRegistry:
    """name -> how to build that channel; `channel(name, settings)` builds the configured one."""

    def __init__(self) -> None:
        self._channels: dict[str, Registered] = {}

    def register(self, name: str, build: BuildChannel, configured: Callable[[PaymentSettings], bool]) -> None:
        self._channels[name] = Registered(build, configured)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._channels)

    def channel(self, name: str, settings: PaymentSettings) -> PaymentChannel:
        """The configured channel of this name; 404 for an unknown or unconfigured one."""
        registered = self._channels.get(name)
        if registered is None or not registered.configured(settings):
            raise NotFound(f"Payment channel {name!r} is not available", channels=list(settings.available()))
        return registered.build(settings, HttpxTransport(settings.http_timeout_seconds))
