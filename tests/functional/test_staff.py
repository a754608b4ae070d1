"""Staff accounts by role, the customers staff look after (search, detail, disable/enable), the audit log of every
staff write and the orders export."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login, register_with_phone

STAFF_PASSWORD = "staff password 42"


def create_staff(client: ShopClient, admin_token: str, username: str, role: str) -> str:
    """The new staff member's access token."""
    body = {"username": username, "password": STAFF_PASSWORD, "role": role}
    status, created, _ = client.call("POST", "/admin/staff", body, token=admin_token)
    assert status == 201, created
    status, session, _ = client.call("POST", "/auth/login", {"username": username, "password": STAFF_PASSWORD})
    assert status == 200, session
    return str(session["access_token"])


def user_id_of(client: ShopClient, token: str) -> str:
    return str(client.call("GET", "/me", token=token)[1]["user_id"])


def test_an_admin_creates_a_staff_member_who_signs_in_with_their_one_role(client: ShopClient, admin_token: str) -> None:
    # GIVEN an admin WHEN they create an operator
    body = {"username": "op_li", "password": STAFF_PASSWORD, "role": "operator", "nickname": "小李"}
    status, created, _ = client.call("POST", "/admin/staff", body, token=admin_token)

    # THEN the operator exists, signs in with roles [operator], is listed, and the username cannot be taken twice
    assert status == 201, created
    assert (created["username"], created["role"], created["status"]) == ("op_li", "operator", "ACTIVE")
    session = client.call("POST", "/auth/login", {"username": "op_li", "password": STAFF_PASSWORD})[1]
    assert session["user"]["roles"] == ["operator"]
    listed = client.call("GET", "/admin/staff", token=admin_token)[1]["items"]
    assert [(m["user_id"], m["role"]) for m in listed] == [(created["user_id"], "operator")]
    assert client.call("POST", "/admin/staff", body, token=admin_token)[0] == 409


def test_a_weak_staff_password_or_an_unknown_role_is_refused(client: ShopClient, admin_token: str) -> None:
    weak = {"username": "op_wang", "password": "password123", "role": "operator"}
    unknown = {"username": "op_wang", "password": STAFF_PASSWORD, "role": "boss"}

    assert client.call("POST", "/admin/staff", weak, token=admin_token)[1]["code"] == "WEAK_PASSWORD"
    assert client.call("POST", "/admin/staff", unknown, token=admin_token)[1]["code"] == "VALIDATION_ERROR"


