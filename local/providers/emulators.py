"""The provider emulators `make run` starts, in the banner's order: one entry each (a new emulator is one more)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from local.providers.logistics.server import start_kuaidi100_emulator
from local.providers.oauth.server import start_oauth_emulator
from local.providers.payments.server import start_payment_gateways


class RunningEmulator(Protocol):
    @property
    def url(self) -> str: ...

    def env(self) -> dict[str, str]:
        """The app's settings that point it at this emulator instead of the real provider."""
        ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ProviderEmulator:
    label: str  # its line in the start banner
    switch: str  # environment variable: "off" starts no emulator and keeps the real provider's settings
    start: Callable[[], RunningEmulator]  # on a free loopback port
    hint: str  # what the banner says about it
    callback_setting: str | None = None  # the app's setting that must name the API's own URL (the provider calls it)


EMULATORS: tuple[ProviderEmulator, ...] = (
    ProviderEmulator(
        "OAuth",
        "OAUTH_EMULATOR",
        start_oauth_emulator,
        "WeChat/Weibo/QQ emulator: open an authorize_url with &login_as=<openid> before any #fragment",
    ),
    ProviderEmulator(
        "payments",
        "PAYMENT_EMULATOR",
        start_payment_gateways,
        "sandbox gateway and Alipay/WeChat Pay emulators: POST a sandbox pay_url, or /dev/payments/<id>/pay, to pay",
        callback_setting="PAYMENT_NOTIFY_BASE",
    ),
    ProviderEmulator(
        "kuaidi100",
        "KUAIDI100_EMULATOR",
        start_kuaidi100_emulator,
        "parcel pushes signed as kuaidi100 signs them: POST /dev/logistics/push {tracking_no, state, context}",
        callback_setting="LOGISTICS_NOTIFY_BASE",
    ),
)
