"""The browser clients' side of a deploy: their builds uploaded to the stage's clients bucket (infra/clients.yaml),
each under the path CloudFront serves it at, with a `config.js` that names the stage's API."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# As local/aws/static_sites.py serves them: hashed assets forever, the page and its config.js asked again each time.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CLIENT_BUILD_STAMP = ".source-digest"  # local/clients.py's digest of a build's sources: not served


class ClientUploadError(Exception):
    """A client has no build to upload."""


@dataclass(frozen=True)
class ClientSite:
    """One built browser client and the key prefix its files take in the clients bucket (its path on CloudFront)."""

    prefix: str  # "shop/"
    dist: Path


def config_script(api_url: str) -> bytes:
    """The stage's `config.js` (clients/shared/src/config.ts reads it): the API's URL."""
    settings = json.dumps({"apiBase": api_url.rstrip("/")})
    return f"// Written by make deploy for this stage.\nwindow.SHOP_CONFIG = {settings}\n".encode()


def upload_site(s3: Any, bucket: str, site: ClientSite, api_url: str, log: Callable[[str], None] = print) -> int:
    """Put one client's build under its prefix, its `config.js` naming the API; hashed assets already there are
    not sent again, and index.html goes last (the assets it names are there first). Returns the files sent."""
    from botocore.exceptions import ClientError

    if not (site.dist / "index.html").is_file():
        raise ClientUploadError(f"{site.dist} has no build (make clients)")
    files = sorted(
        (path for path in site.dist.rglob("*") if path.is_file() and path.name != CLIENT_BUILD_STAMP),
        key=lambda path: (path.name == "index.html", path.as_posix()),
    )
    sent = 0
    for path in files:
        relative = path.relative_to(site.dist).as_posix()
        key = site.prefix + relative
        hashed = relative.startswith("assets/")
        if hashed:
            try:
                s3.head_object(Bucket=bucket, Key=key)
                continue
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                    raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "image/svg+xml"):
            content_type += "; charset=utf-8"
        body = config_script(api_url) if relative == "config.js" else path.read_bytes()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl=IMMUTABLE if hashed else REVALIDATE,
        )
        sent += 1
    log(f"  s3://{bucket}/{site.prefix}: {sent} file(s) sent of {len(files)}")
    return sent
