"""Points through the HTTP API on moto: rules, grants, the ledger, idempotent postings, the exchange store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.tokens import verify_access_token
from chalicelib.clock import iso, utcnow
from chalicelib.dynamo import connection
from chalicelib.errors import Conflict
from chalicelib.points import rules, service
from chalicelib.points.repository import DynamoPointsRepository, add_credit, add_debit
from tests.functional.conftest import ShopClient, register_and_login


def user_id_of(token: str) -> str:
    claims = verify_access_token(token)
    assert claims is not None
    return claims.user_id


def grant(client: ShopClient, admin_token: str, user_id: str, points: int, **extra: Any) -> dict[str, Any]:
    body = {"user_id": user_id, "points": points, "reason": "客服补偿", **extra}
    status, answer, _ = client.call("POST", "/admin/points/grants", body, token=admin_token)
    assert status == 201, answer
    return dict(answer)


def my_points(client: ShopClient, token: str, query: str = "") -> dict[str, Any]:
    status, body, _ = client.call("GET", f"/me/points{query}", token=token)
    assert status == 200, body
    return dict(body)


def coupon_template(client: ShopClient, admin_token: str, total: int = 5) -> str:
    body = {
        "template_id": "ex_10", "name": "积分兑换 满50减10", "type": "amount_off", "amount_off_fen": 1000,
        "threshold_fen": 5000, "valid_days": 30, "per_user_limit": 1, "total": total,
    }  # fmt: skip
    status, answer, _ = client.call("POST", "/admin/coupons", body, token=admin_token)
    assert status == 201, answer
    return str(answer["template_id"])


def reward(client: ShopClient, admin_token: str, **body: Any) -> dict[str, Any]:
    status, answer, _ = client.call("POST", "/admin/points/rewards", body, token=admin_token)
    assert status == 201, answer
    return dict(answer)


def exchange(client: ShopClient, token: str, reward_id: str, **body: Any) -> tuple[int, dict[str, Any]]:
    status, answer, _ = client.call("POST", "/points/exchange", {"reward_id": reward_id, **body}, token=token)
    return status, answer


def address_id_of(client: ShopClient, token: str) -> str:
    """A new address of the token's customer (goods are shipped to one)."""
    address = {"receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
               "district": "南山区", "detail": "科技园 1 栋"}  # fmt: skip
    status, body, _ = client.call("POST", "/me/addresses", address, token=token)
    assert status == 201, body
    return str(body["address_id"])


# -- rules, grants, ledger ------------------------------------------------------------------------------------------


def test_the_rules_are_served_from_the_one_definition(client: ShopClient) -> None:
    status, body, _ = client.call("GET", "/points/rules")

    assert status == 200
    assert body["points_per_yuan_deduction"] == rules.POINTS_PER_YUAN_DEDUCTION == 100
    assert body["max_deduction_share_percent"] == rules.MAX_DEDUCTION_SHARE_PERCENT == 50
    assert body["points_per_yuan_earned"] == rules.POINTS_PER_YUAN_EARNED == 1
    assert body["expires"] is False and body["summary"]
    assert body["earned_when"] == "order_completed"  # credited by settlement, after the return window


def test_a_new_customer_has_no_points_and_an_empty_ledger(client: ShopClient, customer_token: str) -> None:
    assert my_points(client, customer_token) == {"balance": 0, "items": [], "next_cursor": None}


