"""The demo catalog's pictures (product photos, brand logos, rewards), drawn on request: nothing is fetched from an
outside host. The local CDN (local/aws/static_sites.py) serves them under catalog.IMAGE_HOST."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path


def draw(name: str) -> bytes:
    """An SVG tile for the picture `name` (its path under the media prefix): coloured from the name, with its number."""
    digest = hashlib.sha256(name.encode()).digest()
    hue, hue2 = digest[0] * 360 // 256, (digest[0] * 360 // 256 + 40) % 360
    label = html.escape(Path(name).stem[-2:].lstrip("0") or "1")
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 400 400' width='400' height='400'>"
        f"<defs><linearGradient id='g' x1='0' y1='0' x2='1' y2='1'><stop offset='0' stop-color='hsl({hue},70%,72%)'/>"
        f"<stop offset='1' stop-color='hsl({hue2},75%,55%)'/></linearGradient></defs>"
        "<rect width='400' height='400' fill='url(#g)'/>"
        "<path d='M130 150h140l-14 150H144z' fill='rgba(255,255,255,.85)'/>"
        "<path d='M165 150v-18a35 35 0 0 1 70 0v18' fill='none' stroke='rgba(255,255,255,.85)' stroke-width='12'/>"
        f"<text x='200' y='250' font-size='56' text-anchor='middle' fill='hsl({hue},60%,40%)' "
        f"font-family='sans-serif'>{label}</text></svg>"
    ).encode()
