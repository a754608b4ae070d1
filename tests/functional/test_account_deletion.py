"""Account deletion (DELETE /me) through the HTTP API on moto: the proof it needs, orders in progress, what goes and
what stays across the contexts, and a sign-in racing the deletion."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from app import app
from chalicelib.accounts import deletion
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.accounts.security_repository import DynamoSecurityRepository
from chalicelib.bootstrap import container
from chalicelib.bootstrap.bridges import AccountDataAcrossContexts
from chalicelib.cart.domain import CartOwner
from chalicelib.cart.repository import DynamoCartRepository
from chalicelib.clock import now_iso
from chalicelib.inventory.repository import DynamoInventoryRepository
from chalicelib.profile import service as profile_service
from chalicelib.profile.dynamo_repository import DynamoProfileRepository
from chalicelib.reviews import service as reviews_service
from chalicelib.reviews.repository import DynamoReviewsRepository
from chalicelib.reviews.schemas import ReviewWrite
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient
from tests.functional.order_machinery import order_machinery
from tests.functional.test_orders import ADDRESS, user_id_of
from tests.functional.test_reviews import FakeReceivedLines

PASSWORD = "correct horse 1"
PHONE = "13800138000"


@pytest.fixture(scope="module", autouse=True)
def order_tasks_run_in_process(provisioned_aws: dict[str, str]) -> Iterator[None]:
    with order_machinery(app):
        yield


def texted_code(client: ShopClient, phone: str = PHONE) -> str:
    status, outbox, _ = client.call("GET", f"/dev/outbox?to={phone}")
    assert status == 200, outbox
    return re.findall(r"\d{6}", outbox["messages"][0]["text"])[0]


def register(client: ShopClient, username: str = "alice") -> dict[str, Any]:
    status, session, _ = client.call("POST", "/auth/register", {"username": username, "password": PASSWORD})
    assert status == 201, session
    return dict(session)


def bind_phone(client: ShopClient, token: str, phone: str = PHONE) -> None:
    assert client.call("POST", "/auth/sms/send", {"phone": phone, "purpose": "bind"})[0] == 202
    status, body, _ = client.call("POST", "/me/bindings/phone", {"phone": phone, "code": texted_code(client, phone)},
                                  token=token)  # fmt: skip
    assert status == 200, body
    DynamoSecurityRepository().clear_guard("sms-resend", phone)  # as a minute later


def delete_me(client: ShopClient, token: str, **body: Any) -> tuple[int, Any]:
    status, answer, _ = client.call("DELETE", "/me", body, token=token)
    return status, answer


@pytest.fixture
def catalog(client: ShopClient, admin_token: str) -> dict[str, str]:
    create_catalog(client, admin_token)
    product = create_product(client, admin_token, "华为 Mate 60")
    skus = product["skus"]
    return {"sku_id": skus[0]["sku_id"], "sold_out": skus[1]["sku_id"], "product_id": product["product_id"]}


def test_deleting_needs_the_password_or_a_code_and_a_wrong_one_changes_nothing(client: ShopClient) -> None:
    session = register(client)
    token = session["access_token"]

    cases = [({}, 400, "VALIDATION_ERROR"), ({"password": PASSWORD, "sms_code": "123456"}, 400, "VALIDATION_ERROR"),
             ({"password": "not my password"}, 401, "UNAUTHORIZED"), ({"sms_code": "123456"}, 401, "UNAUTHORIZED"),
             ({"password": PASSWORD, "reason": "x"}, 400, "VALIDATION_ERROR")]  # fmt: skip
    for body, status, code in cases:
        answer = delete_me(client, token, **body)
        assert (answer[0], answer[1]["code"]) == (status, code), (body, answer)
    assert client.call("DELETE", "/me", {"password": PASSWORD})[0] == 401  # no token
    assert client.call("GET", "/me", token=token)[0] == 200


def test_an_order_in_progress_refuses_the_deletion_until_it_is_final(
    client: ShopClient, catalog: dict[str, str]
) -> None:
    # GIVEN an unpaid order
    session = register(client)
    token = session["access_token"]
    address_id = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]["address_id"]
    body = {"address_id": address_id, "items": [{"sku_id": catalog["sku_id"], "quantity": 1}]}
    order = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": "k1"})[1]

    # WHEN the account is deleted, then again once the order is cancelled
    refused = delete_me(client, token, password=PASSWORD)
    addresses_kept = client.call("GET", "/me/addresses", token=token)[1]["items"]
    client.call("POST", f"/orders/{order['order_id']}/cancel", token=token)
    accepted = delete_me(client, token, password=PASSWORD)

    # THEN the first is refused and touches nothing; the second deletes
    assert (refused[0], refused[1]["code"]) == (409, "ORDERS_IN_PROGRESS")
    assert [a["address_id"] for a in addresses_kept] == [address_id]
    assert accepted[0] == 204


def test_a_deleted_account_loses_its_tokens_sign_ins_and_personal_data_keeps_orders_and_reviews_anonymous(
    client: ShopClient, admin_token: str, catalog: dict[str, str]
) -> None:
    # GIVEN a customer with a phone, an address, a favorite, a footprint, a search, a cart line, a reservation,
    # a cancelled order with a remark and a review
    session = register(client)
    token, user_id = session["access_token"], session["user_id"]
    bind_phone(client, token)
    client.call("PATCH", "/me", {"nickname": "小明"}, token=token)
    address_id = client.call("POST", "/me/addresses", ADDRESS, token=token)[1]["address_id"]
    client.call("PUT", f"/me/favorites/{catalog['product_id']}", token=token)
    profile = DynamoProfileRepository()
    profile_service.record_footprints(profile, [(user_id, catalog["product_id"], now_iso())])
    profile_service.record_search(profile, user_id, "华为手机", now_iso())
    client.call("POST", "/cart/items", {"sku_id": catalog["sku_id"], "quantity": 1}, token=token)
    assert client.call("POST", "/me/reservations", {"sku_id": catalog["sold_out"]}, token=token)[0] == 201
    body = {"address_id": address_id, "items": [{"sku_id": catalog["sku_id"], "quantity": 1}], "remark": "放门口"}
    order = client.call("POST", "/orders", body, token=token, **{"Idempotency-Key": "k1"})[1]
    client.call("POST", f"/orders/{order['order_id']}/cancel", token=token)
    lines = FakeReceivedLines()
    lines.add(user_id, "o_reviewed", catalog["sku_id"])
    review = ReviewWrite(sku_id=catalog["sku_id"], rating=5, content="很好用")
    reviews_service.write_reviews(
        DynamoReviewsRepository(), lines, container().review_words, container().own_images, container().membership,
        user_id, "o_reviewed", [review],
    )  # fmt: skip
    shown_before = client.call("GET", f"/products/{catalog['product_id']}/reviews")[1]["items"][0]["user"]

    # WHEN the customer deletes the account with the password
    status, _ = delete_me(client, token, password=PASSWORD)

    # THEN every token is dead and no sign-in reaches it
    assert status == 204
    assert client.call("GET", "/me", token=token)[0] == 401
    assert client.call("POST", "/auth/refresh", {"refresh_token": session["refresh_token"]})[0] == 401
    assert client.call("POST", "/auth/login", {"username": "alice", "password": PASSWORD})[0] == 401
    assert client.call("POST", "/auth/login", {"phone": PHONE, "password": PASSWORD})[0] == 401
    # ... its personal data is gone
    assert profile.addresses(user_id) == [] and profile.address_book(user_id).address_count == 0
    assert profile.favorites(user_id, 10, None)[0] == [] and profile.favorite(user_id, catalog["product_id"]) is None
    assert profile.footprints(user_id) == [] and profile.searches(user_id) == []
    assert DynamoCartRepository().cart(CartOwner.user(user_id))[0] == []
    assert DynamoInventoryRepository().reservations(user_id) == []
    product = client.call("GET", f"/products/{catalog['product_id']}")[1]
    assert product["favorite_count"] == 0
    # ... its order stays for the books without name, phone, address or remark; its review is anonymous
    kept = container().shop.orders.order(order["order_id"])
    assert kept is not None and kept.address == {"province": ADDRESS["province"]} and kept.remark == ""
    assert kept.amounts == order["amounts"] and kept.user_id == user_id
    reviews = client.call("GET", f"/products/{catalog['product_id']}/reviews")[1]["items"]
    assert (shown_before, [r["user"] for r in reviews]) == ("小*", ["已注销用户"])
    # ... staff see it as deleted; its username and phone are free for a new account
    assert DynamoAccountsRepository().account_status(user_id) == "DELETED"
    newcomer = register(client, "alice")
    assert newcomer["user_id"] != user_id
    bind_phone(client, newcomer["access_token"])
    assert client.call("GET", "/me", token=newcomer["access_token"])[1]["phone"] == "138****8000"


def test_a_texted_code_sent_to_the_accounts_own_phone_confirms_the_deletion(client: ShopClient) -> None:
    # GIVEN a customer with a phone, and one without
    token = register(client)["access_token"]
    bind_phone(client, token)
    no_phone = register(client, "bob_1")["access_token"]

    # WHEN codes for deletion are asked for: without a token, for an account without a phone, then rightly
    anonymous = client.call("POST", "/auth/sms/send", {"purpose": "delete_account"})
    phoneless = client.call("POST", "/auth/sms/send", {"purpose": "delete_account"}, token=no_phone)
    sent = client.call("POST", "/auth/sms/send", {"purpose": "delete_account"}, token=token)
    deleted = delete_me(client, token, sms_code=texted_code(client))

    # THEN only the signed-in account with a phone gets one, and it deletes the account
    assert (anonymous[0], anonymous[1]["code"]) == (401, "UNAUTHORIZED")
    assert (phoneless[0], phoneless[1]["code"]) == (409, "INVALID_STATE")
    assert sent[0] == 202, sent[1]
    assert deleted[0] == 204
    assert client.call("GET", "/me", token=token)[0] == 401


class SignInDuringErasure(AccountDataAcrossContexts):
    """The account's data across the contexts, with a password sign-in landing while the deletion erases, before it
    closes."""

    def __init__(self, client: ShopClient) -> None:
        super().__init__(container())
        self.client = client
        self.sessions: list[dict[str, Any]] = []

    def erase(self, user_id: str) -> None:
        if not self.sessions:
            answer = self.client.call("POST", "/auth/login", {"username": "alice", "password": PASSWORD})
            self.sessions.append(answer[1])
        super().erase(user_id)


def test_a_sign_in_racing_the_deletion_gets_tokens_that_die_with_the_account(client: ShopClient) -> None:
    # GIVEN a deletion during which the customer signs in again from another device
    token = register(client)["access_token"]
    user_id = user_id_of(token)
    racing = SignInDuringErasure(client)

    # WHEN the deletion completes
    deletion.delete_account(DynamoAccountsRepository(), DynamoSecurityRepository(), racing, user_id, password=PASSWORD)

    # THEN the sign-in had succeeded, and its tokens are dead now
    [late] = racing.sessions
    assert late["user"]["user_id"] == user_id
    assert client.call("GET", "/me", token=late["access_token"])[0] == 401
    assert client.call("GET", "/cart", token=late["access_token"])[0] == 401
    assert client.call("POST", "/auth/refresh", {"refresh_token": late["refresh_token"]})[0] == 401
    assert client.call("POST", "/auth/login", {"username": "alice", "password": PASSWORD})[0] == 401
