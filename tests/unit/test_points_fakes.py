"""An in-memory PointsRepository over a FakeCouponsRepository: the same conditions, no AWS (no tests here)."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.coupons.domain import NoneLeft, TemplateChanged
from chalicelib.dynamo import PendingRead
from chalicelib.errors import Conflict, NotFound, OutOfStock
from chalicelib.points.domain import AlreadyPosted, ExchangeChanged, NotEnoughPoints
from tests.unit.test_coupons_fakes import FakeCouponsRepository


class FakePointsRepository:
    def __init__(self, coupons: FakeCouponsRepository) -> None:
        self.coupons = coupons  # shares its lock: an exchange is one transaction over both
        self.balances: dict[str, int] = {}
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.refs: set[tuple[str, str]] = set()
        self.reward_items: dict[str, dict[str, Any]] = {}
        self.exchange_items: dict[str, list[dict[str, Any]]] = {}
        self.rules_record: dict[str, Any] | None = None

    def add_user(self, user_id: str, balance: int = 0) -> None:
        self.balances[user_id] = balance

    def points_rules(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.rules_record)

    def save_points_rules(self, rules: dict[str, Any]) -> None:
        self.rules_record = copy.deepcopy(rules)

    def balance(self, user_id: str) -> int | None:
        return self.balances.get(user_id)

    def balance_read(self, user_id: str) -> PendingRead[int | None]:
        return PendingRead(None, None, lambda _: self.balance(user_id))

    def _post(self, user_id: str, entry: dict[str, Any]) -> None:
        if (user_id, entry["ref"]) in self.refs:
            raise AlreadyPosted()
        if user_id not in self.balances:
            raise NotFound("No such user")
        if entry["delta"] < 0 and self.balances[user_id] < -entry["delta"]:
            raise NotEnoughPoints()

    def _apply(self, user_id: str, entry: dict[str, Any]) -> None:
        self.refs.add((user_id, entry["ref"]))
        self.balances[user_id] += entry["delta"]
        self.entries.setdefault(user_id, []).append(copy.deepcopy(entry))

    def post(self, user_id: str, entry: dict[str, Any]) -> None:
        with self.coupons.lock_:
            self._post(user_id, entry)
            self._apply(user_id, entry)

    def ledger(self, user_id: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], None]:
        newest_first = sorted(self.entries.get(user_id, []), key=lambda e: e["order_key"], reverse=True)
        return [{k: e[k] for k in ("entry_id", "delta", "reason", "ref", "at")} for e in newest_first[:limit]], None

    def create_reward(self, reward: dict[str, Any]) -> None:
        if reward["reward_id"] in self.reward_items:
            raise Conflict("A reward with this id exists")
        self.reward_items[reward["reward_id"]] = copy.deepcopy(reward)

    def update_reward(self, reward_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        if reward_id not in self.reward_items:
            raise NotFound("No such reward")
        self.reward_items[reward_id].update(changes)
        return copy.deepcopy(self.reward_items[reward_id])

    def reward(self, reward_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.reward_items.get(reward_id))

    def rewards(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], None]:
        return copy.deepcopy(sorted(self.reward_items.values(), key=lambda r: r["reward_id"])[:limit]), None

    def exchange(
        self,
        user_id: str,
        exchange: dict[str, Any],
        entry: dict[str, Any],
        reward: dict[str, Any],
        coupon: dict[str, Any] | None,
    ) -> None:
        with self.coupons.lock_:
            current = self.reward_items.get(reward["reward_id"])
            if current is None or not current["active"]:
                raise NotFound("No such reward")
            if current["updated_at"] != reward["updated_at"]:
                raise ExchangeChanged()
            if current["kind"] == "goods" and current["stock"] <= 0:
                raise OutOfStock("This reward is sold out")
            self._post(user_id, entry)
            if coupon is not None:
                template = self.coupons.template_items.get(coupon["template_id"])
                if template is None or template["issued"] >= template["total"]:
                    raise ExchangeChanged() from NoneLeft()
                if template["updated_at"] != coupon["template_updated_at"]:
                    raise ExchangeChanged() from TemplateChanged()
                self.coupons.issue(user_id, coupon)
            self._apply(user_id, entry)
            if current["kind"] == "goods":
                current["stock"] -= 1
            current["exchanged"] += 1
            self.exchange_items.setdefault(user_id, []).append(copy.deepcopy(exchange))

    def exchanges(self, user_id: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], None]:
        return copy.deepcopy(list(reversed(self.exchange_items.get(user_id, [])))[:limit]), None
