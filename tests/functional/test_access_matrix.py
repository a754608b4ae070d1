"""The access matrix over every declared route: anonymous 401, customer on admin 403, another user's object 404.

New routes join the matrix by being declared: a protected route with an id in its path must be listed in
OWNED_OBJECT_ROUTES (with how to make the victim's object and how to check it is untouched) or in
NOT_OWNED_OBJECTS with the reason its id does not name someone else's object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.bootstrap import container
from chalicelib.orders import service
from chalicelib.reviews.domain import ReviewableLine
from chalicelib.routes import OPERATIONS, Operation
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, hand_over, register_and_login

ADDRESS = {
    "receiver": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
    "detail": "科技园 1 号",
}  # fmt: skip


def victims_address(client: ShopClient, victim: str, _admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    status, address, _ = client.call("POST", "/me/addresses", ADDRESS, token=victim)
    assert status == 201, address

    def unchanged() -> Any:
        items = client.call("GET", "/me/addresses", token=victim)[1]["items"]
        assert [(a["address_id"], a["detail"]) for a in items] == [(address["address_id"], ADDRESS["detail"])]

    return {"address_id": address["address_id"]}, unchanged


def victims_reservation(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    create_catalog(client, admin)
    sku_id = f"{create_product(client, admin, '华为 Mate 60 Pro')['product_id']}-02"  # the sold-out one
    status, reservation, _ = client.call("POST", "/me/reservations", {"sku_id": sku_id}, token=victim)
    assert status == 201, reservation

    def unchanged() -> Any:
        items = client.call("GET", "/me/reservations", token=victim)[1]["items"]
        assert [(r["sku_id"], r["reserved_at"]) for r in items] == [(sku_id, reservation["reserved_at"])]

    return {"sku_id": sku_id}, unchanged


class VictimsOrder:
    """The victim's received order, whose every line is a product's, as orders will answer reviews (a stand-in
    until the orders context registers itself)."""

    def __init__(self, user_id: str, order_id: str, product_id: str) -> None:
        self.owner, self.order_id, self.product_id = user_id, order_id, product_id

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        if (user_id, order_id) != (self.owner, self.order_id):
            return None
        return ReviewableLine(product_id=self.product_id, title="华为 Mate 60 Pro", received=True)


def victims_received_order(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    create_catalog(client, admin)
    product_id = create_product(client, admin, "华为 Mate 60 Pro")["product_id"]
    victim_id = client.call("GET", "/me", token=victim)[1]["user_id"]
    restore = hand_over("received_lines", VictimsOrder(victim_id, "o_victim", product_id))

    def unchanged() -> Any:
        restore()
        assert client.call("GET", f"/products/{product_id}/reviews")[1]["items"] == []

    return {"order_id": "o_victim"}, unchanged


def victims_order(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    create_catalog(client, admin)
    sku_id = f"{create_product(client, admin, '华为 Mate 60')['product_id']}-01"
    address_id = client.call("POST", "/me/addresses", ADDRESS, token=victim)[1]["address_id"]
    body = {"address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]}
    status, order, _ = client.call("POST", "/orders", body, token=victim, **{"Idempotency-Key": "victim-1"})
    assert status == 201, order

    def unchanged() -> Any:
        mine = client.call("GET", f"/orders/{order['order_id']}", token=victim)[1]
        assert (mine["status"], len(mine["timeline"])) == ("PENDING_PAYMENT", 1)

    return {"order_id": order["order_id"]}, unchanged


def victims_case(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    """The victim's paid order with a pending after-sales case of one unit."""
    ids, _ = victims_order(client, victim, admin)
    order = client.call("GET", f"/orders/{ids['order_id']}", token=victim)[1]
    paid = service.confirm_payment(container().shop, order["order_id"], "pay-v", order["amounts"]["payable_fen"])
    assert paid["status"] == "PAID", paid
    unit = {"sku_id": order["items"][0]["sku_id"], "quantity": 1}
    body = {"type": "refund_only", "reason": "不想要了", "items": [unit]}
    status, case, _ = client.call("POST", f"/orders/{order['order_id']}/refunds", body, token=victim)
    assert status == 201, case

    def unchanged() -> Any:
        mine = client.call("GET", f"/orders/{order['order_id']}/refunds/{case['refund_id']}", token=victim)[1]
        assert (mine["status"], mine["return_shipment"], len(mine["timeline"])) == ("PENDING", None, 1)

    return {"order_id": order["order_id"], "refund_id": case["refund_id"]}, unchanged


