"""Points rules: the ledger and balance (credit, debit, idempotent by reference), grants, rewards and exchanges."""

from __future__ import annotations

import time
from typing import Any, Protocol

from chalicelib.clock import iso, now_iso, utcnow
from chalicelib.coupons import service as coupons
from chalicelib.coupons.domain import NoneLeft
from chalicelib.coupons.repository import CouponsRepository
from chalicelib.errors import NotFound, OutOfStock, ValidationError
from chalicelib.ids import new_id
from chalicelib.pagination import PageQuery, decode_cursor, encode_cursor, page
from chalicelib.points.domain import MAX_POINTS_PER_POSTING, AlreadyPosted, ExchangeChanged, NotEnoughPoints, new_entry
from chalicelib.points.repository import PointsRepository
from chalicelib.points.rules import PointsRules, describe
from chalicelib.points.schemas import ExchangeWrite, GrantWrite, RewardUpdate, RewardWrite, RulesWrite
from chalicelib.retry import retrying

ATTEMPTS = 3
MAX_REF_CHARS = 200
PUBLIC_REWARD_FIELDS = ("reward_id", "kind", "title", "image_url", "points", "coupon_template_id", "cash_fen")


RULES_TTL_SECONDS = 30.0


class RulesCache:
    """The points rules as pricing reads them on every order: kept briefly per warm container (they change rarely;
    an edit here forgets them at once)."""

    def __init__(self) -> None:
        self._rules: PointsRules | None = None
        self._read_at = 0.0

    def get(self, repo: PointsRepository) -> PointsRules:
        if self._rules is None or time.monotonic() - self._read_at > RULES_TTL_SECONDS:
            self._rules = PointsRules.from_record(repo.points_rules())
            self._read_at = time.monotonic()
        return self._rules

    def forget(self) -> None:
        self._rules = None


rules_cache = RulesCache()


def current_rules(repo: PointsRepository) -> dict[str, Any]:
    """GET /points/rules: the rules in force, with their Markdown explanation."""
    return describe(PointsRules.from_record(repo.points_rules()))


def set_rules(repo: PointsRepository, write: RulesWrite) -> dict[str, Any]:
    """PUT /admin/points/rules: pricing and earning use them from now on; placed orders keep the values they were
    placed under."""
    summary = [write.summary] if isinstance(write.summary, str) else list(write.summary)
    repo.save_points_rules(
        {**write.model_dump(), "summary": [line for line in summary if line], "updated_at": now_iso()}
    )
    rules_cache.forget()
    return current_rules(repo)


class ExchangeOrders(Protocol):
    """Where goods exchanged for points become an order (the orders context answers it)."""

    def place(
        self, user_id: str, reward: dict[str, Any], quantity: int, address_id: str, exchange_id: str
    ) -> dict[str, Any]:
        """The points_exchange order shipping `quantity` of the goods reward to my address (404 not mine): the
        points, the reward's stock, the order and the exchange's record in one transaction (409 CONFLICT short of
        points, 409 OUT_OF_STOCK); PAID at once when it costs no cash, else PENDING_PAYMENT. Its view."""
        ...


def _check(points: int, ref: str) -> None:
    if not 0 < points <= MAX_POINTS_PER_POSTING:
        raise ValidationError(
            "points must be a positive whole number",
            errors=[{"field": "points", "message": f"Must be 1..{MAX_POINTS_PER_POSTING}."}],
        )
    if not 0 < len(ref) <= MAX_REF_CHARS:
        raise ValidationError(
            "ref must be 1..200 characters",
            errors=[{"field": "ref", "message": f"Must be 1..{MAX_REF_CHARS} characters."}],
        )


def credit(repo: PointsRepository, user_id: str, points: int, reason: str, ref: str) -> bool:
    """Add points with a ledger entry; False (nothing changes) when this ref was posted before. 404: no user."""
    _check(points, ref)
    try:
        repo.post(user_id, new_entry(points, reason, ref, utcnow()))
    except AlreadyPosted:
        return False
    return True


def debit(repo: PointsRepository, user_id: str, points: int, reason: str, ref: str) -> bool:
    """Take points off with a ledger entry, never below zero (409 CONFLICT "not enough points"); False when this
    ref was posted before."""
    _check(points, ref)
    try:
        repo.post(user_id, new_entry(-points, reason, ref, utcnow()))
    except AlreadyPosted:
        return False
    except NotEnoughPoints as error:
        raise NotEnoughPoints(f"Not enough points: {points} needed, {repo.balance(user_id) or 0} held") from error
    return True


