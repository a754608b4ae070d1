"""An in-memory CouponsRepository: the same interface and the same write conditions, no AWS (no tests here)."""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any

from chalicelib.clock import parse_iso
from chalicelib.coupons.domain import ClaimLimitReached, NoneLeft, TemplateChanged
from chalicelib.dynamo import PendingSlice
from chalicelib.errors import Conflict, NotFound


class FakeCouponsRepository:
    def __init__(self) -> None:
        self.lock_ = threading.Lock()  # one transaction at a time, as DynamoDB's conditions are atomic
        self.template_items: dict[str, dict[str, Any]] = {}
        self.coupon_items: dict[str, dict[str, dict[str, Any]]] = {}
        self.claim_counts: dict[tuple[str, str], int] = {}

    def create_template(self, template: dict[str, Any]) -> None:
        with self.lock_:
            if template["template_id"] in self.template_items:
                raise Conflict("A coupon template with this id exists")
            self.template_items[template["template_id"]] = copy.deepcopy(template)

    def update_template(self, template_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock_:
            template = self.template_items.get(template_id)
            if template is None:
                raise NotFound("No such coupon template")
            if changes.get("total") is not None and changes["total"] < template["issued"]:
                raise Conflict("total cannot go below what was issued")
            template.update(changes)
            return copy.deepcopy(template)

    def template(self, template_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.template_items.get(template_id))

    def templates(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], None]:
        ordered = sorted(self.template_items.values(), key=lambda t: t["template_id"], reverse=True)
        return copy.deepcopy(ordered[:limit]), None

    def templates_by_ids(self, template_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {tid: copy.deepcopy(self.template_items[tid]) for tid in template_ids if tid in self.template_items}

    def issue(self, user_id: str, coupon: dict[str, Any]) -> None:
        """add_issue's two actions (the caller holds the lock)."""
        template = self.template_items.get(coupon["template_id"])
        if template is None or template["issued"] >= template["total"]:
            raise NoneLeft()
        if template["updated_at"] != coupon["template_updated_at"]:
            raise TemplateChanged()
        template["issued"] += 1
        self.coupon_items.setdefault(user_id, {})[coupon["coupon_id"]] = copy.deepcopy(coupon)

    def claim(self, user_id: str, coupon: dict[str, Any], per_user_limit: int) -> None:
        with self.lock_:
            key = (user_id, coupon["template_id"])
            if self.claim_counts.get(key, 0) >= per_user_limit:
                raise ClaimLimitReached()
            self.issue(user_id, coupon)
            self.claim_counts[key] = self.claim_counts.get(key, 0) + 1

    def claimed_counts(self, user_id: str, template_ids: list[str]) -> dict[str, int]:
        return {tid: self.claim_counts[(user_id, tid)] for tid in template_ids if (user_id, tid) in self.claim_counts}

    def user_coupons(
        self, user_id: str, limit: int | None, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], None]:
        ordered = sorted(self.coupon_items.get(user_id, {}).values(), key=lambda c: c["coupon_id"], reverse=True)
        return copy.deepcopy(ordered if limit is None else ordered[:limit]), None

    def user_coupon(self, user_id: str, coupon_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.coupon_items.get(user_id, {}).get(coupon_id))

    def wallet(self, user_id: str, now: datetime) -> list[dict[str, Any]]:
        """Unused, unlocked, not expired: what the wallet entries of DynamoCouponsRepository hold."""
        coupons, _ = self.user_coupons(user_id, None, None)
        return [c for c in coupons if c["status"] == "unused" and not c.get("locked_by")
                and parse_iso(c["valid_to"]) > now]  # fmt: skip

    def wallet_slice(self, user_id: str, now: datetime) -> PendingSlice[list[dict[str, Any]]]:
        return PendingSlice(None, user_id, "", "", lambda _: self.wallet(user_id, now))

    def lock(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        with self.lock_:
            coupon = self.coupon_items.get(user_id, {}).get(coupon_id)
            if coupon is None:
                return False
            usable = (
                coupon["status"] == "unused"
                and not coupon.get("locked_by")
                and coupon["valid_from"] <= now < coupon["valid_to"]
            )
            if coupon.get("locked_by") != order_id and not usable:
                return False
            coupon.update(locked_by=order_id, locked_at=now)
            return True

    def release(self, user_id: str, coupon_id: str, order_id: str) -> bool:
        with self.lock_:
            coupon = self.coupon_items.get(user_id, {}).get(coupon_id)
            if coupon is None or coupon.get("locked_by") != order_id or coupon["status"] != "unused":
                return False
            coupon.update(locked_by=None, locked_at=None)
            return True

    def mark_used(self, user_id: str, coupon_id: str, order_id: str, now: str) -> bool:
        with self.lock_:
            coupon = self.coupon_items.get(user_id, {}).get(coupon_id)
            if coupon is None or coupon.get("locked_by") != order_id or coupon["status"] != "unused":
                return False
            coupon.update(status="used", used_at=now)
            return True

    def give_back(self, user_id: str, coupon_id: str, order_id: str) -> bool:
        """add_give_back's action (an order's transaction calls it): used by this order -> unused and free."""
        with self.lock_:
            coupon = self.coupon_items.get(user_id, {}).get(coupon_id)
            if coupon is None or coupon.get("locked_by") != order_id or coupon["status"] != "used":
                return False
            coupon.update(status="unused", locked_by=None, locked_at=None, used_at=None)
            return True
