"""What a parcel's carrier events mean for its order: kuaidi100's pushes kept (chalicelib.logistics), and a parcel
signed for (签收) brings the order's automatic receipt forward to SIGNED_AUTO_RECEIVE_SECONDS after it, when that is
earlier than its own: the order's one timer (its due time, which the sweeper acts on) moves, nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from chalicelib import outbound
from chalicelib.clock import iso, parse_iso
from chalicelib.errors import InvalidState, NotFound, ValidationError
from chalicelib.logistics import config
from chalicelib.logistics.kuaidi100 import OK_ANSWER, STATE_NAMES
from chalicelib.logistics.repository import ParcelRepository
from chalicelib.logistics.schemas import DevPush
from chalicelib.logistics.service import PushRefused, accept_push
from chalicelib.orders.domain import SHIPPED
from chalicelib.orders.service import Shop, owned

ATTEMPTS = 3
EMULATOR_TIMEOUT_SECONDS = 10.0


def tracking(shop: Shop, user_id: str, order_id: str) -> dict[str, Any]:
    """Where a shipped order's parcel is, in kuaidi100's shape (events newest first, as its pushes reported them);
    409 INVALID_STATE before it ships. A carrier kuaidi100 does not know has carrier_code null and no events."""
    shipment = owned(shop, user_id, order_id).shipment
    if not shipment:
        raise InvalidState("This order has not been shipped yet")
    tracking_no, code = str(shipment["tracking_no"]), shipment.get("carrier_code")
    parcel = shop.parcels.parcel(tracking_no, code) if code and shop.parcels else None
    state = parcel["state"] if parcel else None
    return {
        "order_id": order_id,
        "carrier": shipment["carrier"],
        "carrier_code": code,
        "tracking_no": tracking_no,
        "state": state,
        "state_name": STATE_NAMES.get(state or "", "未知") if state is not None else None,
        "is_signed": bool(parcel and parcel["is_signed"]),
        "signed_at": parcel["signed_at"] if parcel else None,
        "events": shop.parcels.events(tracking_no, str(code)) if parcel and shop.parcels else [],
    }


def push_form(body: bytes | str | None) -> tuple[str, str]:
    """The `param` and `sign` of a form-encoded push; PushRefused for anything else."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=10)
    except ValueError as error:
        raise PushRefused("A kuaidi100 push is a form with the fields param and sign") from error
    if len(form.get("param", [])) != 1 or len(form.get("sign", [])) != 1:
        raise PushRefused("A kuaidi100 push is a form with the fields param and sign")
    return form["param"][0], form["sign"][0]


def receive_push(shop: Shop, parcels: ParcelRepository, body: bytes | str | None) -> dict[str, Any]:
    """kuaidi100's push, verified with the subscription salt and kept; a parcel signed for moves its order's
    automatic receipt forward (again for every push of a signed parcel: idempotent, so a push retried after a failure
    finishes the job). 400 for a bad sign, a malformed param or an unknown parcel, nothing changed."""
    param, signature = push_form(body)
    parcel = accept_push(parcels, param, signature, config.subscription_salt())
    if parcel["is_signed"] and parcel.get("signed_at"):
        for order_id in parcel["order_ids"]:
            signed_for(shop, order_id, parcel["signed_at"])
    return dict(OK_ANSWER)


def signed_for(shop: Shop, order_id: str, signed_at: str) -> bool:
    """A SHIPPED order's parcel was signed for at `signed_at`: received automatically SIGNED_AUTO_RECEIVE_SECONDS
    later, or when it would have been, whichever is first (once; False when nothing changed)."""
    for _ in range(ATTEMPTS):
        order = shop.orders.order(order_id)
        if order is None or order.status != SHIPPED or not order.shipment or order.shipment.get("auto_receive_at"):
            return False
        receive_at = parse_iso(signed_at) + timedelta(seconds=shop.timers.signed_auto_receive_seconds)
        due = min(parse_iso(order.due_at), receive_at) if order.due_at else receive_at
        shipment = {**order.shipment, "signed_at": signed_at, "auto_receive_at": iso(receive_at)}
        if shop.orders.sign_for(order_id, shipment, iso(due), order.due_at):
            return True
    return False


def dev_push(parcels: ParcelRepository, write: DevPush) -> dict[str, Any]:
    """Local/dev stages: have the built-in kuaidi100 emulator push this event for a parcel the shop shipped, signed
    as kuaidi100 signs (it answers what the shop's notify answered). 404 without an emulator or such a parcel."""
    emulator = config.emulator_url()
    if not emulator:
        raise NotFound("No kuaidi100 emulator runs on this stage")
    known = [p for p in parcels.parcels(write.tracking_no) if write.carrier_code in (None, p["carrier_code"])]
    if not known:
        raise NotFound(f"No parcel {write.tracking_no} was shipped with a carrier kuaidi100 knows")
    if len(known) > 1:
        raise ValidationError("Several carriers have this number: name its carrier_code")
    event = {"com": known[0]["carrier_code"], "nu": write.tracking_no, "state": write.state, "context": write.context}
    event |= {"location": write.location or "", "callback_url": config.notify_url()}
    answer = outbound.request("POST", f"{emulator}/push", EMULATOR_TIMEOUT_SECONDS, json=event)
    delivered = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    pushed = answer.status_code == 200 and delivered.get("notify_status") == 200
    return {"tracking_no": write.tracking_no, "carrier_code": event["com"], "pushed": pushed, **delivered}
