"""PyJWT, imported without ``cryptography``: the shop's tokens are HS256, which PyJWT signs with hmac and hashlib.

PyJWT imports ``cryptography`` whenever it is installed (``jwt.algorithms`` tries it, for RS/ES/PS/EdDSA keys, and
falls back when the import raises ModuleNotFoundError). It is installed (the payment channels verify RSA signatures
with it), and loading it cost the API and the authorizer ~40 ms of every cold start. So PyJWT is imported once with
``cryptography`` hidden: ``jwt.algorithms.has_crypto`` is then False in this process and only the HMAC algorithms
exist, which is all ``chalicelib.accounts.tokens`` allows anyway. ``cryptography`` itself stays importable for the
payment code, which imports it inside the functions that need it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING


def _import_pyjwt_without_cryptography() -> ModuleType:
    if "jwt" in sys.modules:
        return sys.modules["jwt"]
    hide = "cryptography" not in sys.modules
    if hide:
        sys.modules["cryptography"] = None  # type: ignore[assignment]  # `import cryptography` now fails as if absent
    try:
        import jwt
    finally:
        if hide:
            del sys.modules["cryptography"]
    return jwt


if TYPE_CHECKING:
    import jwt
else:
    jwt = _import_pyjwt_without_cryptography()

__all__ = ["jwt"]
