"""The one pagination scheme: page_size + an opaque, signed cursor wrapping DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import ConfigDict, Field

from chalicelib.errors import ValidationError
from chalicelib.keys import jwt_secret
from chalicelib.schema import BaseModel


class PageQuery(BaseModel):
    """?page_size=1..100 (default 20) and ?cursor= from the previous page's next_cursor."""

    model_config = ConfigDict(extra="ignore")

    page_size: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)


def _key() -> bytes:
    return hmac.new(jwt_secret().encode(), b"pagination-cursor", hashlib.sha256).digest()


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    """The cursor for the next page, bound to the listing it came from (scope) so it cannot be replayed elsewhere."""
    if not last_key:
        return None
    payload = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    """The LastEvaluatedKey a cursor stands for; 400 VALIDATION_ERROR if it was altered or belongs elsewhere."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, hmac.new(_key(), payload, hashlib.sha256).digest()[:16]):
            raise ValueError("bad signature")
        data = json.loads(payload)
        if data.get("s") != scope or not isinstance(data.get("k"), dict):
            raise ValueError("wrong scope")
        return dict(data["k"])
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "Invalid cursor",
            errors=[{"field": "cursor", "message": "This cursor is not valid here: start again without it."}],
        ) from exc


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
