"""Third-party sign-in settings read from the environment: app credentials, provider hosts, redirect allow-list."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from chalicelib.accounts.domain import PROVIDERS
from chalicelib.config import stage_of

# Where each provider's authorization pages and its API live in production.
REAL_HOSTS: dict[str, tuple[str, str]] = {
    "wechat": ("https://open.weixin.qq.com", "https://api.weixin.qq.com"),
    "weibo": ("https://api.weibo.com", "https://api.weibo.com"),
    "qq": ("https://graph.qq.com", "https://graph.qq.com"),
}
LOCAL_REDIRECT_ALLOWLIST = ("http://127.0.0.1", "http://localhost")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STATE_TTL_SECONDS = 600
DEFAULT_HTTP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's app credentials and hosts (WeChat's in-app H5 sign-in is a different app: an Official Account)."""

    name: str
    app_id: str
    app_secret: str
    authorize_base: str
    api_base: str
    h5_app_id: str
    h5_app_secret: str

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def credentials(self, client: str) -> tuple[str, str]:
        """(app id, secret) of the app the user authorized on this client (pc QR page, or h5 and in-app pages)."""
        if client in ("h5", "app"):
            return self.h5_app_id, self.h5_app_secret
        return self.app_id, self.app_secret


@dataclass(frozen=True)
class OAuthSettings:
    """Everything third-party sign-in reads from its environment."""

    providers: dict[str, ProviderConfig]
    redirect_allowlist: tuple[str, ...]
    http_timeout_seconds: float
    state_ttl_seconds: int = STATE_TTL_SECONDS

    def provider(self, name: str) -> ProviderConfig:
        return self.providers[name]

    def redirect_allowed(self, redirect_uri: str) -> bool:
        """Exactly as sent: a URI that needs any cleaning (whitespace, CR/LF, a fragment, dot segments, odd case
        or encoding) is refused, never cleaned, so what we check is byte for byte what the browser is sent to."""
        return is_exact_uri(redirect_uri) and any(_within(redirect_uri, prefix) for prefix in self.redirect_allowlist)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OAuthSettings:
        e = os.environ if env is None else env
        stage = stage_of(e)
        providers = {}
        for name in PROVIDERS:
            prefix = f"OAUTH_{name.upper()}_"
            authorize_host, api_host = REAL_HOSTS[name]
            app_id, app_secret = e.get(prefix + "APP_ID", ""), e.get(prefix + "APP_SECRET", "")
            providers[name] = ProviderConfig(
                name=name,
                app_id=app_id,
                app_secret=app_secret,
                authorize_base=(e.get(prefix + "AUTHORIZE_BASE") or authorize_host).rstrip("/"),
                api_base=(e.get(prefix + "API_BASE") or api_host).rstrip("/"),
                h5_app_id=e.get(prefix + "H5_APP_ID") or app_id,
                h5_app_secret=e.get(prefix + "H5_APP_SECRET") or app_secret,
            )
        allowlist_text = e.get("OAUTH_REDIRECT_ALLOWLIST")
        if allowlist_text is None:
            allowlist: tuple[str, ...] = LOCAL_REDIRECT_ALLOWLIST if stage in ("local", "dev") else ()
        else:
            allowlist = tuple(item.strip() for item in allowlist_text.split(",") if item.strip())
        return cls(
            providers=providers,
            redirect_allowlist=allowlist,
            http_timeout_seconds=float(e.get("OAUTH_HTTP_TIMEOUT_SECONDS") or DEFAULT_HTTP_TIMEOUT_SECONDS),
        )


# RFC 3986's characters, less '#' (a redirect URI has no fragment: RFC 6749 section 3.1.2) and less '\\', spaces,
# controls and anything non-ASCII, which browsers and urlsplit clean up (urlsplit silently drops tab, CR and LF).
_URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]+", re.ASCII)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})", re.ASCII)


def is_exact_uri(uri: str) -> bool:
    """Whether `uri` is an absolute http(s) URI in the one form it would have after parsing: nothing to clean."""
    if not _URI_CHARACTERS.fullmatch(uri) or _BAD_PERCENT.search(uri):
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or urlunsplit(parts) != uri:
        return False
    segments = [unquote(segment) for segment in parts.path.split("/")]
    return not any(segment in (".", "..") or "/" in segment or "\\" in segment for segment in segments)


def _within(redirect_uri: str, prefix: str) -> bool:
    """Whether redirect_uri lies under an allow-listed prefix: same scheme, host and port, and a path under the
    prefix's path. A plain string prefix would let http://localhost.evil.example through."""
    try:
        target, allowed = urlsplit(redirect_uri), urlsplit(prefix)
        target_port, allowed_port = target.port, allowed.port
    except ValueError:
        return False
    if target.scheme not in ("http", "https") or target.username is not None or target.password is not None:
        return False
    if (target.scheme, target.hostname) != (allowed.scheme, allowed.hostname) or not target.hostname:
        return False
    default_port = 443 if target.scheme == "https" else 80
    if allowed_port is not None and (target_port or default_port) != allowed_port:
        return False
    if allowed_port is None and target_port not in (None, default_port) and target.hostname not in LOOPBACK_HOSTS:
        return False  # a prefix without a port means the default one, except on loopback where dev servers roam
    allowed_path = allowed.path.rstrip("/")
    return not allowed_path or target.path == allowed_path or target.path.startswith(allowed_path + "/")


def oauth_settings() -> OAuthSettings:
    """Read per call: a handful of environment lookups, and tests and the local runtime may change them."""
    return OAuthSettings.from_env()
