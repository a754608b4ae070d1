"""Browser fixtures: Debian's Chromium driven by Playwright against the clients the session's local server serves.

Skipped, with the reason, when Chromium is not installed (`apt-get install chromium`; CI's .ci/run installs it).
Screenshots go to a temporary folder, or to docs/screenshots/ with SAVE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import LocalServer

REPO_ROOT = Path(__file__).resolve().parents[3]
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` runs the browser tests (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def clients_url(local_server: LocalServer) -> dict[str, str]:
    """The clients' URLs as the server printed them (`storefront http://...`, `admin console http://...`)."""
    urls = {}
    for line in local_server.output:
        for label in ("storefront", "admin console"):
            if line.startswith(f"{label} http"):
                urls[label] = line[len(label) + 1 :].strip()
    if len(urls) != 2:
        pytest.fail(f"the server printed no client URLs (are the clients built? `make run` builds them):\n"
                    f"{local_server.output_tail()}")  # fmt: skip
    return urls


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = REPO_ROOT / "docs" / "screenshots" if os.environ.get("SAVE_SCREENSHOTS") == "1" else None
    if folder is None:
        folder = Path(tempfile.gettempdir()) / "shop-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class PageWatch:
    """What a page logged and which requests failed, so a test can assert there were none."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        # ERR_ABORTED: a fetch the page gave up on when it navigated away, not a failure
        page.on(
            "requestfailed",
            lambda r: None if "ERR_ABORTED" in (r.failure or "") else self.failed.append(f"{r.url} ({r.failure})"),
        )
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None,
        )

    def expect_clean(self) -> None:
        assert not self.errors, f"console errors: {self.errors}; failed requests: {self.failed}"
        assert not self.failed, f"failed requests: {self.failed}"

    def forget(self) -> None:
        self.errors.clear()
        self.failed.clear()


@pytest.fixture
def phone(browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page, PageWatch(page)
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page, PageWatch(page)
    context.close()
