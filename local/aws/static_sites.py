"""The local stand-in for the CDN in front of the browser clients: their builds under paths of the API's own port.

`/shop/...` serves clients/storefront/dist and `/console/...` clients/admin/dist (same origin as the API, so no
CORS is needed locally). A path under a client that names no file gets the client's index.html (its router owns
the path), as the deployed CDN's rewrite does. `/demo-media/...` draws the demo catalog's product pictures (SVG).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from urllib.parse import unquote, urlsplit

from local.clients import APPS

DEMO_MEDIA = "/demo-media/"
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


def client_sites() -> list[StaticSite]:
    """The built clients (a client without a build is left out)."""
    return [StaticSite(app.mount, app.dist) for app in APPS if (app.dist / "index.html").is_file()]


def answer(sites: list[StaticSite], method: str, raw_path: str, accept_encoding: str) -> Answer | None:
    """The answer for a GET/HEAD of a client path or demo picture; None when the path is the API's."""
    if method not in ("GET", "HEAD"):
        return None
    path = urlsplit(raw_path).path
    if path.startswith(DEMO_MEDIA):
        return _demo_picture(path)
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


def _demo_picture(path: str) -> Answer:
    """A product picture for the demo catalog: a tile coloured from its path, with the picture's number."""
    name = unquote(path[len(DEMO_MEDIA) :])
    digest = hashlib.sha256(name.encode()).digest()
    hue, hue2 = digest[0] * 360 // 256, (digest[0] * 360 // 256 + 40) % 360
    label = html.escape(Path(name).stem[-2:].lstrip("0") or "1")
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 400 400' width='400' height='400'>"
        f"<defs><linearGradient id='g' x1='0' y1='0' x2='1' y2='1'><stop offset='0' stop-color='hsl({hue},70%,72%)'/>"
        f"<stop offset='1' stop-color='hsl({hue2},75%,55%)'/></linearGradient></defs>"
        "<rect width='400' height='400' fill='url(#g)'/>"
        "<path d='M130 150h140l-14 150H144z' fill='rgba(255,255,255,.85)'/>"
        "<path d='M165 150v-18a35 35 0 0 1 70 0v18' fill='none' stroke='rgba(255,255,255,.85)' stroke-width='12'/>"
        f"<text x='200' y='250' font-size='56' text-anchor='middle' fill='hsl({hue},60%,40%)' "
        f"font-family='sans-serif'>{label}</text></svg>"
    ).encode()
    headers = {"Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "public, max-age=86400"}
    headers["Content-Length"] = str(len(svg))
    return Answer(200, headers, svg)
