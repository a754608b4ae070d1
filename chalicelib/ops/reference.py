"""The API reference page: Swagger UI (from the swagger-ui-bundle-v2 package, shipped in the Lambda package) over
/openapi.json, so the page needs nothing from outside the API's own origin."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalice.app import Response

# The files the page loads; nothing else in the package's folder is served.
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
# Relative URLs, so the page works under a stage prefix (/api/docs) and locally (/docs) alike.
PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>Shop API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
</script>
</body>
</html>
"""


def page() -> Response:
    return Response(
        body=PAGE,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
    )


@functools.cache
def _folder() -> Path:
    import swagger_ui_bundle  # only the reference page needs it: kept off every other cold start

    return Path(swagger_ui_bundle.swagger_ui_path)


def asset(name: str) -> Response | None:
    """One of the page's files, cached by browsers for a day; None for any other name."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return None
    return Response(
        body=(_folder() / name).read_text(encoding="utf-8"),
        status_code=200,
        headers={"Content-Type": content_type, "Cache-Control": "public, max-age=86400"},
    )


def base_url(headers: Mapping[str, str], context: Mapping[str, Any]) -> str | None:
    """The stage's base URL as the client reached it: scheme and host from the request, and the stage's path
    prefix when API Gateway adds one (/api on the default execute-api URL, nothing on a custom domain)."""
    host = headers.get("host")
    if not host:
        return None
    scheme = headers.get("x-forwarded-proto") or ("http" if host.startswith(("127.0.0.1", "localhost")) else "https")
    path, resource = str(context.get("path") or ""), str(context.get("resourcePath") or "")
    prefix = path[: -len(resource)] if resource and path.endswith(resource) else ""
    return f"{scheme}://{host}{prefix.rstrip('/')}"
