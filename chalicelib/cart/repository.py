"""The only module that touches the cart models: lines and the cart's head (the set of its SKUs), written together,
each request in one call (see docs/data-model.md: Cart)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.cart import writes
from chalicelib.cart.domain import CartOwner, GuestCartGone
from chalicelib.cart.lines_seen import LinesSeen
from chalicelib.cart.models import (
    ACCOUNTS_TABLE,
    CART_COUNTER_SK,
    CART_LINE_PREFIX,
    CartCounterModel,
    CartLineModel,
    guest_pk,
    user_pk,
)
from chalicelib.dynamo import (
    PendingRead,
    PendingSlice,
    connection,
    read_slices,
)
from chalicelib.errors import ChangedMeanwhile

MAX_TRANSACTION_ACTIONS = 100
Line = dict[str, Any]
Head = dict[str, Any]  # {"skus": set[str], "expires_at": int | None}; None: the cart has no head (yet, or any more)


class CartRepository(Protocol):
    def cart(self, owner: CartOwner) -> tuple[list[Line], Head | None]:
        """Every line of the cart and its head, strongly consistent, in one Query."""

    def cart_slice(self, owner: CartOwner) -> PendingSlice[tuple[list[Line], Head | None]]:
        """The cart (as `cart` gives it) as a slice of its partition, read with others (dynamo.read_slices)."""

    def line(self, owner: CartOwner, sku_id: str) -> Line | None: ...
    def line_read(self, owner: CartOwner, sku_id: str) -> PendingRead[Line | None]:
        """The line, as a read joined with others (dynamo.read_together)."""

    def head_read(self, owner: CartOwner) -> PendingRead[Head | None]: ...
    def put_line(
        self,
        owner: CartOwner,
        line: Line,
        was: int | None,
        max_lines: int,
        alive_at: int | None,
        expires_at: int | None,
        listed: bool = False,
    ) -> None:
        """Write the line in one transaction with the head: a new one (`was` None) on condition that it is absent and
        the cart has fewer than max_lines (else CartFull), an existing one on condition that its quantity is still
        `was`; ChangedMeanwhile when a line condition fails. A guest cart (alive_at: now, epoch seconds) also needs
        its head alive then (else GuestCartGone), and every item written takes expires_at. `listed`: the head read
        with the line lists its SKU already, so a user's existing line is written alone, its quantity and selection
        only (one UpdateItem: a line deleted meanwhile, taken out of the head in the same transaction, fails its
        condition)."""

    def has_no_line(self, owner: CartOwner, sku_id: str) -> bool:
        """Whether a user's cart was seen lately (by this container) without a line of this SKU: a guess, which
        only orders an add's conditional writes (chalicelib.cart.lines_seen)."""

    def add_quantity(self, owner: CartOwner, sku_id: str, quantity: int, max_quantity: int) -> tuple[Line | None, bool]:
        """Add quantity to a user's line that exists (and select it) without reading it, on condition that it stays
        within max_quantity (one UpdateItem): (the line as it is now, True); (None, True) past max_quantity; (None,
        False) if there is no such line."""

    def update_line(
        self, owner: CartOwner, sku_id: str, quantity: int | None, selected: bool | None, expires_at: int | None
    ) -> Line | None:
        """Set the quantity and/or selection of a line and return it as it is now (one UpdateItem); None if there
        is no such line."""

    def remove_lines(self, owner: CartOwner, sku_ids: list[str], alive_at: int | None, expires_at: int | None) -> None:
        """Delete these lines (absent ones are fine) and take them out of the head, one transaction per 99."""

    def start_guest(self, guest_id: str, expires_at: int) -> None:
        """Write the head of a new guest cart."""

    def touch_guest(self, guest_id: str, alive_at: int, expires_at: int) -> bool:
        """Move the guest cart's end on, on condition that it is alive at alive_at; False if it is not."""

    def merge(
        self,
        guest_id: str,
        user_id: str,
        lines: list[tuple[Line, int | None]],
        gone: list[str],
        new_lines: int,
        max_lines: int,
    ) -> None:
        """Move guest lines into the user's cart: each (line as it ends up in the user's cart, the user's quantity
        it was read at or None for a new line) written on that condition; the guest's lines `gone` (all of them)
        and then its head deleted, on condition that the head is still there (else GuestCartGone); the user's head
        takes the new lines' SKUs while it stays within max_lines. Pairs of actions travel together, so a retry
        after a partial failure (ChangedMeanwhile) never adds a line twice."""


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, MapAttribute) else value


def _line_dict(values: dict[str, Any]) -> Line:
    """A line from its item's attribute values (dynamo.attribute_values, or a model's `attribute_values`)."""
    return {
        "sku_id": values["sku_id"],
        "quantity": int(values["quantity"]),
        "selected": bool(values.get("selected")),
        "added_at": values["added_at"],
        "title": values.get("title") or "",
        "attributes": dict(_plain(values.get("attributes")) or {}),
    }


