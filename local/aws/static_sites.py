"""The local stand-in for the CDN in front of the browser clients: their builds under paths of the API's own port.

`/shop/...` serves clients/storefront/dist and `/console/...` clients/admin/dist (same origin as the API, so no
CORS is needed locally). A path under a client that names no file gets the client's index.html (its router owns
the path), as the deployed CDN's rewrite does. Drawn media (the demo catalog's pictures under `/demo-media/`) are
answered before the clients.
"""

from __future__ import annotations

import gzip
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from urllib.parse import unquote, urlsplit

from local.clients import APPS

COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json", ".txt", ".map")
IMMUTABLE = "public, max-age=31536000, immutable"  # hashed file names under assets/
REVALIDATE = "no-cache"  # index.html and config.js: always asked again


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class StaticSite:
    """One client build served under a path prefix."""

    mount: str  # "/shop/"
    root: Path
    _gzipped: dict[Path, bytes] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def file_for(self, path: str) -> Path | None:
        relative = path[len(self.mount) :]
        candidate = (self.root / unquote(relative)).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            return None
        if candidate.is_file():
            return candidate
        last = relative.rsplit("/", 1)[-1]
        if "." in last:  # a missing asset is a 404, not the app's page
            return None
        index = self.root / "index.html"
        return index if index.is_file() else None

    def gzipped(self, file: Path) -> bytes:
        with self._lock:
            if file not in self._gzipped:
                self._gzipped[file] = gzip.compress(file.read_bytes(), compresslevel=6, mtime=0)
            return self._gzipped[file]


@dataclass(frozen=True)
class DrawnMedia:
    """Pictures drawn on request under a path prefix (where a deployment's CDN would serve a media bucket)."""

    mount: str  # "/demo-media/"
    draw: Callable[[str], bytes]  # the path under the mount -> an SVG picture


def client_sites() -> list[StaticSite]:
    """The built clients (a client without a build is left out)."""
    return [StaticSite(app.mount, app.dist) for app in APPS if (app.dist / "index.html").is_file()]


def answer(
    sites: list[StaticSite], method: str, raw_path: str, accept_encoding: str, media: Sequence[DrawnMedia] = ()
) -> Answer | None:
    """The answer for a GET/HEAD of a drawn picture or a client path; None when the path is the API's."""
    if method not in ("GET", "HEAD"):
        return None
    path = urlsplit(raw_path).path
    for drawn in media:
        if path.startswith(drawn.mount):
            return _drawn_answer(drawn, path)
    for site in sites:
        if path == site.mount.rstrip("/"):
            return Answer(301, {"Location": site.mount, "Content-Length": "0"}, b"")
        if not path.startswith(site.mount):
            continue
        file = site.file_for(path)
        if file is None:
            body = b"Not Found"
            return Answer(404, {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(body))}, body)
        return _file_answer(site, file, accept_encoding)
    if path == "/" and sites:
        return Answer(302, {"Location": sites[0].mount, "Content-Length": "0"}, b"")
    return None


def _file_answer(site: StaticSite, file: Path, accept_encoding: str) -> Answer:
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "image/svg+xml"):
        content_type += "; charset=utf-8"
    under_assets = file.parent.name == "assets"
    headers = {"Content-Type": content_type, "Cache-Control": IMMUTABLE if under_assets else REVALIDATE}
    if file.suffix in COMPRESSIBLE and "gzip" in accept_encoding:
        body = site.gzipped(file)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    else:
        body = file.read_bytes()
    headers["Content-Length"] = str(len(body))
    return Answer(200, headers, body)


def _drawn_answer(drawn: DrawnMedia, path: str) -> Answer:
    svg = drawn.draw(unquote(path[len(drawn.mount) :]))
    headers = {"Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "public, max-age=86400"}
    headers["Content-Length"] = str(len(svg))
    return Answer(200, headers, svg)
