"""The only module that touches the cart models: lines and the line counter, written together."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.cart.domain import CartFull, QuantityLimit
from chalicelib.cart.models import CART_COUNTER_SK, CART_LINE_PREFIX, CartCounterModel, CartLineModel, user_pk
from chalicelib.dynamo import cancelled_conditions, connection
from chalicelib.errors import ChangedMeanwhile

MAX_TRANSACTION_ACTIONS = 100


class CartRepository(Protocol):
    def lines(self, user_id: str) -> list[dict[str, Any]]:
        """Every line of the user's cart (strongly consistent)."""

    def line(self, user_id: str, sku_id: str) -> dict[str, Any] | None: ...
    def add_to_line(self, user_id: str, sku_id: str, quantity: int, max_quantity: int, card: dict[str, Any]) -> bool:
        """Add quantity to an existing line (and select it) while it stays <= max_quantity; False if there is no
        such line. QuantityLimit if it would pass max_quantity."""

    def add_line(self, user_id: str, line: dict[str, Any], max_lines: int) -> None:
        """Put a new line and count it, while the cart has fewer than max_lines. CartFull if it has them;
        ChangedMeanwhile if the line appeared meanwhile."""

    def update_line(self, user_id: str, sku_id: str, quantity: int | None, selected: bool | None) -> bool:
        """Set the quantity and/or selection of a line; False if there is no such line."""

    def remove_lines(self, user_id: str, sku_ids: list[str]) -> None:
        """Delete these lines (all present when read) and uncount them at once; ChangedMeanwhile if one went."""


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


def _line_dict(item: CartLineModel) -> dict[str, Any]:
    return {
        "sku_id": item.sku_id,
        "quantity": int(item.quantity),
        "selected": bool(item.selected),
        "added_at": item.added_at,
        "title": item.title or "",
        "attributes": dict(_plain(item.attributes) or {}),
    }


def _line_key(user_id: str, sku_id: str) -> CartLineModel:
    return CartLineModel(user_pk(user_id), f"{CART_LINE_PREFIX}{sku_id}")


def _is_condition_failure(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoCartRepository:
    """CartRepository on the accounts table."""

    def lines(self, user_id: str) -> list[dict[str, Any]]:
        query = CartLineModel.query(
            user_pk(user_id), CartLineModel.sk.startswith(CART_LINE_PREFIX), consistent_read=True
        )
        return [_line_dict(item) for item in query]

    def line(self, user_id: str, sku_id: str) -> dict[str, Any] | None:
        try:
            item = CartLineModel.get(user_pk(user_id), f"{CART_LINE_PREFIX}{sku_id}", consistent_read=True)
        except CartLineModel.DoesNotExist:
            return None
        return _line_dict(item)

    def add_to_line(self, user_id: str, sku_id: str, quantity: int, max_quantity: int, card: dict[str, Any]) -> bool:
        item = _line_key(user_id, sku_id)
        try:
            item.update(
                actions=[
                    CartLineModel.quantity.add(quantity),
                    CartLineModel.selected.set(True),
                    CartLineModel.title.set(card["title"]),
                    CartLineModel.attributes.set(card["attributes"]),
                ],
                condition=CartLineModel.pk.exists() & (CartLineModel.quantity <= max_quantity - quantity),
            )
        except UpdateError as error:
            if not _is_condition_failure(error):
                raise
            current = self.line(user_id, sku_id)
            if current is None:
                return False
            if current["quantity"] + quantity > max_quantity:
                raise QuantityLimit() from error
            raise ChangedMeanwhile() from error
        return True

    def add_line(self, user_id: str, line: dict[str, Any], max_lines: int) -> None:
        item = CartLineModel(
            user_pk(user_id),
            f"{CART_LINE_PREFIX}{line['sku_id']}",
            sku_id=line["sku_id"],
            quantity=line["quantity"],
            selected=line["selected"],
            added_at=line["added_at"],
            title=line["title"],
            attributes=line["attributes"],
        )
        counter = CartCounterModel(user_pk(user_id), CART_COUNTER_SK)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(item, condition=CartLineModel.pk.does_not_exist())
                transaction.update(
                    counter,
                    actions=[CartCounterModel.line_count.add(1)],
                    condition=CartCounterModel.line_count.does_not_exist() | (CartCounterModel.line_count < max_lines),
                )
        except TransactWriteError as error:
            line_exists, full = [*cancelled_conditions(error), False, False][:2]
            if full and not line_exists:
                raise CartFull() from error
            raise ChangedMeanwhile() from error

    def update_line(self, user_id: str, sku_id: str, quantity: int | None, selected: bool | None) -> bool:
        actions: list[Action] = []
        if quantity is not None:
            actions.append(CartLineModel.quantity.set(quantity))
        if selected is not None:
            actions.append(CartLineModel.selected.set(selected))
        try:
            _line_key(user_id, sku_id).update(actions=actions, condition=CartLineModel.pk.exists())
        except UpdateError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def remove_lines(self, user_id: str, sku_ids: list[str]) -> None:
        unique = list(dict.fromkeys(sku_ids))
        chunk_size = MAX_TRANSACTION_ACTIONS - 1  # and the counter
        for start in range(0, len(unique), chunk_size):
            chunk = unique[start : start + chunk_size]
            counter = CartCounterModel(user_pk(user_id), CART_COUNTER_SK)
            try:
                with TransactWrite(connection=connection()) as transaction:
                    for sku_id in chunk:
                        transaction.delete(_line_key(user_id, sku_id), condition=CartLineModel.pk.exists())
                    transaction.update(counter, actions=[CartCounterModel.line_count.add(-len(chunk))])
            except TransactWriteError as error:
                raise ChangedMeanwhile() from error
