"""The only module that touches the promotion model."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.expressions.condition import Condition

from chalicelib.errors import Conflict, NotFound
from chalicelib.promotions.models import PROMOTION_PK, PromotionModel

STORED_FIELDS = ("name", "kind", "starts_at", "ends_at", "scope", "created_at", "updated_at")


class PromotionsRepository(Protocol):
    def all(self) -> list[dict[str, Any]]:
        """Every stored promotion (one Query)."""

    def get(self, promotion_id: str) -> dict[str, Any] | None: ...
    def save(self, promotion: dict[str, Any], expected_version: int | None) -> None:
        """Create it (expected_version None: Conflict if the id is taken) or replace the one stored at
        expected_version (NotFound if it is gone, Conflict if it changed meanwhile)."""

    def delete(self, promotion_id: str) -> None:
        """NotFound if there is no such promotion."""


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


def _record(item: PromotionModel) -> dict[str, Any]:
    record = {name: getattr(item, name) for name in STORED_FIELDS}
    prices = _plain(item.sku_prices) or {}
    record.update(
        promotion_id=item.sk,
        sku_prices=[{"sku_id": sku_id, "price_fen": int(price)} for sku_id, price in sorted(prices.items())],
        tiers=[
            {"threshold_fen": int(tier["threshold_fen"]), "off_fen": int(tier["off_fen"])}
            for tier in map(_plain, item.tiers or [])
        ],
        scope_ids=list(item.scope_ids or []),
        version=int(item.version or 1),
    )
    return record


def _item(promotion: dict[str, Any]) -> PromotionModel:
    return PromotionModel(
        PROMOTION_PK,
        promotion["promotion_id"],
        **{name: promotion[name] for name in STORED_FIELDS},
        sku_prices={entry["sku_id"]: entry["price_fen"] for entry in promotion["sku_prices"]},
        tiers=promotion["tiers"],
        scope_ids=promotion["scope_ids"],
        version=promotion["version"],
        expires_at=promotion.get("expires_at"),
    )


class DynamoPromotionsRepository:
    """PromotionsRepository on the marketing table."""

    def all(self) -> list[dict[str, Any]]:
        return [_record(item) for item in PromotionModel.query(PROMOTION_PK)]

    def get(self, promotion_id: str) -> dict[str, Any] | None:
        try:
            return _record(PromotionModel.get(PROMOTION_PK, promotion_id, consistent_read=True))
        except PromotionModel.DoesNotExist:
            return None

    def save(self, promotion: dict[str, Any], expected_version: int | None) -> None:
        condition: Condition
        if expected_version is None:
            condition = PromotionModel.sk.does_not_exist()
        else:
            condition = PromotionModel.version == expected_version
        try:
            _item(promotion).save(condition=condition)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            if expected_version is None:
                raise Conflict("This promotion already exists") from error
            if self.get(promotion["promotion_id"]) is None:
                raise NotFound("No such promotion") from error
            raise Conflict("The promotion changed meanwhile: read it again and retry") from error

    def delete(self, promotion_id: str) -> None:
        try:
            PromotionModel(PROMOTION_PK, promotion_id).delete(condition=PromotionModel.sk.exists())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such promotion") from error
            raise