def test_a_staff_role_change_applies_to_the_members_current_token_and_disabling_locks_them_out(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN a service agent, signed in
    token = create_staff(client, admin_token, "kf_zhao", "service")
    staff_id = user_id_of(client, token)
    assert client.call("GET", "/admin/orders", token=token)[0] == 200

    # WHEN the admin makes them an analyst THEN their token is an analyst's
    status, changed, _ = client.call("PATCH", f"/admin/staff/{staff_id}", {"role": "analyst"}, token=admin_token)
    assert (status, changed["role"]) == (200, "analyst")
    assert client.call("GET", "/admin/orders", token=token)[0] == 403

    # WHEN the admin disables them THEN their token dies and good credentials get 403 ACCOUNT_DISABLED
    client.call("PATCH", f"/admin/staff/{staff_id}", {"status": "DISABLED"}, token=admin_token)
    assert client.call("GET", "/admin/analytics/summary?from=2026-01-01&to=2026-01-02", token=token)[0] == 401
    status, body, _ = client.call("POST", "/auth/login", {"username": "kf_zhao", "password": STAFF_PASSWORD})
    assert (status, body["code"]) == (403, "ACCOUNT_DISABLED")


def test_an_admin_cannot_demote_themself_and_a_customer_is_no_staff_member(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    admin_id = user_id_of(client, admin_token)
    customer_id = user_id_of(client, customer_token)

    assert client.call("PATCH", f"/admin/staff/{admin_id}", {"role": "analyst"}, token=admin_token)[0] == 409
    assert client.call("PATCH", f"/admin/staff/{customer_id}", {"role": "analyst"}, token=admin_token)[0] == 404


def test_staff_find_customers_by_username_prefix_and_exact_phone(client: ShopClient, admin_token: str) -> None:
    # GIVEN three customers, one with a phone, and a service agent
    register_and_login(client, "zhang_san")
    register_and_login(client, "zhang_si")
    register_and_login(client, "li_si")
    assert register_with_phone(client, "wang_wu", "13800138000")[0] == 201
    agent = create_staff(client, admin_token, "kf_qian", "service")

    # WHEN the agent searches THEN a prefix finds by username, a phone finds exactly its owner, staff never show
    by_name = client.call("GET", "/admin/customers?username=ZHANG", token=agent)[1]["items"]
    assert [c["username"] for c in by_name] == ["zhang_san", "zhang_si"]
    by_phone = client.call("GET", "/admin/customers?phone=13800138000", token=agent)[1]["items"]
    assert [(c["username"], c["phone"], c["status"]) for c in by_phone] == [("wang_wu", "138****8000", "ACTIVE")]
    names, cursor = [], ""
    for _ in range(5):
        listed = client.call("GET", f"/admin/customers?page_size=2&cursor={cursor}", token=agent)[1]
        names += [c["username"] for c in listed["items"]]
        if not (cursor := listed["next_cursor"]):
            break
    assert names == ["li_si", "wang_wu", "zhang_san", "zhang_si"]


def test_a_customers_detail_shows_orders_count_total_paid_and_points(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    customer_id = user_id_of(client, customer_token)
    checked_in = client.call("POST", "/me/checkins", token=customer_token)[1]

    status, detail, _ = client.call("GET", f"/admin/customers/{customer_id}", token=admin_token)

    assert status == 200, detail
    assert (detail["username"], detail["orders_count"], detail["total_paid_fen"]) == ("alice", 0, 0)
    assert (detail["level"], detail["growth"]) == (1, checked_in["growth"])
    assert {"points_balance", "created_at", "status"} <= set(detail)
    assert client.call("GET", "/admin/customers/u_nobody", token=admin_token)[0] == 404


def test_a_disabled_customer_cannot_sign_in_refresh_or_use_their_token_until_enabled(
    client: ShopClient, admin_token: str
) -> None:
    # GIVEN a signed-in customer
    client.call("POST", "/auth/register", {"username": "bob", "password": "correct horse 1"})
    session = client.call("POST", "/auth/login", {"username": "bob", "password": "correct horse 1"})[1]
    bob = session["user"]["user_id"]

    # WHEN an admin disables them
    status, disabled, _ = client.call("POST", f"/admin/customers/{bob}/disable", {"reason": "刷单"}, token=admin_token)

    # THEN sign-in with good credentials is 403 ACCOUNT_DISABLED, the refresh token and access token are dead
    assert (status, disabled["status"]) == (200, "DISABLED")
    status, body, _ = client.call("POST", "/auth/login", {"username": "bob", "password": "correct horse 1"})
    assert (status, body["code"]) == (403, "ACCOUNT_DISABLED")
    assert client.call("POST", "/auth/login", {"username": "bob", "password": "wrong horse 1"})[0] == 401
    assert client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})[0] == 401
    assert client.call("GET", "/me", token=session["access_token"])[0] == 401

    # WHEN enabled again THEN they sign in
    status, enabled, _ = client.call("POST", f"/admin/customers/{bob}/enable", token=admin_token)
    assert (status, enabled["status"]) == (200, "ACTIVE")
    assert client.call("POST", "/auth/login", {"username": "bob", "password": "correct horse 1"})[0] == 200


def test_staff_see_a_deleted_account_as_deleted(client: ShopClient, admin_token: str) -> None:
    token = register_and_login(client, "dave")
    dave = user_id_of(client, token)
    assert client.call("DELETE", "/me", {"password": "correct horse 1"}, token=token)[0] == 204

    detail = client.call("GET", f"/admin/customers/{dave}", token=admin_token)[1]

    assert detail["status"] == "DELETED"
    assert client.call("POST", f"/admin/customers/{dave}/disable", {"reason": "x"}, token=admin_token)[0] == 409


def test_every_staff_write_is_audited_refused_ones_too_and_searchable(client: ShopClient, admin_token: str) -> None:
    # GIVEN an operator who sets a stock and tries to create a staff member (not theirs to do)
    create_catalog(client, admin_token)
    product = create_product(client, admin_token, "华为 Mate 60")
    operator = create_staff(client, admin_token, "op_sun", "operator")
    operator_id = user_id_of(client, operator)
    sku_id = f"{product['product_id']}-01"
    status, _, headers = client.call("PATCH", f"/admin/skus/{sku_id}/stock", {"stock": 5}, token=operator)
    assert status == 200
    refused = client.call("POST", "/admin/staff", {"username": "x_y", "password": "p", "role": "admin"}, token=operator)
    assert refused[0] == 403

    # WHEN the admin reads the audit log by actor
    status, found, _ = client.call("GET", f"/admin/audit-log?actor_id={operator_id}", token=admin_token)

    # THEN both writes are there, newest first, with the route template, target, request id and status
    assert status == 200, found
    assert [(e["action"], e["target"], e["status"]) for e in found["items"]] == [
        ("POST /admin/staff", None, 403),
        ("PATCH /admin/skus/{sku_id}/stock", sku_id, 200),
    ]
    entry = found["items"][1]
    assert entry["actor"] == {"user_id": operator_id, "username": "op_sun", "role": "operator"}
    assert entry["request_id"] == headers["X-Request-Id"]
    by_request = client.call("GET", f"/admin/audit-log?request_id={entry['request_id']}", token=admin_token)[1]
    assert [e["audit_id"] for e in by_request["items"]] == [entry["audit_id"]]
    by_target = client.call("GET", f"/admin/audit-log?target={sku_id}", token=admin_token)[1]
    assert [e["audit_id"] for e in by_target["items"]] == [entry["audit_id"]]
    action = "PATCH /admin/skus/{sku_id}/stock".replace("/", "%2F").replace(" ", "%20").replace("{", "%7B")
    by_action = client.call("GET", f"/admin/audit-log?action={action.replace('}', '%7D')}", token=admin_token)[1]
    assert [e["audit_id"] for e in by_action["items"]] == [entry["audit_id"]]
    # AND the admin's own product creation is there too; an operator may not read the log
    everything = client.call("GET", "/admin/audit-log?page_size=100", token=admin_token)[1]["items"]
    assert ("POST /admin/products", product["product_id"]) in [(e["action"], e["target"]) for e in everything]
    assert client.call("GET", "/admin/audit-log", token=operator)[0] == 403


def test_the_audit_log_is_paged_newest_first_and_a_time_range_narrows_it(client: ShopClient, admin_token: str) -> None:
    for name in ("a_one", "a_two", "a_three"):
        create_staff(client, admin_token, name, "analyst")

    first = client.call("GET", "/admin/audit-log?action=POST%20%2Fadmin%2Fstaff&page_size=2", token=admin_token)[1]
    cursor = first["next_cursor"]
    rest = client.call("GET", f"/admin/audit-log?action=POST%20%2Fadmin%2Fstaff&cursor={cursor}", token=admin_token)
    long_ago = client.call("GET", "/admin/audit-log?from=2020-01-01&to=2020-01-31", token=admin_token)[1]

    targets = [e["target"] for e in first["items"] + rest[1]["items"]]
    assert len(targets) == 3 and len(set(targets)) == 3
    assert [e["at"] for e in first["items"]] == sorted((e["at"] for e in first["items"]), reverse=True)
    assert long_ago["items"] == []


def order_for_export(client: ShopClient, admin_token: str, customer_token: str) -> dict[str, Any]:
    create_catalog(client, admin_token)
    sku_id = f"{create_product(client, admin_token, '华为 Mate 60')['product_id']}-01"
    address = {
        "receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "=HYPERLINK(\"x\")",
        "district": "南山区", "detail": "科技园 1 号",
    }  # fmt: skip
    address_id = client.call("POST", "/me/addresses", address, token=customer_token)[1]["address_id"]
    body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
    status, order, _ = client.call("POST", "/orders", body, token=customer_token, **{"Idempotency-Key": "exp-1"})
    assert status == 201, order
    return dict(order)


def test_the_orders_export_is_csv_with_a_bom_and_neutralised_formulas(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    # GIVEN an order whose address starts with a formula, and an analyst
    order = order_for_export(client, admin_token, customer_token)
    analyst = create_staff(client, admin_token, "bi_zhou", "analyst")
    today = shanghai_day(order["created_at"])  # the export's days are the shop's (Asia/Shanghai) days

    # WHEN the analyst exports the days around it
    response = client.http.get(
        f"/admin/orders/export.csv?from=2020-01-01&to={today}".replace("2020-01-01", _days_before(today, 3)),
        headers={"authorization": f"Bearer {analyst}"},
    )

    # THEN it is UTF-8 CSV with a BOM, a header, the order's row, and the formula quoted
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.body.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text[1:].splitlines()
    assert lines[0].startswith("order_id,order_no,created_at,status,")
    assert len(lines) == 2 and lines[1].startswith(order["order_id"])
    assert "'=HYPERLINK" in lines[1] and ",=HYPERLINK" not in lines[1]


def test_the_orders_export_refuses_more_than_92_days_and_operators(client: ShopClient, admin_token: str) -> None:
    operator = create_staff(client, admin_token, "op_wu", "operator")

    too_long = client.call("GET", "/admin/orders/export.csv?from=2026-01-01&to=2026-04-30", token=admin_token)
    not_theirs = client.call("GET", "/admin/orders/export.csv?from=2026-01-01&to=2026-01-31", token=operator)

    assert (too_long[0], too_long[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (not_theirs[0], not_theirs[1]["code"]) == (403, "FORBIDDEN")


def _days_before(day: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def test_the_migration_lists_customers_registered_before_the_directory_once(
    client: ShopClient, admin_token: str, customer_token: str
) -> None:
    import boto3

    from chalicelib.accounts.directory import DynamoAccountsDirectory
    from chalicelib.config import get_settings
    from infra.migrations import customer_directory

    table = get_settings().accounts_table
    dynamodb = boto3.client("dynamodb")
    for shard in range(8):  # as stored before the directory existed: no NAMES# entry
        for item in dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"NAMES#{shard}"}},
        )["Items"]:
            dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    assert client.call("GET", "/admin/customers?username=alice", token=admin_token)[1]["items"] == []

    first = customer_directory.run(DynamoAccountsDirectory())
    second = customer_directory.run(DynamoAccountsDirectory())

    assert first["written"] >= 1 and second["written"] == 0
    found = client.call("GET", "/admin/customers?username=alice", token=admin_token)[1]["items"]
    assert [customer["username"] for customer in found] == ["alice"]


def shanghai_day(moment: str) -> str:
    return (
        datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    )
