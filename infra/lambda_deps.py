"""Installs a requirements file as the Lambda runtime needs it: Linux wheels for python3.11, from a local wheel cache.

The python3.11 runtime is Amazon Linux 2 (x86_64, glibc 2.26). pip is asked for wheels of that platform only, so a
pin without such a wheel fails here, loudly, instead of being left out of the package (what `chalice package` did
with numpy 2.3: it warned and shipped without it). Wheels are kept in a cache outside the clone (SHOP_BUILD_CACHE,
default ~/.cache/shop-build): pip tries it offline first and downloads only what is missing, and an installed tree is
kept per requirements file hash, so a rebuild with unchanged requirements touches neither pip nor the network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

LAMBDA_PYTHON_VERSION = "3.11"
BUILD_STEPS = "strip-debug"  # what install_for_lambda does after pip (part of the installed tree's cache key)
# Every wheel tag the runtime's glibc 2.26 can load, newest first (pip matches --platform tags literally).
LAMBDA_PLATFORMS = (
    "manylinux_2_26_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)


class DependencyError(Exception):
    """A requirement has no wheel for the Lambda runtime, or pip failed."""


def cache_dir() -> Path:
    return Path(os.environ.get("SHOP_BUILD_CACHE") or Path.home() / ".cache" / "shop-build")


def requirements_digest(requirements: Path) -> str:
    """What the installed tree depends on: the file's pins and the target runtime."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{LAMBDA_PYTHON_VERSION}/{','.join(LAMBDA_PLATFORMS)}/{BUILD_STEPS}".encode())
    return digest.hexdigest()[:16]


def strip_debug_info(tree: Path) -> None:
    """Drop the debug sections of the tree's shared objects (`strip --strip-debug`: symbols stay, so imports and
    tracebacks are unchanged); some wheels ship them (pysqlite3-binary's SQLite: 13.4 MB, 2.5 MB without), and every
    byte counts towards Lambda's 250 MB. Without binutils' strip (not Linux) the tree is left as it is."""
    strip = shutil.which("strip")
    if strip is None:
        return
    objects = [str(path) for path in tree.rglob("*.so*") if path.is_file() and not path.is_symlink()]
    for start in range(0, len(objects), 200):
        subprocess.run([strip, "--strip-debug", *objects[start : start + 200]], capture_output=True, check=False)


def _pip(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _platform_options() -> list[str]:
    platforms = [option for platform in LAMBDA_PLATFORMS for option in ("--platform", platform)]
    return [
        "--only-binary=:all:",
        *platforms,
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--implementation",
        "cp",
    ]


def install_for_lambda(requirements: Path, *, log: bool = True) -> Path:
    """The directory holding `requirements` installed for the Lambda runtime (built once per requirements hash)."""
    installed = cache_dir() / "installed" / f"{requirements.stem}-{requirements_digest(requirements)}"
    if (installed / ".complete").exists():
        return installed
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    staging = installed.with_name(installed.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    install = ["install", "--no-compile", "--target", str(staging), *_platform_options(), "-r", str(requirements)]
    offline = _pip(*install, "--no-index", "--find-links", str(wheels))
    if offline.returncode != 0:
        if log:
            print(f"  downloading Linux wheels for {requirements.name} into {wheels}", flush=True)
        download = _pip("download", "--dest", str(wheels), *_platform_options(), "-r", str(requirements))
        if download.returncode != 0:
            raise DependencyError(
                f"pip could not get Lambda wheels for {requirements.name}:\n{download.stderr[-3000:]}"
            )
        shutil.rmtree(staging, ignore_errors=True)
        offline = _pip(*install, "--no-index", "--find-links", str(wheels))
        if offline.returncode != 0:
            raise DependencyError(f"pip could not install {requirements.name}:\n{offline.stderr[-3000:]}")
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: never run on Lambda
    strip_debug_info(staging)
    (staging / ".complete").write_text(requirements.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.rmtree(installed, ignore_errors=True)
    staging.rename(installed)
    return installed
