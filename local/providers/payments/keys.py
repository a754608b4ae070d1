"""The providers' keys and the shop's merchant keys, all generated at start, and RSA signing as the providers sign."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sha256_rsa(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def sha256_rsa_ok(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class GatewayKeys:
    """The providers' keys and the merchant's, all generated at start (the app gets the merchant's and public ones)."""

    alipay: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # Alipay's own
    alipay_app: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # the shop's Alipay app key
    wechat_platform: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # WeChat Pay's platform key
    wechat_merchant: rsa.RSAPrivateKey = field(default_factory=new_private_key)  # the shop's merchant API key
    wechat_platform_serial: str = field(default_factory=lambda: "PUB_KEY_ID_" + secrets.token_hex(12).upper())
    wechat_merchant_serial: str = field(default_factory=lambda: secrets.token_hex(20).upper())
    apiv3_key: bytes = field(default_factory=lambda: secrets.token_hex(16).encode())
    sandbox_secret: bytes = field(default_factory=lambda: secrets.token_hex(32).encode())
