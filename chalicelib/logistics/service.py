"""What the shop does with logistics on its own: kuaidi100's pushes verified and kept per parcel (each event once),
and the admin's freight templates. What a signed-for parcel means for its order is the orders context's."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import iso, utcnow
from chalicelib.errors import ChangedMeanwhile, NotFound, ValidationError
from chalicelib.ids import new_id
from chalicelib.logistics import kuaidi100
from chalicelib.logistics.repository import FreightRepository, ParcelRepository, event_sk
from chalicelib.logistics.schemas import FreightTemplateWrite

ATTEMPTS = 3  # a push racing another for the same parcel reads it again


class PushRefused(ValidationError):
    """A push that is not kuaidi100's for one of our parcels: bad sign, malformed param, unknown parcel."""


def accept_push(parcels: ParcelRepository, param: str, signature: str, salt: str) -> dict[str, Any]:
    """Keep a kuaidi100 push (form `param` signed by `sign` with the subscription salt): its new events, the parcel's
    latest state, and when it was signed for (state 3); returns the parcel. A push seen before changes nothing.
    PushRefused (400, nothing written) for a bad sign, a malformed param or a parcel the shop did not ship."""
    if not kuaidi100.signed_by(param, signature, salt):
        raise PushRefused("The push's sign does not match")
    try:
        push = kuaidi100.parse_push(param)
        events = kuaidi100.events_of(push)
    except kuaidi100.MalformedPush as error:
        raise PushRefused(f"The push's param is not kuaidi100's: {error}") from error
    result = push.lastResult
    for _ in range(ATTEMPTS):
        parcel = parcels.parcel(result.nu, result.com)
        if parcel is None:
            raise PushRefused(f"No parcel {result.com} {result.nu} was shipped by this shop")
        stored = parcels.events(result.nu, result.com)
        known = {event_sk(result.com, event) for event in stored}
        new = []
        for event in events:  # each event once, even when the push repeats one
            if (key := event_sk(result.com, event)) not in known:
                known.add(key)
                new.append(event)
        changes = _head_changes(parcel, result.state, events, stored)
        if not new and not changes:
            return parcel  # a duplicate
        if parcels.record(parcel, new, {**changes, "updated_at": iso(utcnow())}):
            return {**parcel, **changes}
    raise ChangedMeanwhile("The parcel changed meanwhile: push again")


def _head_changes(
    parcel: dict[str, Any], state: str, events: list[dict[str, Any]], stored: list[dict[str, Any]]
) -> dict[str, Any]:
    """The parcel's new state when the push is not older than what is kept, and once signed for (state 3), when."""
    changes: dict[str, Any] = {}
    newest_pushed = events[0]["at"] if events else ""
    newest_kept = stored[0]["at"] if stored else ""
    if state != parcel["state"] and newest_pushed >= newest_kept:
        changes["state"] = state
    if state == kuaidi100.SIGNED and not parcel["is_signed"]:
        changes["is_signed"] = True
        changes["signed_at"] = newest_pushed or iso(utcnow())
    return changes


# -- freight templates ------------------------------------------------------------------------------------------


def list_freight_templates(freight: FreightRepository) -> dict[str, Any]:
    return {"items": sorted(freight.list_templates(), key=lambda t: t["created_at"]), "next_cursor": None}


def get_freight_template(freight: FreightRepository, template_id: str) -> dict[str, Any]:
    template = freight.template(template_id)
    if template is None:
        raise NotFound("No such freight template")
    return template


def save_freight_template(
    freight: FreightRepository, write: FreightTemplateWrite, template_id: str | None = None
) -> dict[str, Any]:
    """Create a template (template_id None) or replace one (404 if there is none)."""
    now = iso(utcnow())
    current = None if template_id is None else get_freight_template(freight, template_id)
    template = {
        **write.model_dump(),
        "template_id": template_id or new_id("ft"),
        "created_at": current["created_at"] if current else now,
        "updated_at": now,
    }
    freight.save_template(template, create=current is None)
    return get_freight_template(freight, template["template_id"])


def delete_freight_template(freight: FreightRepository, template_id: str) -> None:
    """Delete a template no product uses (409 while some do)."""
    freight.delete_template(template_id)
