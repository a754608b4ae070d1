"""The token secret of this install: generated on the first local start, kept in .local-state/ (never in git)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE_DIR = REPO_ROOT / ".local-state"  # in .gitignore
SECRET_FILE_NAME = "jwt-secret"  # noqa: S105 - the file's name; the secret is generated in it


def local_jwt_secret(state_dir: Path | None = None) -> str:
    """This install's secret: read from <state_dir>/jwt-secret, created there (mode 0600) on first use.

    A constant in the repository would let anyone forge an admin token for every install; a fresh one per start
    would sign everyone out on each restart. Delete the file to rotate it (every token issued so far stops working).
    """
    directory = state_dir or LOCAL_STATE_DIR
    path = directory / SECRET_FILE_NAME
    if path.is_file() and (existing := path.read_text(encoding="ascii").strip()):
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret + "\n")
    return secret
