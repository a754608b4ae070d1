"""The only module that touches the coupon models; add_issue / add_lock / add_release / add_mark_used /
add_give_back put coupon writes into a caller's TransactWrite (the points exchange, orders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.coupons.domain import UNUSED, USED, ClaimLimitReached, NoneLeft, TemplateChanged
from chalicelib.coupons.models import (
    CLAIM_PREFIX,
    COUPON_PREFIX,
    TEMPLATE_PREFIX,
    TEMPLATES_PK,
    WALLET_PREFIX,
    ClaimCounterModel,
    CouponTemplateModel,
    UserCouponModel,
    WalletCouponModel,
    user_pk,
    wallet_bound,
    wallet_sk,
)
from chalicelib.dynamo import PendingSlice, cancelled_conditions, connection, newest_page, read_slices, stored_int
from chalicelib.errors import Conflict, NotFound

TEMPLATE_FIELDS = (
    "template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off", "max_discount_fen", "valid_from",
    "valid_to", "valid_days", "scope", "per_user_limit", "total", "issued", "claimable", "created_at", "updated_at",
)  # fmt: skip
EDITABLE_TEMPLATE_FIELDS = ("name", "valid_from", "valid_to", "valid_days", "total", "claimable", "updated_at")
COUPON_FIELDS = (
    "coupon_id", "template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off", "max_discount_fen",
    "scope", "valid_from", "valid_to", "status", "claimed_at", "source", "locked_by", "locked_at", "used_at",
)  # fmt: skip
INTEGER_FIELDS = ("threshold_fen", "amount_off_fen", "percent_off", "max_discount_fen", "valid_days", "per_user_limit",
                  "total", "issued")  # fmt: skip


class CouponsRepository(Protocol):
    def create_template(self, template: dict[str, Any]) -> None:
        """Store a new template; Conflict if its id is taken."""

    def update_template(self, template_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply changes (EDITABLE_TEMPLATE_FIELDS; None removes) and return the template; NotFound if there is
        none; Conflict if a new total is below what was issued."""

    def template(self, template_id: str) -> dict[str, Any] | None: ...
    def templates(
        self, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def templates_by_ids(self, template_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def claim(self, user_id: str, coupon: dict[str, Any], per_user_limit: int) -> None:
        """Issue one coupon to the user at once with counting it on the template (issued < total) and on the
        user's counter (claimed < per_user_limit): NoneLeft, ClaimLimitReached, or TemplateChanged when the
        template is no longer the one the coupon was made from."""

    def claimed_counts(self, user_id: str, template_ids: list[str]) -> dict[str, int]: ...
    def user_coupons(
        self, user_id: str, limit: int | None, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The user's coupons, newest first; limit None reads them all."""

    def user_coupon(self, user_id: str, coupon_id: str) -> dict[str, Any] | None: ...
    def wallet_slice(self, user_id: str, now: datetime) -> PendingSlice[list[dict[str, Any]]]:
        """The user's coupons that are unused, unlocked and not expired at `now` (their terms; some may not be valid
        yet), as a slice of the user's partition (dynamo.read_slices): used and expired ones are not read."""

    def wallet(self, user_id: str, now: datetime) -> list[dict[str, Any]]:
        """wallet_slice, read alone."""

    def lock(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        """Lock an unused, unlocked coupon valid at `now` to the order (already locked to it: True); False when the
        condition fails."""

    def release(self, user_id: str, coupon_id: str, order_id: str) -> bool:
        """Unlock an unused coupon locked to the order; False when it is not."""

    def mark_used(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        """Mark a coupon locked to the order used; False when it is not locked to it (or used already)."""


def template_key(template_id: str) -> CouponTemplateModel:
    return CouponTemplateModel(TEMPLATES_PK, f"{TEMPLATE_PREFIX}{template_id}")


def coupon_key(user_id: str, coupon_id: str) -> UserCouponModel:
    return UserCouponModel(user_pk(user_id), f"{COUPON_PREFIX}{coupon_id}")


def _template_dict(item: CouponTemplateModel) -> dict[str, Any]:
    template = {name: getattr(item, name) for name in TEMPLATE_FIELDS}
    for name in INTEGER_FIELDS:
        if name in template and template[name] is not None:
            template[name] = int(template[name])
    template["scope_ids"] = list(item.scope_ids or [])
    template["claimable"] = item.claimable is not False  # absent on templates stored before the flag: the default
    return template


def _coupon_dict(item: UserCouponModel) -> dict[str, Any]:
    coupon = {name: getattr(item, name) for name in COUPON_FIELDS}
    for name in INTEGER_FIELDS:
        if name in coupon and coupon[name] is not None:
            coupon[name] = int(coupon[name])
    coupon["scope_ids"] = list(item.scope_ids or [])
    return coupon


def _coupon_item(user_id: str, coupon: dict[str, Any]) -> UserCouponModel:
    item = coupon_key(user_id, coupon["coupon_id"])
    for name in COUPON_FIELDS:
        if coupon.get(name) is not None:
            setattr(item, name, coupon[name])
    item.scope_ids = list(coupon.get("scope_ids") or [])
    return item


WALLET_FIELDS = ("coupon_id", "template_id", "name", "type", "threshold_fen", "amount_off_fen", "percent_off",
                 "max_discount_fen", "scope", "valid_from", "valid_to")  # fmt: skip
WALLET_DEFAULTS = {"threshold_fen": 0, "scope": "all"}  # WalletCouponModel's, for attributes an item lacks


def _epoch(moment: str) -> int:
    return int(parse_iso(moment).timestamp())


def _wallet_item(user_id: str, coupon: dict[str, Any]) -> WalletCouponModel:
    item = WalletCouponModel(user_pk(user_id), wallet_sk(_epoch(coupon["valid_to"]), coupon["coupon_id"]))
    for name in WALLET_FIELDS:
        if coupon.get(name) is not None:
            setattr(item, name, coupon[name])
    item.scope_ids = list(coupon.get("scope_ids") or [])
    item.expires_at = _epoch(coupon["valid_to"])
    return item


def _wallet_of_item(raw: dict[str, Any]) -> dict[str, Any]:
    """A wallet coupon straight from its raw item: THE parse of the wallet (read by every cart view), without
    pynamodb's per-attribute deserialize; its unit test holds it to WalletCouponModel's reading."""
    coupon: dict[str, Any] = {}
    for name in WALLET_FIELDS:
        stored = raw.get(name) or {"NULL": True}
        value = stored.get("S", stored.get("N"))
        if name in INTEGER_FIELDS and value is not None:
            value = stored_int(value)
        coupon[name] = WALLET_DEFAULTS.get(name) if name not in raw else value
    coupon["scope_ids"] = [listed["S"] for listed in raw.get("scope_ids", {}).get("L") or ()]
    coupon["status"] = UNUSED
    return coupon


def _stored_coupon(user_id: str, coupon_id: str) -> dict[str, Any] | None:
    try:
        return _coupon_dict(UserCouponModel.get(user_pk(user_id), f"{COUPON_PREFIX}{coupon_id}", consistent_read=True))
    except DoesNotExist:
        return None


def _usable_at(now: str) -> Condition:
    return (
        (UserCouponModel.status == UNUSED)
        & UserCouponModel.locked_by.does_not_exist()
        & (UserCouponModel.valid_from <= now)
        & (UserCouponModel.valid_to > now)
    )


def add_issue(transaction: TransactWrite, user_id: str, coupon: dict[str, Any]) -> None:
    """Two actions: count the coupon on its template (issued < total, template unchanged since the coupon was made
    from it), then put the coupon."""
    transaction.update(
        template_key(coupon["template_id"]),
        actions=[CouponTemplateModel.issued.add(1)],
        condition=(CouponTemplateModel.issued < CouponTemplateModel.total)
        & (CouponTemplateModel.updated_at == coupon["template_updated_at"]),
    )
    transaction.save(_coupon_item(user_id, coupon), condition=UserCouponModel.pk.does_not_exist())
    transaction.save(_wallet_item(user_id, coupon))


def add_lock(transaction: TransactWrite, user_id: str, coupon_id: str, order_id: str, now: str | None = None) -> None:
    """Lock the coupon to the order, on condition that it is unused, unlocked and valid now, and take it out of the
    wallet (two actions; its end, which never changes, is read first)."""
    moment = now or iso(utcnow())
    transaction.update(
        coupon_key(user_id, coupon_id),
        actions=[UserCouponModel.locked_by.set(order_id), UserCouponModel.locked_at.set(moment)],
        condition=_usable_at(moment),
    )
    if (coupon := _stored_coupon(user_id, coupon_id)) is not None:
        transaction.delete(WalletCouponModel(user_pk(user_id), wallet_sk(_epoch(coupon["valid_to"]), coupon_id)))


def add_release(transaction: TransactWrite, user_id: str, coupon_id: str, order_id: str) -> None:
    """One action: unlock the coupon, on condition that it is unused and locked to this order."""
    transaction.update(
        coupon_key(user_id, coupon_id),
        actions=[UserCouponModel.locked_by.remove(), UserCouponModel.locked_at.remove()],
        condition=(UserCouponModel.locked_by == order_id) & (UserCouponModel.status == UNUSED),
    )
    if (coupon := _stored_coupon(user_id, coupon_id)) is not None:
        transaction.save(_wallet_item(user_id, coupon))  # back in the wallet


def add_mark_used(
    transaction: TransactWrite, user_id: str, coupon_id: str, order_id: str, now: str | None = None
) -> None:
    """One action: the coupon locked to this order is used (it stays locked to it, as the record of which order)."""
    transaction.update(
        coupon_key(user_id, coupon_id),
        actions=[UserCouponModel.status.set(USED), UserCouponModel.used_at.set(now or iso(utcnow()))],
        condition=(UserCouponModel.locked_by == order_id) & (UserCouponModel.status == UNUSED),
    )


def add_give_back(transaction: TransactWrite, user_id: str, coupon_id: str, order_id: str) -> None:
    """One action: the coupon this order used is unused and free again (its order was refunded in full before
    shipping), on condition that it is used by this order: with the order's own status change in the same
    transaction, it comes back once."""
    transaction.update(
        coupon_key(user_id, coupon_id),
        actions=[
            UserCouponModel.status.set(UNUSED),
            UserCouponModel.locked_by.remove(),
            UserCouponModel.locked_at.remove(),
            UserCouponModel.used_at.remove(),
        ],
        condition=(UserCouponModel.locked_by == order_id) & (UserCouponModel.status == USED),
    )
    if (coupon := _stored_coupon(user_id, coupon_id)) is not None:
        transaction.save(_wallet_item(user_id, coupon))  # back in the wallet


def _is_condition_failure(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoCouponsRepository:
    """CouponsRepository on the marketing table (templates) and the accounts table (users' coupons, counters)."""

    def create_template(self, template: dict[str, Any]) -> None:
        item = template_key(template["template_id"])
        for name in TEMPLATE_FIELDS:
            if template.get(name) is not None:
                setattr(item, name, template[name])
        item.scope_ids = list(template.get("scope_ids") or [])
        try:
            item.save(condition=CouponTemplateModel.pk.does_not_exist())
        except PutError as error:
            if _is_condition_failure(error):
                raise Conflict("A coupon template with this id exists", field="template_id") from error
            raise

    def update_template(self, template_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        item = template_key(template_id)
        actions: list[Any] = []
        for name in EDITABLE_TEMPLATE_FIELDS:
            if name in changes:
                attribute = getattr(CouponTemplateModel, name)
                actions.append(attribute.remove() if changes[name] is None else attribute.set(changes[name]))
        condition = CouponTemplateModel.pk.exists()
        if changes.get("total") is not None:
            condition = condition & (CouponTemplateModel.issued <= changes["total"])
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if not _is_condition_failure(error):
                raise
            current = self.template(template_id)
            if current is None:
                raise NotFound("No such coupon template") from error
            raise Conflict(
                f"total cannot go below the {current['issued']} coupons already issued", field="total"
            ) from error
        return _template_dict(item)

    def template(self, template_id: str) -> dict[str, Any] | None:
        try:
            item = CouponTemplateModel.get(TEMPLATES_PK, f"{TEMPLATE_PREFIX}{template_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _template_dict(item)

    def templates(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results, last_key = newest_page(CouponTemplateModel, TEMPLATES_PK, TEMPLATE_PREFIX, limit, start)
        return [_template_dict(item) for item in results], last_key

    def templates_by_ids(self, template_ids: list[str]) -> dict[str, dict[str, Any]]:
        keys = [(TEMPLATES_PK, f"{TEMPLATE_PREFIX}{tid}") for tid in dict.fromkeys(template_ids)]
        if not keys:
            return {}
        return {item.template_id: _template_dict(item) for item in CouponTemplateModel.batch_get(keys)}

    def claim(self, user_id: str, coupon: dict[str, Any], per_user_limit: int) -> None:
        counter = ClaimCounterModel(user_pk(user_id), f"{CLAIM_PREFIX}{coupon['template_id']}")
        try:
            with TransactWrite(connection=connection()) as transaction:
                add_issue(transaction, user_id, coupon)
                transaction.update(
                    counter,
                    actions=[ClaimCounterModel.claimed.add(1)],
                    condition=ClaimCounterModel.claimed.does_not_exist() | (ClaimCounterModel.claimed < per_user_limit),
                )
        except TransactWriteError as error:
            if not any(cancelled_conditions(error)):
                if getattr(error, "cancellation_reasons", None):
                    raise TemplateChanged() from error  # cancelled by a concurrent transaction on the same items
                raise
            # pynamodb sends puts before updates: which condition failed is told by reading again (counts only grow).
            template_id = coupon["template_id"]
            if self.claimed_counts(user_id, [template_id]).get(template_id, 0) >= per_user_limit:
                raise ClaimLimitReached() from error
            current = self.template(template_id)
            if current is None or current["issued"] >= current["total"]:
                raise NoneLeft() from error
            raise TemplateChanged() from error

    def claimed_counts(self, user_id: str, template_ids: list[str]) -> dict[str, int]:
        keys = [(user_pk(user_id), f"{CLAIM_PREFIX}{tid}") for tid in dict.fromkeys(template_ids)]
        if not keys:
            return {}
        return {
            item.sk.removeprefix(CLAIM_PREFIX): int(item.claimed or 0) for item in ClaimCounterModel.batch_get(keys)
        }

    def user_coupons(
        self, user_id: str, limit: int | None, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results, last_key = newest_page(UserCouponModel, user_pk(user_id), COUPON_PREFIX, limit, start, True)
        return [_coupon_dict(item) for item in results], last_key

    def user_coupon(self, user_id: str, coupon_id: str) -> dict[str, Any] | None:
        try:
            item = UserCouponModel.get(user_pk(user_id), f"{COUPON_PREFIX}{coupon_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return _coupon_dict(item)

    def wallet_slice(self, user_id: str, now: datetime) -> PendingSlice[list[dict[str, Any]]]:
        def parse(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [_wallet_of_item(item) for item in raw]

        bound = wallet_bound(int(now.timestamp()))
        return PendingSlice(WalletCouponModel.Meta.table_name, user_pk(user_id), WALLET_PREFIX, bound, parse)

    def wallet(self, user_id: str, now: datetime) -> list[dict[str, Any]]:
        [coupons] = read_slices(self.wallet_slice(user_id, now))
        return coupons

    def lock(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        condition = (UserCouponModel.locked_by == order_id) | _usable_at(now)
        actions = [UserCouponModel.locked_by.set(order_id), UserCouponModel.locked_at.set(now)]
        return self._update_if(
            coupon_key(user_id, coupon_id), actions, UserCouponModel.pk.exists() & condition, user_id, "out"
        )

    def release(self, user_id: str, coupon_id: str, order_id: str) -> bool:
        condition = (UserCouponModel.locked_by == order_id) & (UserCouponModel.status == UNUSED)
        actions = [UserCouponModel.locked_by.remove(), UserCouponModel.locked_at.remove()]
        return self._update_if(coupon_key(user_id, coupon_id), actions, condition, user_id, "in")

    def mark_used(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        condition = (UserCouponModel.locked_by == order_id) & (UserCouponModel.status == UNUSED)
        actions = [UserCouponModel.status.set(USED), UserCouponModel.used_at.set(now)]
        return self._update_if(coupon_key(user_id, coupon_id), actions, condition, user_id, "out")

    @staticmethod
    def _update_if(
        item: UserCouponModel, actions: list[Any], condition: Condition, user_id: str, wallet: Literal["in", "out"]
    ) -> bool:
        """The coupon's update on its condition, with its wallet entry put back ("in") or taken out ("out") in the
        same transaction; False when the condition fails."""
        coupon = _stored_coupon(user_id, item.coupon_id or item.sk.removeprefix(COUPON_PREFIX))
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(item, actions=actions, condition=condition)
                if coupon is not None and wallet == "in":
                    transaction.save(_wallet_item(user_id, coupon))
                elif coupon is not None:
                    entry = wallet_sk(_epoch(coupon["valid_to"]), coupon["coupon_id"])
                    transaction.delete(WalletCouponModel(user_pk(user_id), entry))
        except TransactWriteError as error:
            if any(cancelled_conditions(error)):
                return False
            raise
        return True
