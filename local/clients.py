"""The browser clients in clients/ (the H5 storefront and the admin console): build them when missing or stale.

`make run` and `make test` call `python -m local.clients`; `python -m local` calls `ensure_built()` too, so a client
build is never older than its sources. A build is stale when the digest of its inputs (its own sources, the shared
sources, the lockfile, the OpenAPI document its API types come from) differs from the one recorded beside it.

    python -m local.clients            # npm ci when the lockfile changed, regenerate the API types, build what is stale
    python -m local.clients openapi    # only regenerate clients/openapi.json and the TypeScript types from it
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CLIENTS_DIR = REPO_ROOT / "clients"
OPENAPI_JSON = CLIENTS_DIR / "openapi.json"
API_TYPES = CLIENTS_DIR / "shared" / "src" / "api-types.ts"
LOCKFILE = CLIENTS_DIR / "package-lock.json"
INSTALL_STAMP = CLIENTS_DIR / "node_modules" / ".lock-digest"
BUILD_STAMP = ".source-digest"  # inside each app's dist/
IGNORED_DIRS = frozenset({"node_modules", "dist", ".vite"})
SHARED_INPUTS = ("package.json", "package-lock.json", "tsconfig.base.json", "shared")


@dataclass(frozen=True)
class ClientApp:
    """One browser client: its folder under clients/ and the path the local server serves its build under."""

    name: str
    mount: str  # URL path prefix, with both slashes
    label: str  # how the banner names it

    @property
    def root(self) -> Path:
        return CLIENTS_DIR / self.name

    @property
    def dist(self) -> Path:
        return self.root / "dist"


# Paths the API does not own (it owns /admin/...): the console lives at /console/, the storefront at /shop/.
APPS = (
    ClientApp("storefront", "/shop/", "storefront"),
    ClientApp("admin", "/console/", "admin console"),
)


class ClientBuildError(RuntimeError):
    """The clients could not be built (no Node.js, npm failed, a type error)."""


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not d.startswith("."))
                found += [Path(dirpath) / name for name in sorted(filenames)]
    return found


def digest(paths: Iterable[Path]) -> str:
    """A content digest of files and folders (names and bytes), independent of mtimes (a fresh clone has new ones)."""
    hasher = hashlib.sha256()
    for file in _files(paths):
        hasher.update(str(file.relative_to(CLIENTS_DIR)).encode())
        hasher.update(b"\0")
        hasher.update(file.read_bytes())
        hasher.update(b"\0")
    return hasher.hexdigest()


def app_digest(app: ClientApp) -> str:
    return digest([app.root, *(CLIENTS_DIR / name for name in SHARED_INPUTS)])


def is_built(app: ClientApp) -> bool:
    stamp = app.dist / BUILD_STAMP
    return (app.dist / "index.html").is_file() and stamp.is_file() and stamp.read_text().strip() == app_digest(app)


def openapi_document() -> dict[str, object]:
    """The app's OpenAPI document, made by the project's generator in a fresh interpreter (no server needed)."""
    code = (
        "import json, sys\n"
        "import app  # noqa: F401 - declares every operation\n"
        "from chalicelib.openapi import build_document\n"
        "json.dump(build_document(), sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)\n"
    )
    env = {**os.environ, "SHOP_STAGE": os.environ.get("SHOP_STAGE", "local")}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ClientBuildError(f"could not generate the OpenAPI document:\n{result.stderr[-2000:]}")
    document = json.loads(result.stdout)
    document.pop("servers", None)  # the stage's URL: not part of the types
    return dict(document)


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ClientBuildError(
            "the browser clients need Node.js 20+ and npm (Debian: apt-get install nodejs npm); "
            "set LOCAL_CLIENTS=off to start the API without them"
        )
    return npm


def _run(command: list[str], log: Callable[[str], None]) -> None:
    log(f"clients: {' '.join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command))}")
    result = subprocess.run(command, cwd=CLIENTS_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClientBuildError(
            f"`{' '.join(command[1:])}` failed in clients/:\n{(result.stdout + result.stderr)[-4000:]}"
        )


def install(log: Callable[[str], None]) -> None:
    """`npm ci` from the committed lockfile when node_modules is missing or was installed from another lockfile."""
    wanted = digest([LOCKFILE])
    if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text().strip() == wanted:
        return
    _run([_npm(), "ci", "--no-audit", "--no-fund", "--loglevel=error"], log)
    INSTALL_STAMP.write_text(wanted + "\n")


def regenerate_types(log: Callable[[str], None]) -> bool:
    """Write clients/openapi.json and shared/src/api-types.ts from the app's spec; True when the spec changed."""
    text = json.dumps(openapi_document(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if OPENAPI_JSON.is_file() and OPENAPI_JSON.read_text(encoding="utf-8") == text and API_TYPES.is_file():
        return False
    OPENAPI_JSON.write_text(text, encoding="utf-8")
    _run([_npm(), "run", "--silent", "gen:api"], log)
    return True


def ensure_built(log: Callable[[str], None] = print, force: bool = False) -> list[ClientApp]:
    """Build every client whose build is missing or stale; returns the ones built."""
    started = time.monotonic()
    install(log)
    regenerate_types(log)
    built = []
    for app in APPS:
        if not force and is_built(app):
            continue
        wanted = app_digest(app)
        _run([_npm(), "run", "--silent", "build", "-w", app.name], log)
        (app.dist / BUILD_STAMP).write_text(wanted + "\n")
        built.append(app)
    if built:
        log(f"clients: built {', '.join(a.name for a in built)} in {time.monotonic() - started:.1f} s")
    return built


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["openapi"]:
            install(print)
            changed = regenerate_types(print)
            print(f"clients: {'updated' if changed else 'unchanged'} {OPENAPI_JSON.relative_to(REPO_ROOT)}")
        else:
            ensure_built(print, force="--force" in argv)
    except ClientBuildError as error:
        print(f"clients: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