def test_a_grant_shows_in_the_balance_and_the_ledger_newest_first_in_pages(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    user_id = user_id_of(customer_token)
    for points in (100, 200, 300):
        grant(client, admin_token, user_id, points)

    first = my_points(client, customer_token, "?page_size=2")
    second = my_points(client, customer_token, f"?page_size=2&cursor={first['next_cursor']}")

    assert first["balance"] == 600
    assert [e["delta"] for e in first["items"] + second["items"]] == [300, 200, 100]
    assert first["items"][0]["reason"] == "客服补偿" and first["items"][0]["at"].endswith("Z")
    assert client.call("GET", "/me", token=customer_token)[1]["points_balance"] == 600


def test_a_grant_with_a_ref_is_made_once(client: ShopClient, admin_token: str, customer_token: str) -> None:
    user_id = user_id_of(customer_token)

    first = grant(client, admin_token, user_id, 500, ref="demo-seed")
    again = grant(client, admin_token, user_id, 500, ref="demo-seed")

    assert (first["newly_granted"], again["newly_granted"], again["balance"]) == (True, False, 500)
    assert len(my_points(client, customer_token)["items"]) == 1


def test_granting_to_nobody_is_not_found_and_bad_grants_are_refused(client: ShopClient, admin_token: str) -> None:
    status, body, _ = client.call(
        "POST", "/admin/points/grants", {"user_id": "u_nobody", "points": 1, "reason": "x"}, token=admin_token
    )
    assert (status, body["code"]) == (404, "NOT_FOUND")
    for bad in ({"user_id": "u_1", "points": 0, "reason": "x"}, {"user_id": "u_1", "points": 1, "reason": ""},
                {"user_id": "u_1", "points": "1", "reason": "x", "extra": 1}):  # fmt: skip
        status, body, _ = client.call("POST", "/admin/points/grants", bad, token=admin_token)
        assert (status, body["code"]) == (400, "VALIDATION_ERROR"), bad


def test_debits_never_take_the_balance_below_zero_and_each_ref_posts_once(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    user_id = user_id_of(customer_token)
    repo = DynamoPointsRepository()
    grant(client, admin_token, user_id, 300)

    assert service.debit(repo, user_id, 200, "订单抵扣", "order:o_1:deduct") is True
    assert service.debit(repo, user_id, 200, "订单抵扣", "order:o_1:deduct") is False
    with pytest.raises(Conflict) as short:
        service.debit(repo, user_id, 200, "订单抵扣", "order:o_2:deduct")
    assert service.credit(repo, user_id, 200, "订单取消退回", "order:o_1:refund") is True
    assert service.credit(repo, user_id, 200, "订单取消退回", "order:o_1:refund") is False

    assert short.value.code == "CONFLICT" and "not enough points" in short.value.message.lower()
    assert [e["delta"] for e in my_points(client, customer_token)["items"]] == [200, -200, 300]
    assert my_points(client, customer_token)["balance"] == 300


def test_an_orders_transaction_carries_the_debit_and_fails_whole_when_points_are_short(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    user_id = user_id_of(customer_token)
    grant(client, admin_token, user_id, 150)

    with TransactWrite(connection=connection()) as transaction:
        add_debit(transaction, user_id, 100, "订单抵扣", "order:o_1:deduct")
    with pytest.raises(TransactWriteError), TransactWrite(connection=connection()) as transaction:
        add_debit(transaction, user_id, 100, "订单抵扣", "order:o_2:deduct")
    with TransactWrite(connection=connection()) as transaction:
        add_credit(transaction, user_id, 30, "确认收货", "order:o_1:earn")

    assert my_points(client, customer_token)["balance"] == 80
    assert [e["delta"] for e in my_points(client, customer_token)["items"]] == [30, -100, 150]


# -- the exchange store ---------------------------------------------------------------------------------------------


def test_exchanging_for_a_coupon_spends_the_points_and_issues_coupons_beyond_the_claim_limit_never_free(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = coupon_template(client, admin_token)
    offered = reward(client, admin_token, kind="coupon", points=500, coupon_template_id=template_id)
    grant(client, admin_token, user_id_of(customer_token), 1200)
    free = client.call("POST", f"/coupons/{template_id}/claim", token=customer_token)  # sold here: not claimable

    first = exchange(client, customer_token, offered["reward_id"])
    second = exchange(client, customer_token, offered["reward_id"])
    short = exchange(client, customer_token, offered["reward_id"])

    assert first[0] == 201 and second[0] == 201, (first, second)
    assert first[1]["points_spent"] == 500 and first[1]["coupon_id"]
    assert (short[0], short[1]["code"]) == (409, "CONFLICT") and "points" in short[1]["message"]
    assert my_points(client, customer_token)["balance"] == 200
    coupons = client.call("GET", "/me/coupons?status=unused", token=customer_token)[1]["items"]
    assert (free[0], free[1]["code"]) == (409, "NOT_CLAIMABLE")
    assert sorted(c["source"] for c in coupons) == ["exchange", "exchange"]  # per_user_limit 1 binds claims only
    [listed] = client.call("GET", "/points/rewards")[1]["items"]
    assert (listed["title"], listed["remaining"]) == ("积分兑换 满50减10", 3)
    exchanges = client.call("GET", "/me/points/exchanges", token=customer_token)[1]["items"]
    assert [e["exchange_id"] for e in exchanges] == [second[1]["exchange_id"], first[1]["exchange_id"]]


def test_a_coupon_reward_is_sold_out_with_its_template(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = coupon_template(client, admin_token, total=1)
    offered = reward(client, admin_token, kind="coupon", points=10, coupon_template_id=template_id)
    grant(client, admin_token, user_id_of(customer_token), 100)

    assert exchange(client, customer_token, offered["reward_id"])[0] == 201
    status, body = exchange(client, customer_token, offered["reward_id"])

    assert (status, body["code"]) == (409, "OUT_OF_STOCK")
    assert my_points(client, customer_token)["balance"] == 90


def test_goods_are_exchanged_until_the_stock_runs_out(client: ShopClient, admin_token: str) -> None:
    goods = reward(client, admin_token, kind="goods", title="定制帆布袋", image_url="https://img.shop.example/bag.jpg",
                   points=100, stock=2)  # fmt: skip
    alice = register_and_login(client, "alice")
    bob = register_and_login(client, "bob")
    homes = {}
    for token in (alice, bob):
        grant(client, admin_token, user_id_of(token), 1000)
        homes[token] = address_id_of(client, token)

    assert exchange(client, alice, goods["reward_id"], address_id=homes[alice])[0] == 201
    assert exchange(client, bob, goods["reward_id"], address_id=homes[bob])[0] == 201
    status, body = exchange(client, alice, goods["reward_id"], address_id=homes[alice])

    assert (status, body["code"]) == (409, "OUT_OF_STOCK")
    assert my_points(client, alice)["balance"] == 900
    [listed] = client.call("GET", "/points/rewards")[1]["items"]
    assert listed["remaining"] == 0
    [admin_view] = client.call("GET", "/admin/points/rewards", token=admin_token)[1]["items"]
    assert (admin_view["exchanged"], admin_view["stock"]) == (2, 0)


def test_an_admin_restocks_and_withdraws_a_reward(client: ShopClient, admin_token: str, customer_token: str) -> None:
    goods = reward(client, admin_token, kind="goods", title="保温杯", points=100, stock=0)
    grant(client, admin_token, user_id_of(customer_token), 1000)
    path = f"/admin/points/rewards/{goods['reward_id']}"
    home = address_id_of(client, customer_token)

    status, body, _ = client.call("PUT", path, {"stock": 5, "points": 200}, token=admin_token)
    assert (status, body["stock"], body["points"]) == (200, 5, 200)
    assert exchange(client, customer_token, goods["reward_id"], address_id=home)[1]["points_spent"] == 200
    client.call("PUT", path, {"active": False}, token=admin_token)

    assert client.call("GET", "/points/rewards")[1]["items"] == []
    status, body = exchange(client, customer_token, goods["reward_id"], address_id=home)
    assert (status, body["code"]) == (404, "NOT_FOUND")
    status, body, _ = client.call("PUT", "/admin/points/rewards/nope", {"stock": 1}, token=admin_token)
    assert (status, body["code"]) == (404, "NOT_FOUND")


def test_bad_rewards_and_unknown_rewards_are_refused(client: ShopClient, admin_token: str, customer_token: str) -> None:
    for bad in ({"kind": "goods", "points": 10, "stock": 1}, {"kind": "coupon", "points": 10},
                {"kind": "goods", "title": "x", "points": 0, "stock": 1}, {"kind": "car", "points": 1}):  # fmt: skip
        status, body, _ = client.call("POST", "/admin/points/rewards", bad, token=admin_token)
        assert (status, body["code"]) == (400, "VALIDATION_ERROR"), bad
    missing_template = {"kind": "coupon", "points": 10, "coupon_template_id": "nope"}
    status, body, _ = client.call("POST", "/admin/points/rewards", missing_template, token=admin_token)
    assert (status, body["code"]) == (404, "NOT_FOUND")
    status, body = exchange(client, customer_token, "nope")
    assert (status, body["code"]) == (404, "NOT_FOUND")


def test_an_expired_coupon_template_cannot_be_exchanged_for(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    template_id = coupon_template(client, admin_token)
    offered = reward(client, admin_token, kind="coupon", points=10, coupon_template_id=template_id)
    grant(client, admin_token, user_id_of(customer_token), 100)
    now = utcnow()
    window = {"valid_from": iso(now - timedelta(days=2)), "valid_to": iso(now - timedelta(days=1))}
    assert client.call("PUT", f"/admin/coupons/{template_id}", window, token=admin_token)[0] == 200

    status, body = exchange(client, customer_token, offered["reward_id"])

    assert (status, body["code"]) == (409, "INVALID_STATE")
    assert my_points(client, customer_token)["balance"] == 100


def test_another_users_points_and_exchanges_never_show_in_mine(client: ShopClient, admin_token: str) -> None:
    victim = register_and_login(client, "victim")
    intruder = register_and_login(client, "intruder")
    goods = reward(client, admin_token, kind="goods", title="保温杯", points=100, stock=5)
    grant(client, admin_token, user_id_of(victim), 500)
    exchange(client, victim, goods["reward_id"])

    assert my_points(client, intruder) == {"balance": 0, "items": [], "next_cursor": None}
    assert client.call("GET", "/me/points/exchanges", token=intruder)[1]["items"] == []