def my_points(repo: PointsRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    """The balance and the ledger, newest first."""
    scope = f"points|{user_id}"
    entries, last_key = repo.ledger(user_id, query.page_size, decode_cursor(query.cursor, scope))
    return {"balance": repo.balance(user_id) or 0, **page(entries, encode_cursor(last_key, scope))}


def grant(repo: PointsRepository, write: GrantWrite) -> dict[str, Any]:
    """Support and demo grants: idempotent by ref (a generated one when none is given)."""
    grant_id = new_id("g")
    ref = f"grant:{write.ref}" if write.ref else f"grant:{grant_id}"
    if repo.balance(write.user_id) is None:
        raise NotFound("No such user")
    newly = credit(repo, write.user_id, write.points, write.reason, ref)
    balance = repo.balance(write.user_id) or 0
    return {"grant_id": grant_id, "user_id": write.user_id, "points": write.points, "ref": ref,
            "newly_granted": newly, "balance": balance}  # fmt: skip


# -- rewards --------------------------------------------------------------------------------------------------------


def _remaining(reward: dict[str, Any], templates: dict[str, dict[str, Any]]) -> int:
    if reward["kind"] == "goods":
        return max(int(reward["stock"] or 0), 0)
    template = templates.get(reward["coupon_template_id"])
    return max(template["total"] - template["issued"], 0) if template else 0


def _public(reward: dict[str, Any], templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    shown = {name: reward.get(name) for name in PUBLIC_REWARD_FIELDS}
    return {**shown, "cash_fen": reward.get("cash_fen") or 0, "remaining": _remaining(reward, templates)}


def _admin(reward: dict[str, Any], templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = ("stock", "exchanged", "active", "created_at", "updated_at")
    return {**_public(reward, templates), **{name: reward[name] for name in names}}


def create_reward(repo: PointsRepository, coupon_repo: CouponsRepository, write: RewardWrite) -> dict[str, Any]:
    templates: dict[str, dict[str, Any]] = {}
    title = write.title
    if write.kind == "coupon":
        coupons.make_exchange_only(coupon_repo, str(write.coupon_template_id))  # sold here, so not free to claim
        template = coupon_repo.template(str(write.coupon_template_id))
        if template is None:
            raise NotFound("No such coupon template", field="coupon_template_id")
        templates[template["template_id"]] = template
        title = title or template["name"]
    now = iso(utcnow())
    reward = {
        **write.model_dump(),
        "reward_id": write.reward_id or new_id("rw"),
        "title": title,
        "exchanged": 0,
        "created_at": now,
        "updated_at": now,
    }
    repo.create_reward(reward)
    return _admin(reward, templates)


def update_reward(
    repo: PointsRepository, coupon_repo: CouponsRepository, reward_id: str, write: RewardUpdate
) -> dict[str, Any]:
    current = repo.reward(reward_id)
    if current is None:
        raise NotFound("No such reward")
    changes = write.model_dump(exclude_unset=True)
    if any(value is None for name, value in changes.items() if name != "image_url"):
        raise ValidationError(
            "Fields cannot be set to null",
            errors=[{"field": "(body)", "message": "Fields cannot be null: leave them out to keep them."}],
        )
    for name in ("stock", "cash_fen"):
        if name in changes and current["kind"] != "goods" and (name == "stock" or changes[name]):
            raise ValidationError(
                f"Only goods rewards have {name}",
                errors=[{"field": name, "message": f"Only goods rewards have {name}: leave it out."}],
            )
    changes["updated_at"] = iso(utcnow())
    reward = repo.update_reward(reward_id, changes)
    return _admin(reward, _templates_of(coupon_repo, [reward]))


def _templates_of(coupon_repo: CouponsRepository, rewards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [r["coupon_template_id"] for r in rewards if r["kind"] == "coupon" and r["coupon_template_id"]]
    return coupon_repo.templates_by_ids(ids) if ids else {}


def list_rewards(
    repo: PointsRepository, coupon_repo: CouponsRepository, query: PageQuery, admin: bool = False
) -> dict[str, Any]:
    """The exchange store (active rewards, with what is left); admin: every reward with counts."""
    scope = f"rewards|{'admin' if admin else 'public'}"
    rewards, last_key = repo.rewards(query.page_size, decode_cursor(query.cursor, scope))
    if not admin:
        rewards = [r for r in rewards if r["active"]]
    templates = _templates_of(coupon_repo, rewards)
    view = _admin if admin else _public
    return page([view(r, templates) for r in rewards], encode_cursor(last_key, scope))


# -- exchanges ------------------------------------------------------------------------------------------------------


def exchange(
    repo: PointsRepository,
    coupon_repo: CouponsRepository,
    orders: ExchangeOrders,
    user_id: str,
    write: ExchangeWrite,
) -> dict[str, Any]:
    """POST /points/exchange: a coupon at once, or goods as an order of kind points_exchange shipped to my address
    (none 400, not mine 404); the points are taken at once, in the same transaction as the reward's stock. 409
    CONFLICT when the points are short, 409 OUT_OF_STOCK when sold out, 404 for no such (active) reward."""
    reward = repo.reward(write.reward_id)
    if reward is None or not reward["active"]:
        raise NotFound("No such reward")
    if reward["kind"] == "coupon":
        if write.quantity != 1:
            raise ValidationError(
                "A coupon reward is exchanged one at a time",
                errors=[{"field": "quantity", "message": "Must be 1 for a coupon reward."}],
            )
        return {**_exchange_coupon(repo, coupon_repo, user_id, write.reward_id), "cash_fen": 0, "order_id": None}
    if write.address_id is None:
        raise ValidationError(
            "Goods are shipped: give the address_id of one of your addresses",
            errors=[{"field": "address_id", "message": "Required for a goods reward."}],
        )
    if (reward["stock"] or 0) < write.quantity:
        raise OutOfStock(f"Only {max(reward['stock'] or 0, 0)} of this reward left")
    cost, held = reward["points"] * write.quantity, repo.balance(user_id)
    if held is None:
        raise NotFound("No such user")
    if held < cost:
        raise NotEnoughPoints(f"Not enough points: this exchange costs {cost}, you have {held}")
    exchange_id = new_id("ex")
    order = orders.place(user_id, reward, write.quantity, write.address_id, exchange_id)
    return {
        "exchange_id": exchange_id,
        "reward_id": reward["reward_id"],
        "kind": "goods",
        "title": reward["title"],
        "points_spent": cost,
        "quantity": write.quantity,
        "cash_fen": int(order["amounts"]["payable_fen"]),
        "order_id": order["order_id"],
        "coupon_id": None,
        "at": order["created_at"],
    }


def _exchange_coupon(
    repo: PointsRepository, coupon_repo: CouponsRepository, user_id: str, reward_id: str
) -> dict[str, Any]:
    """A coupon for points, in one transaction with the coupon's issue and the record."""

    def attempt() -> dict[str, Any]:
        reward = repo.reward(reward_id)
        if reward is None or not reward["active"]:
            raise NotFound("No such reward")
        now = utcnow()
        coupon = None
        if reward["kind"] == "goods" and (reward["stock"] or 0) <= 0:
            raise OutOfStock("This reward is sold out")
        if reward["kind"] == "coupon":
            template = coupon_repo.template(str(reward["coupon_template_id"]))
            if template is None or template["issued"] >= template["total"]:
                raise OutOfStock("This coupon is sold out")
            try:
                coupon = coupons.issue_for_exchange(template, now)
            except NoneLeft as error:
                raise OutOfStock("This coupon is sold out") from error
        held = repo.balance(user_id)
        if held is None:
            raise NotFound("No such user")
        if held < reward["points"]:
            raise NotEnoughPoints(f"Not enough points: this reward costs {reward['points']}, you have {held}")
        exchange_id = new_id("ex")
        record = {
            "exchange_id": exchange_id,
            "reward_id": reward_id,
            "kind": reward["kind"],
            "title": reward["title"],
            "points_spent": reward["points"],
            "coupon_id": coupon["coupon_id"] if coupon else None,
            "at": iso(now),
        }
        entry = new_entry(-reward["points"], f"兑换：{reward['title']}", f"exchange:{exchange_id}", now)
        try:
            repo.exchange(user_id, record, entry, reward, coupon)
        except NotEnoughPoints as error:
            held = repo.balance(user_id) or 0
            raise NotEnoughPoints(
                f"Not enough points: this reward costs {reward['points']}, you have {held}"
            ) from error
        return {**record, "quantity": 1}

    return retrying(attempt, ATTEMPTS, retry_on=ExchangeChanged)


def my_exchanges(repo: PointsRepository, user_id: str, query: PageQuery) -> dict[str, Any]:
    scope = f"exchanges|{user_id}"
    items, last_key = repo.exchanges(user_id, query.page_size, decode_cursor(query.cursor, scope))
    return page(items, encode_cursor(last_key, scope))
