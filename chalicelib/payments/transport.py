"""Calls to payment providers over httpx with short timeouts; any outage is DependencyUnavailable (502)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.errors import DependencyUnavailable

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class ProviderResponse:
    """One HTTP answer of a provider, as received (header names lower-cased)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class PaymentTransport:
    """How channels reach their provider: httpx in the app, a recording fake in unit tests."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        raise NotImplementedError


class HttpxTransport(PaymentTransport):
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        import httpx  # only payment calls pay for it, never another function's cold start

        host = urlsplit(url).netloc
        try:
            response = _client(self.timeout_seconds, not _is_loopback(url)).post(url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise DependencyUnavailable(f"{host} did not answer in time") from error
        except httpx.HTTPError as error:
            raise DependencyUnavailable(f"{host} could not be reached") from error
        return ProviderResponse(
            response.status_code, response.content, {k.lower(): v for k, v in response.headers.items()}
        )


@functools.cache
def _client(timeout_seconds: float, trust_env: bool) -> httpx.Client:
    import httpx

    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
    return httpx.Client(timeout=timeout, trust_env=trust_env, follow_redirects=False)


def _is_loopback(url: str) -> bool:
    """The local gateway emulator is never reached through a proxy named in the environment."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
