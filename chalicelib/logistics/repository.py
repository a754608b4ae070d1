"""Where parcels, their tracking events and freight templates are kept: the only module touching their models.
Parcels are keyed by tracking number (one partition each, the head and its events side by side, read in one Query);
every write is conditional."""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import connection
from chalicelib.errors import Conflict, NotFound
from chalicelib.logistics.freight import FreightTemplate
from chalicelib.logistics.models import (
    EVENT_PREFIX,
    FREIGHT_PK,
    HEAD_PREFIX,
    FreightTemplateModel,
    ParcelEventModel,
    ParcelModel,
    parcel_pk,
)

MAX_EVENTS_PER_WRITE = 90  # one transaction: the head plus new events stay under the 100-action limit


class FreightTemplates(Protocol):
    def templates(self, template_ids: list[str]) -> dict[str, FreightTemplate]:
        """These templates (missing ones left out)."""


class NoFreightTemplates:
    """FreightTemplates of a shop without any (tests of orders alone): every line ships by the flat rule."""

    def templates(self, template_ids: list[str]) -> dict[str, FreightTemplate]:
        return {}


class FreightRepository(FreightTemplates, Protocol):
    def list_templates(self) -> list[dict[str, Any]]: ...
    def template(self, template_id: str) -> dict[str, Any] | None: ...
    def save_template(self, template: dict[str, Any], create: bool) -> None:
        """Put a new template (Conflict if the id exists) or replace one (NotFound if it does not)."""

    def delete_template(self, template_id: str) -> None:
        """Delete an unused template; NotFound if there is none, Conflict while products use it."""


class ParcelRepository(Protocol):
    def register(self, parcel: dict[str, Any]) -> None:
        """Remember that a parcel (carrier_code, tracking_no) carries the order (with the others it carries)."""

    def parcel(self, tracking_no: str, carrier_code: str) -> dict[str, Any] | None: ...
    def parcels(self, tracking_no: str) -> list[dict[str, Any]]:
        """Every parcel with this number (one per carrier)."""

    def events(self, tracking_no: str, carrier_code: str) -> list[dict[str, Any]]:
        """The parcel's events, newest first."""

    def record(self, parcel: dict[str, Any], events: list[dict[str, Any]], changes: dict[str, Any]) -> bool:
        """The new events put (each once) and the head's changes set, at once, if the head is still at the version
        read; False otherwise (nothing written)."""


