"""Outbound HTTP to third parties (OAuth and payment providers): pooled httpx clients with short timeouts, no proxy
for the loopback emulators, and any outage as DependencyUnavailable (502)."""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.errors import DependencyUnavailable

if TYPE_CHECKING:
    import httpx


def request(method: str, url: str, timeout_seconds: float, **kwargs: Any) -> httpx.Response:
    """One call (keyword arguments as httpx.Client.request takes them); redirects are not followed."""
    import httpx  # only the functions that call out pay for it, never another function's cold start

    host = urlsplit(url).netloc
    try:
        return _client(timeout_seconds, trust_env=not is_loopback(url)).request(method, url, **kwargs)
    except httpx.TimeoutException as error:
        raise DependencyUnavailable(f"{host} did not answer in time") from error
    except httpx.HTTPError as error:
        raise DependencyUnavailable(f"{host} could not be reached") from error


@functools.cache
def _client(timeout_seconds: float, trust_env: bool) -> httpx.Client:
    import httpx

    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
    return httpx.Client(timeout=timeout, trust_env=trust_env, follow_redirects=False)


def is_loopback(url: str) -> bool:
    """Loopback (a local emulator) is never reached through a proxy named in the environment."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
