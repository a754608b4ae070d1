"""HTTP routes of parcels: kuaidi100's push callback, and (local/dev stages) the kuaidi100 emulator's push button."""

from __future__ import annotations

from chalice.app import Request

from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.logistics.repository import ParcelRepository
from chalicelib.logistics.schemas import DevPush, DevPushResult, PushAnswer
from chalicelib.orders import parcels as service
from chalicelib.orders.service import Shop
from chalicelib.routes import Json, Routes

parcels_api = Routes(__name__, tags=("logistics",))


@parcels_api.post("/logistics/kuaidi100/notify", errors=(400, 502))
def kuaidi100_notify(request: Request, shop: Shop, parcels: ParcelRepository) -> Json[PushAnswer]:
    """kuaidi100's subscription push (form param + sign, MD5 with the subscription salt): 400 for a bad sign, a
    malformed param or an unknown parcel, nothing changed; a push seen before changes nothing"""
    return service.receive_push(shop, parcels, request.raw_body)


@parcels_api.post("/dev/logistics/push", errors=(400, 404, 502), tags=("dev",))
def dev_logistics_push(body: DevPush, settings: Settings, parcels: ParcelRepository) -> Json[DevPushResult]:
    """Have the built-in kuaidi100 emulator push an event for a shipped parcel, signed as kuaidi100 does (local and
    dev stages only)"""
    if not settings.is_local_or_dev:
        raise NotFound("No such route")
    return service.dev_push(parcels, body)