def victims_review(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    create_catalog(client, admin)
    product_id = create_product(client, admin, "华为 Mate 60 Pro")["product_id"]
    victim_id = client.call("GET", "/me", token=victim)[1]["user_id"]
    restore = hand_over("received_lines", VictimsOrder(victim_id, "o_victim", product_id))
    try:
        body = {"items": [{"sku_id": f"{product_id}-01", "rating": 5, "content": "好"}]}
        status, created, _ = client.call("POST", "/orders/o_victim/reviews", body, token=victim)
        assert status == 201, created
    finally:
        restore()

    def unchanged() -> Any:
        assert client.call("GET", "/me/reviews", token=victim)[1]["items"][0]["follow_up"] is None

    return {"review_id": created["items"][0]["review_id"]}, unchanged


def victims_feedback(client: ShopClient, victim: str, _admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    status, filed, _ = client.call("POST", "/feedback", {"type": "bug", "content": "打不开"}, token=victim)
    assert status == 201, filed

    def unchanged() -> Any:
        assert client.call("GET", f"/me/feedback/{filed['feedback_id']}", token=victim)[1]["status"] == "OPEN"

    return {"feedback_id": filed["feedback_id"]}, unchanged


def victims_attempt(client: ShopClient, victim: str, admin: str) -> tuple[dict[str, str], Callable[[], Any]]:
    create_catalog(client, admin)
    sku_id = f"{create_product(client, admin, '华为 Mate 60')['product_id']}-01"
    client.call("POST", "/me/addresses", ADDRESS, token=victim)
    item = {"sku_id": sku_id, "promo_price_fen": 100, "promo_stock": 1, "per_user_limit": 1}
    session = {"title": "秒杀", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z", "items": [item]}
    session_id = client.call("POST", "/admin/flash-sales", session, token=admin)[1]["session_id"]
    path = f"/flash-sales/{session_id}/attempts"
    status, attempt, _ = client.call("POST", path, {"sku_id": sku_id}, token=victim, **{"Idempotency-Key": "v-1"})
    assert status == 202, attempt

    def unchanged() -> Any:
        mine = client.call("GET", f"/flash-sales/attempts/{attempt['attempt_id']}", token=victim)[1]
        assert (mine["attempt_id"], mine["sku_id"]) == (attempt["attempt_id"], sku_id)

    return {"attempt_id": attempt["attempt_id"]}, unchanged


OWNED_OBJECT_ROUTES: dict[tuple[str, str], tuple[Callable[..., Any], dict[str, Any] | None]] = {
    ("PUT", "/me/addresses/{address_id}"): (victims_address, ADDRESS | {"detail": "改掉"}),
    ("DELETE", "/me/addresses/{address_id}"): (victims_address, None),
    ("DELETE", "/me/reservations/{sku_id}"): (victims_reservation, None),
    ("GET", "/orders/{order_id}"): (victims_order, None),
    ("POST", "/orders/{order_id}/cancel"): (victims_order, None),
    ("POST", "/orders/{order_id}/pay"): (victims_order, {"channel": "sandbox"}),
    ("GET", "/orders/{order_id}/payments"): (victims_order, None),
    ("POST", "/orders/{order_id}/receive"): (victims_order, None),
    ("GET", "/orders/{order_id}/tracking"): (victims_order, None),
    ("POST", "/orders/{order_id}/refunds"): (victims_order, {"type": "refund_only", "reason": "不想要了"}),
    ("GET", "/orders/{order_id}/refunds"): (victims_order, None),
    ("GET", "/orders/{order_id}/refunds/{refund_id}"): (victims_case, None),
    ("POST", "/orders/{order_id}/refunds/{refund_id}/cancel"): (victims_case, None),
    ("POST", "/orders/{order_id}/refunds/{refund_id}/return-shipment"): (
        victims_case,
        {"carrier": "SF", "tracking_no": "SF1"},
    ),
    ("POST", "/orders/{order_id}/reviews"): (
        victims_received_order,
        {"items": [{"sku_id": "p_x-01", "rating": 1, "content": "差评"}]},
    ),
    ("POST", "/reviews/{review_id}/follow-ups"): (victims_review, {"content": "追评"}),
    ("GET", "/me/feedback/{feedback_id}"): (victims_feedback, None),
    ("GET", "/flash-sales/attempts/{attempt_id}"): (victims_attempt, None),
}
NOT_OWNED_OBJECTS = {
    ("GET", "/me/favorites/{product_id}"): "a product id: each user reads their own favorite of it",
    ("PUT", "/me/favorites/{product_id}"): "a product id: each user favorites for themselves",
    ("DELETE", "/me/favorites/{product_id}"): "a product id: each user favorites for themselves",
    ("POST", "/me/bindings/{provider}"): "a provider name: binds to the caller's own account",
    ("DELETE", "/me/bindings/{provider}"): "a provider name: unbinds from the caller's own account",
    ("POST", "/coupons/{template_id}/claim"): "a coupon template id: each user claims for themselves",
    ("POST", "/cart/items/{sku_id}/move-to-favorites"): "a SKU id: it names a line of the caller's own cart",
    ("POST", "/flash-sales/{session_id}/attempts"): "a flash sale session id: each buyer attempts for themselves",
}  # PATCH and DELETE /cart/items/{sku_id} take a bearer or a guest cart token: tests/functional/test_guest_cart.py

PROTECTED = [op for op in OPERATIONS if op.auth in ("customer", "admin")]


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", "x_1", path)


def op_id(op: Operation) -> str:
    return f"{op.method} {op.path}"


def test_every_protected_route_with_an_id_is_in_the_matrix() -> None:
    with_ids = {(op.method, op.path) for op in PROTECTED if "{" in op.path and op.auth == "customer"}

    assert with_ids == set(OWNED_OBJECT_ROUTES) | set(NOT_OWNED_OBJECTS)


@pytest.mark.parametrize("op", PROTECTED, ids=op_id)
def test_anonymous_callers_are_unauthorized(client: ShopClient, op: Operation) -> None:
    status, body, _ = client.call(op.method, concrete(op.path), {})

    assert (status, body["code"]) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize("op", [op for op in PROTECTED if op.auth == "admin"], ids=op_id)
def test_customers_are_forbidden_on_admin_routes(client: ShopClient, customer_token: str, op: Operation) -> None:
    status, body, _ = client.call(op.method, concrete(op.path), {}, token=customer_token)

    assert (status, body["code"]) == (403, "FORBIDDEN")


def test_every_admin_route_declares_the_staff_roles_allowed_on_it() -> None:
    undeclared = [op_id(op) for op in PROTECTED if op.auth == "admin" and op.roles is None]

    assert undeclared == [], "declare roles=(...) on these routes (see chalicelib/routes.py)"


@pytest.mark.parametrize("role", ["admin", "operator", "service", "analyst"])
def test_each_staff_role_reaches_its_part_of_admin_and_is_forbidden_elsewhere(
    client: ShopClient, admin_token: str, role: str
) -> None:
    # GIVEN a staff member of the role
    token = admin_token
    if role != "admin":
        staff = {"username": f"staff_{role}", "password": "staff password 42", "role": role}
        assert client.call("POST", "/admin/staff", staff, token=admin_token)[0] == 201
        credentials = {"username": staff["username"], "password": staff["password"]}
        token = client.call("POST", "/auth/login", credentials)[1]["access_token"]

    # WHEN they call every admin route THEN the ones declared for their role let them through, the others say 403
    wrong = []
    for op in (op for op in PROTECTED if op.auth == "admin"):
        status, body, _ = client.call(op.method, concrete(op.path), {}, token=token)
        allowed = role in (op.roles or ("admin",))
        if (allowed and status in (401, 403)) or (not allowed and (status, body["code"]) != (403, "FORBIDDEN")):
            wrong.append((op_id(op), status))
    assert wrong == []


@pytest.mark.parametrize(("method", "path"), sorted(OWNED_OBJECT_ROUTES))
def test_another_users_object_is_not_found_and_stays_untouched(
    client: ShopClient, admin_token: str, method: str, path: str
) -> None:
    victim = register_and_login(client, "victim")
    intruder = register_and_login(client, "intruder")
    make_object, body = OWNED_OBJECT_ROUTES[(method, path)]
    ids, unchanged = make_object(client, victim, admin_token)

    status, answer, _ = client.call(method, path.format(**ids), body, token=intruder)

    assert (status, answer["code"]) == (404, "NOT_FOUND")
    unchanged()


def test_lists_show_only_the_callers_own_objects(client: ShopClient, admin_token: str) -> None:
    create_catalog(client, admin_token)
    product_id = create_product(client, admin_token, "华为 Mate 60 Pro")["product_id"]
    victim = register_and_login(client, "victim")
    intruder = register_and_login(client, "intruder")
    client.call("POST", "/me/addresses", ADDRESS, token=victim)
    client.call("PUT", f"/me/favorites/{product_id}", token=victim)
    client.call("POST", "/me/reservations", {"sku_id": f"{product_id}-02"}, token=victim)
    client.call("POST", "/feedback", {"type": "bug", "content": "打不开"}, token=victim)
    restore = hand_over(
        "received_lines", VictimsOrder(client.call("GET", "/me", token=victim)[1]["user_id"], "o_victim", product_id)
    )
    try:
        review = {"items": [{"sku_id": f"{product_id}-01", "rating": 5, "content": "好"}]}
        assert client.call("POST", "/orders/o_victim/reviews", review, token=victim)[0] == 201
    finally:
        restore()

    for path in (
        "/me/addresses", "/me/favorites", "/me/footprints", "/me/search-history", "/me/reservations", "/me/reviews",
        "/me/feedback",
    ):  # fmt: skip
        status, body, _ = client.call("GET", path, token=intruder)
        assert (status, body["items"]) == (200, []), path
    assert client.call("GET", f"/me/favorites/{product_id}", token=victim)[1]["favorited"] is True
    assert client.call("GET", f"/me/favorites/{product_id}", token=intruder)[1]["favorited"] is False
    me = client.call("GET", "/me", token=intruder)[1]
    assert me["username"] == "intruder"