def _template_dict(item: FreightTemplateModel) -> dict[str, Any]:
    rules = dict(item.rules or {})
    return {
        "template_id": item.sk,
        "name": item.name,
        "default": rules.get("default"),
        "regions": rules.get("regions") or [],
        "free_over_fen": rules.get("free_over_fen"),
        "excluded_provinces": rules.get("excluded_provinces") or [],
        "products_using": int(item.products_using or 0),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _is_condition_failure(error: Any) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def add_template_use(transaction: TransactWrite, template_id: str, delta: int) -> None:
    """In a product write's transaction: the product starts (+1) or stops (-1) using the template, which must exist."""
    transaction.update(
        FreightTemplateModel(FREIGHT_PK, template_id),
        actions=[FreightTemplateModel.products_using.add(delta)],
        condition=FreightTemplateModel.sk.exists(),
    )


def template_exists(template_id: str) -> bool:
    """Whether a freight template has this id (a product naming it is checked before its transaction)."""
    return FreightTemplateModel.count(FREIGHT_PK, FreightTemplateModel.sk == template_id) > 0


class DynamoFreightRepository:
    def templates(self, template_ids: list[str]) -> dict[str, FreightTemplate]:
        keys = [(FREIGHT_PK, template_id) for template_id in dict.fromkeys(template_ids)]
        found = [_template_dict(item) for item in FreightTemplateModel.batch_get(keys)] if keys else []
        return {template["template_id"]: FreightTemplate.of(template) for template in found}

    def list_templates(self) -> list[dict[str, Any]]:
        return [_template_dict(item) for item in FreightTemplateModel.query(FREIGHT_PK)]

    def template(self, template_id: str) -> dict[str, Any] | None:
        try:
            return _template_dict(FreightTemplateModel.get(FREIGHT_PK, template_id))
        except FreightTemplateModel.DoesNotExist:
            return None

    def save_template(self, template: dict[str, Any], create: bool) -> None:
        rules = {name: template[name] for name in ("default", "regions", "free_over_fen", "excluded_provinces")}
        item = FreightTemplateModel(FREIGHT_PK, template["template_id"])
        try:
            if create:
                FreightTemplateModel(
                    FREIGHT_PK,
                    template["template_id"],
                    name=template["name"],
                    rules=rules,
                    products_using=0,
                    created_at=template["created_at"],
                    updated_at=template["updated_at"],
                ).save(condition=FreightTemplateModel.sk.does_not_exist())
            else:  # the use count is the product writes': never overwritten here
                item.update(
                    actions=[
                        FreightTemplateModel.name.set(template["name"]),
                        FreightTemplateModel.rules.set(rules),
                        FreightTemplateModel.updated_at.set(template["updated_at"]),
                    ],
                    condition=FreightTemplateModel.sk.exists(),
                )
        except (PutError, UpdateError) as error:
            if _is_condition_failure(error):
                raise (Conflict("This template exists already") if create else NotFound("No such template")) from error
            raise

    def delete_template(self, template_id: str) -> None:
        item = FreightTemplateModel(FREIGHT_PK, template_id)
        unused = FreightTemplateModel.products_using.does_not_exist() | (FreightTemplateModel.products_using <= 0)
        try:
            item.delete(condition=FreightTemplateModel.sk.exists() & unused)
        except DeleteError as error:
            if not _is_condition_failure(error):
                raise
            current = self.template(template_id)
            if current is None:
                raise NotFound("No such freight template") from error
            raise Conflict(
                f"{current['products_using']} product(s) use this freight template: move them to another first",
                products_using=current["products_using"],
            ) from error


def _parcel_dict(item: ParcelModel) -> dict[str, Any]:
    return {
        "order_ids": sorted(item.order_ids or ()),
        "carrier_code": item.carrier_code,
        "tracking_no": item.tracking_no,
        "state": item.state,
        "is_signed": bool(item.is_signed),
        "signed_at": item.signed_at,
        "updated_at": item.updated_at,
        "version": int(item.version or 0),
    }


def _event_dict(item: ParcelEventModel) -> dict[str, Any]:
    event = {"time": item.at, "context": item.context, "location": item.location or "", "status": item.status or ""}
    return {**event, "description": item.context, "at": item.at}


def event_sk(carrier_code: str, event: dict[str, Any]) -> str:
    """An event's sort key: its carrier, when, and a digest of what and where (the same event is the same key)."""
    digest = hashlib.sha256(f"{event['context']}\n{event['location']}".encode()).hexdigest()[:16]
    return f"{EVENT_PREFIX}{carrier_code}#{event['at']}#{digest}"


class DynamoParcelRepository:
    def register(self, parcel: dict[str, Any]) -> None:
        head = ParcelModel(parcel_pk(parcel["tracking_no"]), f"{HEAD_PREFIX}{parcel['carrier_code']}")
        head.update(
            actions=[
                ParcelModel.order_ids.add({parcel["order_id"]}),
                ParcelModel.carrier_code.set(parcel["carrier_code"]),
                ParcelModel.tracking_no.set(parcel["tracking_no"]),
                ParcelModel.is_signed.set(ParcelModel.is_signed | False),
                ParcelModel.version.set(ParcelModel.version | 0),
                ParcelModel.updated_at.set(parcel["updated_at"]),
            ]
        )

    def parcel(self, tracking_no: str, carrier_code: str) -> dict[str, Any] | None:
        try:
            return _parcel_dict(ParcelModel.get(parcel_pk(tracking_no), f"{HEAD_PREFIX}{carrier_code}"))
        except ParcelModel.DoesNotExist:
            return None

    def parcels(self, tracking_no: str) -> list[dict[str, Any]]:
        heads = ParcelModel.query(parcel_pk(tracking_no), ParcelModel.sk.startswith(HEAD_PREFIX))
        return [_parcel_dict(item) for item in heads]

    def events(self, tracking_no: str, carrier_code: str) -> list[dict[str, Any]]:
        items = ParcelEventModel.query(
            parcel_pk(tracking_no),
            ParcelEventModel.sk.startswith(f"{EVENT_PREFIX}{carrier_code}#"),
            scan_index_forward=False,
        )
        ordered = sorted(items, key=lambda item: (item.at, int(item.seq or 0)), reverse=True)
        return [_event_dict(item) for item in ordered]

    def record(self, parcel: dict[str, Any], events: list[dict[str, Any]], changes: dict[str, Any]) -> bool:
        pk = parcel_pk(parcel["tracking_no"])
        head = ParcelModel(pk, f"{HEAD_PREFIX}{parcel['carrier_code']}")
        actions = [getattr(ParcelModel, name).set(value) for name, value in changes.items()]
        actions.append(ParcelModel.version.set(parcel["version"] + 1))
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(head, actions=actions, condition=ParcelModel.version == parcel["version"])
                for event in events[:MAX_EVENTS_PER_WRITE]:
                    item = ParcelEventModel(
                        pk,
                        event_sk(parcel["carrier_code"], event),
                        at=event["at"],
                        context=event["context"],
                        location=event["location"],
                        status=event["status"],
                        seq=event.get("seq", 0),
                    )
                    transaction.save(item, condition=ParcelEventModel.sk.does_not_exist())
        except TransactWriteError:
            return False
        return True