def _line_of_item(raw: dict[str, Any]) -> Line:
    """A line straight from its raw DynamoDB item (as _line_dict reads the CartLineModel, defaults included):
    THE parse of the lines the cart reads and writes back, without pynamodb's per-attribute deserialize."""
    selected, title, attributes = raw.get("selected"), raw.get("title"), raw.get("attributes")
    return {
        "sku_id": raw["sku_id"]["S"],
        "quantity": int(raw["quantity"]["N"]),
        "selected": selected["BOOL"] if selected and "BOOL" in selected else True,
        "added_at": raw["added_at"]["S"],
        "title": title["S"] if title and "S" in title else "",
        "attributes": {key: each["S"] for key, each in attributes["M"].items()}
        if attributes and "M" in attributes
        else {},
    }


def _head_of_item(raw: dict[str, Any]) -> Head:
    """The cart's head straight from its raw DynamoDB item (as the CartCounterModel reads it)."""
    skus, expires_at = raw.get("skus"), raw.get("expires_at")
    return {
        "skus": set(skus["SS"]) if skus and "SS" in skus else set(),
        "expires_at": int(expires_at["N"]) if expires_at and "N" in expires_at else None,
    }


def _pk(owner: CartOwner) -> str:
    return guest_pk(owner.id) if owner.guest else user_pk(owner.id)


def _line_key(owner: CartOwner, sku_id: str) -> CartLineModel:
    return CartLineModel(_pk(owner), f"{CART_LINE_PREFIX}{sku_id}")


def _head_key(owner: CartOwner) -> CartCounterModel:
    return CartCounterModel(_pk(owner), CART_COUNTER_SK)


def _alive(alive_at: int) -> Condition:
    return CartCounterModel.expires_at > alive_at


def _line_actions(line: Line, expires_at: int | None) -> list[Action]:
    actions: list[Action] = [
        CartLineModel.sku_id.set(line["sku_id"]),
        CartLineModel.quantity.set(line["quantity"]),
        CartLineModel.selected.set(line["selected"]),
        CartLineModel.added_at.set(line["added_at"]),
        CartLineModel.title.set(line["title"]),
        CartLineModel.attributes.set(line["attributes"]),
    ]
    if expires_at is not None:
        actions.append(CartLineModel.expires_at.set(expires_at))
    return actions


def _line_condition(was: int | None) -> Condition:
    return CartLineModel.pk.does_not_exist() if was is None else (CartLineModel.quantity == was)


def _room_for(sku_ids: list[str], max_lines: int) -> Condition:
    """The head's set stays within max_lines once these SKUs (not in it yet) join it."""
    return CartCounterModel.skus.does_not_exist() | (size(CartCounterModel.skus) <= max_lines - len(sku_ids))


