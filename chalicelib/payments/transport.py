"""Calls to payment providers over httpx with short timeouts; any outage is DependencyUnavailable (502)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import outbound


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

    def get(self, url: str, headers: dict[str, str]) -> ProviderResponse:
        raise NotImplementedError


class HttpxTransport(PaymentTransport):
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> ProviderResponse:
        return self._answer(outbound.request("POST", url, self.timeout_seconds, content=body, headers=headers))

    def get(self, url: str, headers: dict[str, str]) -> ProviderResponse:
        return self._answer(outbound.request("GET", url, self.timeout_seconds, headers=headers))

    @staticmethod
    def _answer(response: Any) -> ProviderResponse:
        return ProviderResponse(
            response.status_code, response.content, {k.lower(): v for k, v in response.headers.items()}
        )
