"""kuaidi100 (快递100) as the shop speaks it: carrier codes and short names, parcel states, the subscription push
(form fields `param` and `sign`, sign = upper-case MD5 of param + the subscription salt) and its answer."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from chalicelib.inputs import loads_json
from chalicelib.schema import BaseModel

# kuaidi100 code -> (short name, name) of the carriers the shop ships with.
CARRIERS: dict[str, tuple[str, str]] = {
    "shunfeng": ("SF", "顺丰速运"),
    "yuantong": ("YTO", "圆通速递"),
    "zhongtong": ("ZTO", "中通快递"),
    "yunda": ("YD", "韵达快递"),
    "shentong": ("STO", "申通快递"),
    "jtexpress": ("JT", "极兔速递"),
    "jd": ("JD", "京东物流"),
    "ems": ("EMS", "EMS"),
}
SHORT_NAMES = {short: code for code, (short, _) in CARRIERS.items()}
# kuaidi100's parcel states (`lastResult.state`): 0-6 are the ones every carrier reports.
STATE_NAMES = {
    "0": "在途",
    "1": "揽收",
    "2": "疑难",
    "3": "签收",
    "4": "退签",
    "5": "派件",
    "6": "退回",
    "7": "转投",
    "8": "清关",
    "14": "拒签",
}
SIGNED = "3"
OK_ANSWER = {"result": True, "returnCode": "200", "message": "成功"}
BEIJING = timezone(timedelta(hours=8))
KUAIDI100_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def carrier_code(carrier: str) -> str | None:
    """The kuaidi100 code of a carrier named by its code (`shunfeng`) or short name (`SF`); None for any other."""
    name = carrier.strip()
    if name.lower() in CARRIERS:
        return name.lower()
    return SHORT_NAMES.get(name.upper())


def sign(param: str, salt: str) -> str:
    """kuaidi100's push signature: upper-case hex MD5 of the param text followed by the salt."""
    return hashlib.md5((param + salt).encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def signed_by(param: str, signature: str, salt: str) -> bool:
    """Whether `signature` is the push's signature under `salt` (compared in constant time)."""
    return bool(salt) and hmac.compare_digest(sign(param, salt).encode(), signature.strip().upper().encode())


class PushEvent(BaseModel):
    """One entry of `lastResult.data` (newest first in kuaidi100's push)."""

    model_config = ConfigDict(extra="ignore")

    context: str = Field(min_length=1, max_length=500)
    time: str = Field(min_length=1, max_length=40)
    ftime: str = Field("", max_length=40)
    areaName: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200)
    status: str = Field("", max_length=40)


class LastResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: str = Field(pattern=r"^[0-9]{1,3}$")
    ischeck: str = Field("0", pattern=r"^[01]$")
    com: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9]+$")
    nu: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")
    data: list[PushEvent] = Field(default_factory=list, max_length=500)


class Push(BaseModel):
    """kuaidi100's subscription push (`param`)."""

    model_config = ConfigDict(extra="ignore")

    status: str = Field(max_length=40)
    lastResult: LastResult


class MalformedPush(ValueError):
    """The push's `param` is not kuaidi100's JSON."""


def parse_push(param: str) -> Push:
    try:
        return Push.model_validate(loads_json(param))
    except (ValueError, ValidationError) as error:
        raise MalformedPush(str(error)) from error


def utc_iso(beijing_time: str) -> str:
    """kuaidi100's `YYYY-MM-DD HH:MM:SS` (Beijing time) as ISO 8601 UTC; MalformedPush for anything else."""
    if not KUAIDI100_TIME.fullmatch(beijing_time.strip()):  # ASCII digits only: strptime would take others
        raise MalformedPush(f"not a kuaidi100 time: {beijing_time!r}")
    try:
        moment = datetime.strptime(beijing_time.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError as error:
        raise MalformedPush(f"not a kuaidi100 time: {beijing_time!r}") from error
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def events_of(push: Push) -> list[dict[str, Any]]:
    """The push's events in the shop's shape, newest first: {"time", "context", "location", "status",
    "description", "at"} with times in ISO UTC, and "seq", their place oldest first (orders equal times)."""
    events = []
    for entry in push.lastResult.data:
        at = utc_iso(entry.ftime or entry.time)
        location = entry.areaName or entry.location or ""
        event = {"time": at, "context": entry.context, "location": location, "status": entry.status or ""}
        events.append({**event, "description": entry.context, "at": at})
    newest_first = sorted(events, key=lambda event: event["at"], reverse=True)  # stable: equal times keep their order
    return [{**event, "seq": len(newest_first) - 1 - n} for n, event in enumerate(newest_first)]
