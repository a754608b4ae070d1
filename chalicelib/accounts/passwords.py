"""Password hashing with argon2id at the OWASP minimum (19 MiB, t=2, p=1), and the common-password refusal."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.errors import ValidationError

# Royce Williams's 20,000 most common passwords as Django ships them (see common-passwords.LICENSE beside it).
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


class WeakPassword(ValidationError):
    """The password is on the common-password list: the first thing any guesser tries."""

    code, default_message = "WEAK_PASSWORD", "This password is too common: choose one not on leaked-password lists"


def refuse_common(password: str, field: str = "password") -> None:
    """400 WEAK_PASSWORD for a password on the list, whatever its case (and spaces around it)."""
    if password.strip().lower() in common_passwords():
        raise WeakPassword(errors=[{"field": field, "message": "This password is on a list of common passwords."}])


@cache
def common_passwords() -> frozenset[str]:
    """The list, read on first use (about 20 ms; it never lands on the cold start of other routes)."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists: an absent hash is checked against a dummy one."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-spends-time")