class DynamoCartRepository:
    """CartRepository on the accounts table, remembering what it sees of users' carts (LinesSeen)."""

    def __init__(self, seen: LinesSeen | None = None) -> None:
        self.seen = seen if seen is not None else LinesSeen()

    def cart(self, owner: CartOwner) -> tuple[list[Line], Head | None]:
        [cart] = read_slices(self.cart_slice(owner))
        return cart

    def cart_slice(self, owner: CartOwner) -> PendingSlice[tuple[list[Line], Head | None]]:
        def parse(raw: list[dict[str, Any]]) -> tuple[list[Line], Head | None]:
            lines: list[Line] = []
            head: Head | None = None
            for item in raw:
                if item["sk"]["S"] == CART_COUNTER_SK:
                    head = _head_of_item(item)
                else:
                    lines.append(_line_of_item(item))
            if not owner.guest:
                self.seen.saw_cart(owner.id, (line["sku_id"] for line in lines))
            return lines, head

        return PendingSlice(ACCOUNTS_TABLE, _pk(owner), CART_LINE_PREFIX, CART_COUNTER_SK, parse)

    def line(self, owner: CartOwner, sku_id: str) -> Line | None:
        try:
            item = CartLineModel.get(_pk(owner), f"{CART_LINE_PREFIX}{sku_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _line_dict(item.attribute_values)

    def line_read(self, owner: CartOwner, sku_id: str) -> PendingRead[Line | None]:
        key = (_pk(owner), f"{CART_LINE_PREFIX}{sku_id}")
        return PendingRead(CartLineModel, key, lambda item: _line_of_item(item) if item is not None else None, raw=True)

    def head_read(self, owner: CartOwner) -> PendingRead[Head | None]:
        key = (_pk(owner), CART_COUNTER_SK)
        return PendingRead(
            CartCounterModel, key, lambda item: _head_of_item(item) if item is not None else None, raw=True
        )

    def put_line(
        self,
        owner: CartOwner,
        line: Line,
        was: int | None,
        max_lines: int,
        alive_at: int | None,
        expires_at: int | None,
        listed: bool = False,
    ) -> None:
        try:
            if listed and was is not None and alive_at is None:
                writes.set_quantity(_pk(owner), line, was)
            else:
                writes.put_line(_pk(owner), line, was, max_lines, alive_at, expires_at)
        except ChangedMeanwhile:
            self.seen.forget(owner.id)
            raise
        self._saw(owner, line["sku_id"], True)

    def has_no_line(self, owner: CartOwner, sku_id: str) -> bool:
        return not owner.guest and self.seen.has_no_line(owner.id, sku_id)

    def add_quantity(self, owner: CartOwner, sku_id: str, quantity: int, max_quantity: int) -> tuple[Line | None, bool]:
        raw, exists = writes.add_quantity(_pk(owner), sku_id, quantity, max_quantity)
        self._saw(owner, sku_id, exists)
        return (_line_of_item(raw) if raw is not None else None), exists

    def update_line(
        self, owner: CartOwner, sku_id: str, quantity: int | None, selected: bool | None, expires_at: int | None
    ) -> Line | None:
        raw = writes.update_line(_pk(owner), sku_id, quantity, selected, expires_at)
        self._saw(owner, sku_id, raw is not None)
        return _line_of_item(raw) if raw is not None else None

    def remove_lines(self, owner: CartOwner, sku_ids: list[str], alive_at: int | None, expires_at: int | None) -> None:
        unique = list(dict.fromkeys(sku_ids))
        chunk_size = MAX_TRANSACTION_ACTIONS - 1  # and the head
        for start in range(0, len(unique), chunk_size):
            chunk = unique[start : start + chunk_size]
            writes.remove_lines(_pk(owner), chunk, alive_at, expires_at)
            for sku_id in chunk:
                self._saw(owner, sku_id, False)

    def _saw(self, owner: CartOwner, sku_id: str, has_line: bool) -> None:
        if not owner.guest:
            self.seen.saw(owner.id, sku_id, has_line)

    def start_guest(self, guest_id: str, expires_at: int) -> None:
        head = CartCounterModel(guest_pk(guest_id), CART_COUNTER_SK, guest=True, expires_at=expires_at)
        try:
            head.save(condition=CartCounterModel.pk.does_not_exist())
        except PutError as error:
            raise ChangedMeanwhile() from error  # a random id met an existing one

    def touch_guest(self, guest_id: str, alive_at: int, expires_at: int) -> bool:
        head = CartCounterModel(guest_pk(guest_id), CART_COUNTER_SK)
        try:
            head.update(actions=[CartCounterModel.expires_at.set(expires_at)], condition=_alive(alive_at))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def merge(
        self,
        guest_id: str,
        user_id: str,
        lines: list[tuple[Line, int | None]],
        gone: list[str],
        new_lines: int,
        max_lines: int,
    ) -> None:
        guest, user = CartOwner(guest_id, guest=True), CartOwner.user(user_id)
        self.seen.forget(user_id)
        moved = {line["sku_id"]: (line, was) for line, was in lines}
        pairs = list(dict.fromkeys(gone))
        per_chunk = (MAX_TRANSACTION_ACTIONS - 2) // 2  # a pair per SKU, the user's head and the guest's head
        chunks = [pairs[start : start + per_chunk] for start in range(0, len(pairs), per_chunk)] or [[]]
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1
            added = [sku_id for sku_id in chunk if sku_id in moved and moved[sku_id][1] is None]
            try:
                with TransactWrite(connection=connection()) as transaction:
                    for sku_id in chunk:
                        transaction.delete(_line_key(guest, sku_id))
                        if sku_id in moved:
                            line, was = moved[sku_id]
                            transaction.update(
                                _line_key(user, sku_id), actions=_line_actions(line, None),
                                condition=_line_condition(was),
                            )  # fmt: skip
                    if added:
                        transaction.update(
                            _head_key(user),
                            actions=[CartCounterModel.skus.add(set(added))],
                            condition=_room_for(added, max_lines),
                        )
                    if last:
                        transaction.delete(_head_key(guest), condition=CartCounterModel.pk.exists())
                    else:
                        transaction.condition_check(
                            CartCounterModel, guest_pk(guest_id), CART_COUNTER_SK, CartCounterModel.pk.exists()
                        )
            except TransactWriteError as error:
                if self._guest_head_gone(guest_id):
                    raise GuestCartGone() from error
                raise ChangedMeanwhile() from error

    @staticmethod
    def _guest_head_gone(guest_id: str) -> bool:
        try:
            CartCounterModel.get(guest_pk(guest_id), CART_COUNTER_SK, consistent_read=True)
        except DoesNotExist:
            return True
        return False
