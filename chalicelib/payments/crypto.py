"""The signatures payment providers use: RSA SHA256 (RSA2 / WECHATPAY2-SHA256-RSA2048), AES-256-GCM, HMAC-SHA256."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from chalicelib.errors import InternalError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey


class KeyFormatError(InternalError):
    """A configured key could not be read as an RSA key (our configuration, never the caller's input)."""


def _key_bytes(text: str, kind: str) -> tuple[bytes, bool]:
    """(bytes, is_pem) of a key given as a PEM string, a path to a PEM file, or bare base64 DER (Alipay's console)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text.encode(), True
    if "\n" not in text and len(text) < 4096 and os.path.isfile(text):
        with open(text, "rb") as handle:
            data = handle.read()
        return data, data.lstrip().startswith(b"-----BEGIN")
    try:
        return base64.b64decode("".join(text.split()), validate=True), False
    except (binascii.Error, ValueError) as error:
        raise KeyFormatError(f"the {kind} key is neither PEM, a PEM file nor base64 DER") from error


def load_private_key(text: str) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    data, is_pem = _key_bytes(text, "private")
    try:
        key = (serialization.load_pem_private_key if is_pem else serialization.load_der_private_key)(data, None)
    except (ValueError, TypeError) as error:
        raise KeyFormatError("the private key could not be read") from error
    if not isinstance(key, RSAPrivateKey):
        raise KeyFormatError("the private key is not an RSA key")
    return key


def load_public_key(text: str) -> RSAPublicKey:
    """A public key, or the public key of an X.509 certificate (WeChat Pay's platform certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    data, is_pem = _key_bytes(text, "public")
    try:
        key: object
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = (serialization.load_pem_public_key if is_pem else serialization.load_der_public_key)(data)
    except (ValueError, TypeError) as error:
        raise KeyFormatError("the public key could not be read") from error
    if not isinstance(key, RSAPublicKey):
        raise KeyFormatError("the public key is not an RSA key")
    return key


def rsa_sign(private_key: RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: what Alipay calls RSA2 and WeChat Pay v3 calls SHA256-RSA2048."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def aes_gcm_decrypt(key: bytes, nonce: str, ciphertext_b64: str, associated_data: str) -> bytes | None:
    """WeChat Pay's AEAD_AES_256_GCM resource: base64(ciphertext || 16-byte tag); None when it does not open."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        sealed = base64.b64decode(ciphertext_b64, validate=True)
        return AESGCM(key).decrypt(nonce.encode(), sealed, associated_data.encode())
    except (InvalidTag, binascii.Error, ValueError):
        return None


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(a.encode(), b.encode())
