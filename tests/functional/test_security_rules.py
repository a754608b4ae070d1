"""The contract's security rules through the HTTP API on moto: registering a phone needs its code, a first password
needs a texted code, common passwords, password back-off per account, JSON depth, ASCII-only digits, the outbox on
the local stage only, X-Request-Id on every answer, footprints newest first."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from app import app
from chalicelib.accounts import guards
from chalicelib.accounts import service as accounts_service
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.accounts.security_repository import DynamoSecurityRepository
from chalicelib.config import reset_caches
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient, register_and_login, register_with_phone, texted_code

PHONE = "13800138000"
PASSWORD = "correct horse 1"


def send_code(client: ShopClient, purpose: str, phone: str = PHONE) -> str:
    DynamoSecurityRepository().clear_guard("sms-resend", phone)  # as if the minute between two texts had passed
    status, body, _ = client.call("POST", "/auth/sms/send", {"phone": phone, "purpose": purpose})
    assert status == 202, body
    return texted_code(client, phone)


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def sms_sign_in(client: ShopClient, phone: str = PHONE) -> dict[str, Any]:
    status, session, _ = client.call("POST", "/auth/sms/login", {"phone": phone, "code": send_code(client, "login")})
    assert status == 200, session
    return dict(session)


# -- 1. registering a phone needs the code texted to it ------------------------------------------------------------


def test_registering_with_someone_elses_phone_without_its_code_makes_no_account_and_the_owner_keeps_it(
    client: ShopClient,
) -> None:
    """GIVEN an attacker who knows a victim's phone WHEN they register with it and no code, or a wrong one THEN 400,
    then 401, no account is made and the username stays free; the victim's first SMS sign-in is a new account of
    their own, not the attacker's."""
    attempt = {"username": "mallory", "password": PASSWORD, "phone": PHONE}
    no_code = client.call("POST", "/auth/register", attempt)
    code = send_code(client, "register")
    wrong_code = client.call("POST", "/auth/register", attempt | {"sms_code": another_code(code)})
    login_code = client.call("POST", "/auth/register", attempt | {"sms_code": send_code(client, "login")})

    victim = sms_sign_in(client)

    assert (no_code[0], no_code[1]["code"]) == (400, "VALIDATION_ERROR")
    assert no_code[1]["errors"][0]["field"] == "(body)" or "sms_code" in json.dumps(no_code[1])
    assert (wrong_code[0], wrong_code[1]["code"]) == (401, "UNAUTHORIZED")
    assert login_code[0] == 401  # a code texted for signing in does not register
    assert victim["is_new_user"] is True and victim["user"]["username"] != "mallory"
    assert client.call("POST", "/auth/login", {"username": "mallory", "password": PASSWORD})[0] == 401
    assert client.call("POST", "/auth/register", {"username": "mallory", "password": PASSWORD})[0] == 201


def test_a_dead_register_code_is_refused_and_the_right_code_registers_once(client: ShopClient) -> None:
    code = send_code(client, "register")
    attempt = {"username": "alice", "password": PASSWORD, "phone": PHONE}
    wrong = [client.call("POST", "/auth/register", attempt | {"sms_code": another_code(code)})[0] for _ in range(5)]

    dead = client.call("POST", "/auth/register", attempt | {"sms_code": code})
    status, registered, _ = client.call("POST", "/auth/register", attempt | {"sms_code": send_code(client, "register")})
    again = client.call("POST", "/auth/register", attempt | {"username": "alice2", "phone": "+86" + PHONE,
                                                             "sms_code": send_code(client, "register")})  # fmt: skip

    assert wrong == [401] * 5 and dead[0] == 401
    assert status == 201
    assert (again[0], again[1]["code"]) == (409, "CONFLICT")  # the phone is taken (its code was right)
    session = client.call("POST", "/auth/login", {"phone": PHONE, "password": PASSWORD})[1]
    assert session["user"]["user_id"] == registered["user_id"]


def test_a_taken_username_leaves_the_register_code_usable_for_another_username(client: ShopClient) -> None:
    register_and_login(client, "alice")
    code = send_code(client, "register")
    attempt = {"password": PASSWORD, "phone": PHONE, "sms_code": code}

    taken = client.call("POST", "/auth/register", attempt | {"username": "alice"})
    fixed = client.call("POST", "/auth/register", attempt | {"username": "alice_w"})
    reused = client.call("POST", "/auth/register", attempt | {"username": "alice_x"})

    assert (taken[0], fixed[0]) == (409, 201)
    assert reused[0] == 401  # used up by the registration it made


def test_a_first_password_on_a_phone_only_account_needs_a_fresh_texted_code(client: ShopClient) -> None:
    """GIVEN an account made by SMS code (no password) and a stolen access token WHEN a password is set with the
    token alone, or with a wrong code THEN 400, 401; with the code texted to the account's phone THEN 204."""
    token = sms_sign_in(client)["access_token"]
    new = {"new_password": "my first password 1"}

    token_only = client.call("PUT", "/me/password", new, token=token)
    code = send_code(client, "set_password")
    wrong = client.call("PUT", "/me/password", new | {"sms_code": another_code(code)}, token=token)
    right = client.call("PUT", "/me/password", new | {"sms_code": code}, token=token)

    assert (token_only[0], token_only[1]["code"]) == (400, "VALIDATION_ERROR")
    assert (wrong[0], wrong[1]["code"]) == (401, "UNAUTHORIZED")
    assert right[0] == 204
    assert client.call("POST", "/auth/login", {"phone": PHONE, "password": "my first password 1"})[0] == 200


def test_a_first_password_on_a_provider_only_account_needs_a_bound_phone_first(client: ShopClient) -> None:
    session, _ = accounts_service.sign_in_with_identity(DynamoAccountsRepository(), "wechat", "wx_openid_1")

    status, body, _ = client.call("PUT", "/me/password", {"new_password": "my first password 1"},
                                  token=session.access_token)  # fmt: skip

    assert (status, body["code"]) == (409, "INVALID_STATE")


# -- 5. common passwords -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password1", "12345678", "qwerty123", "Password1", "QWERTY123", "iloveyou"])
def test_a_common_password_is_refused_at_registration_and_on_a_change(client: ShopClient, password: str) -> None:
    token = register_and_login(client, "alice")

    registering = client.call("POST", "/auth/register", {"username": "bob", "password": password})
    changing = client.call("PUT", "/me/password", {"old_password": PASSWORD, "new_password": password}, token=token)

    assert (registering[0], registering[1]["code"]) == (400, "WEAK_PASSWORD")
    assert (changing[0], changing[1]["code"]) == (400, "WEAK_PASSWORD")
    assert changing[1]["errors"][0]["field"] == "new_password"
    assert client.call("POST", "/auth/login", {"username": "bob", "password": password})[0] == 401


def test_a_staff_account_cannot_get_a_common_password(client: ShopClient) -> None:
    with pytest.raises(Exception, match="too common") as refused:
        accounts_service.ensure_admin(DynamoAccountsRepository(), "admin", "Admin123")

    assert getattr(refused.value, "code", None) == "WEAK_PASSWORD"


# -- 8 and issue 24: password back-off per account, SMS still works ------------------------------------------------


def test_guessing_through_the_username_and_the_phone_shares_one_back_off_and_sms_sign_in_still_works(
    client: ShopClient,
) -> None:
    """GIVEN an account with a username and a phone WHEN a guesser alternates between them THEN the account backs off
    after as many guesses as through one name (every name answers 429 then), and its owner still signs in by SMS."""
    register_with_phone(client, "alice", PHONE)
    names = [{"username": "alice"}, {"phone": PHONE}, {"username": "Alice"}, {"phone": "+86" + PHONE}]

    guesses = [
        client.call("POST", "/auth/login", names[n % 4] | {"password": f"guess {n} abc"})[0]
        for n in range(guards.LOGIN_FREE_FAILURES + 1)
    ]
    after = [client.call("POST", "/auth/login", name | {"password": PASSWORD})[0] for name in names]
    by_sms = sms_sign_in(client)

    assert guesses == [401] * (guards.LOGIN_FREE_FAILURES + 1)
    assert after == [429] * 4
    assert by_sms["is_new_user"] is False and by_sms["user"]["username"] == "alice"


# -- 2. JSON nested deeper than 32 levels ---------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"username": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b', "password": "x"}'


@pytest.mark.parametrize("depth", [33, 100, 100_000])
@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [("POST", "/auth/login", None), ("POST", "/cart/items", "customer"), ("PUT", "/me/password", "customer"),
     ("POST", "/admin/brands", "admin")],
)  # fmt: skip
def test_json_nested_deeper_than_32_levels_is_a_validation_error_on_every_route_reading_json(
    client: ShopClient, customer_token: str, admin_token: str, depth: int, method: str, path: str, auth: str | None
) -> None:
    token = {"customer": customer_token, "admin": admin_token}.get(auth or "")

    status, body, _ = client.call(method, path, nested(depth), token=token)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "nested" in body["message"]


def test_json_32_levels_deep_is_read_as_json(client: ShopClient) -> None:
    status, body, _ = client.call("POST", "/auth/login", nested(32))

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    assert "nested" not in body["message"]  # parsed, then refused for its fields


# -- 3. only ASCII 0-9 are digits ----------------------------------------------------------------------------------

FULL_WIDTH, ARABIC_INDIC = "１３８００１３８０００", "١٣٨٠٠١٣٨٠٠٠"


@pytest.mark.parametrize("phone", [FULL_WIDTH, ARABIC_INDIC, "1380013８000", "+86" + FULL_WIDTH, "۱۳۸۰۰۱۳۸۰۰۰"])
def test_a_phone_with_digits_other_than_ascii_is_refused_everywhere(
    client: ShopClient, customer_token: str, phone: str
) -> None:
    address = {"receiver": "张三", "phone": phone, "province": "北京", "city": "北京", "district": "朝阳",
               "detail": "建国路 1 号"}  # fmt: skip
    registering = {"username": "zhang", "password": PASSWORD, "phone": phone, "sms_code": "123456"}
    answers = [
        client.call("POST", "/auth/sms/send", {"phone": phone, "purpose": "login"}),
        client.call("POST", "/auth/sms/login", {"phone": phone, "code": "123456"}),
        client.call("POST", "/auth/login", {"phone": phone, "password": PASSWORD}),
        client.call("POST", "/auth/register", registering),
        client.call("POST", "/me/addresses", address, token=customer_token),
    ]

    assert [(status, body["code"]) for status, body, _ in answers] == [(400, "VALIDATION_ERROR")] * 5


@pytest.mark.parametrize("code", ["１２３４５６", "١٢٣٤٥٦", "12345²"])
def test_an_sms_code_with_digits_other_than_ascii_is_refused(client: ShopClient, code: str) -> None:
    send_code(client, "login")

    status, body, _ = client.call("POST", "/auth/sms/login", {"phone": PHONE, "code": code})

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "path",
    [
        "/products?page_size=２０",
        "/search?q=手机&page=٢",
        "/search?q=手机&price_min_fen=１００",
        "/me/orders?page_size=²",
    ],
)
def test_numeric_query_parameters_take_only_ascii_digits(client: ShopClient, customer_token: str, path: str) -> None:
    status, body, _ = client.call("GET", path, token=customer_token)

    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


# -- issue 24 point 3: the outbox exists on the local stage only ---------------------------------------------------


def test_the_outbox_of_texted_codes_exists_on_the_local_stage_only(client: ShopClient) -> None:
    """GIVEN a deployed dev stage (internet-facing) WHEN anyone asks /dev/outbox THEN 404, and codes texted there are
    not kept for it; on the local stage the outbox answers."""
    client.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "login"})
    local = client.call("GET", f"/dev/outbox?to={PHONE}")
    DynamoSecurityRepository().clear_guard("sms-resend", PHONE)
    with ShopClient(app, stage_name="dev") as dev:  # the dev stage's environment (.chalice/config.json)
        reset_caches()
        try:
            sent_on_dev = dev.call("POST", "/auth/sms/send", {"phone": PHONE, "purpose": "login"})
            on_dev = dev.call("GET", f"/dev/outbox?to={PHONE}")
        finally:
            reset_caches()

    assert local[0] == 200 and len(local[1]["messages"]) == 1
    assert sent_on_dev[0] == 202
    assert on_dev[0] == 404, on_dev
    assert on_dev[1]["code"] == "NOT_FOUND", on_dev
    assert len(client.call("GET", f"/dev/outbox?to={PHONE}")[1]["messages"]) == 1  # the dev text was not kept


# -- defects the acceptance run saw: X-Request-Id on every answer, footprints newest first -------------------------


def test_every_answer_carries_x_request_id_and_an_error_body_names_the_same_id(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    answers = {
        "200 JSON": client.call("GET", "/health"),
        "201": client.call("POST", "/auth/register", {"username": "zhao", "password": PASSWORD}),
        "204": client.call("DELETE", "/me/footprints", token=customer_token),
        "200 CSV": client.call("GET", "/admin/analytics/export.csv?from=2026-11-01&to=2026-11-02", token=admin_token),
        "400": client.call("POST", "/auth/login", b"{not json"),
        "401 from the gateway": client.call("GET", "/me"),
        "401 bad token at the gateway": client.call("GET", "/me", token="garbage"),
        "403": client.call("GET", "/admin/orders", token=customer_token),
        "404 no such route": client.call("GET", "/no/such/route"),
        "405 framework": client.call("PUT", "/health"),
        "413": client.call("POST", "/auth/login", b"x" * (1024 * 1024 + 1)),
        "415 framework": client.call("POST", "/auth/login", b"a=b", **{"content-type": "text/plain"}),
    }

    for case, (status, body, headers) in answers.items():
        request_id = {k.lower(): v for k, v in headers.items()}.get("x-request-id")
        assert request_id, f"{case}: {status} has no X-Request-Id"
        if status >= 400:
            assert body["request_id"] == request_id, case


def test_a_product_viewed_again_moves_to_the_top_of_the_footprints(
    client: ShopClient, admin_token: str, customer_token: str, aws_env: dict[str, str]
) -> None:
    """GIVEN views of A, B, then A again within the same second (the order the queue keeps) WHEN the views are
    counted THEN the footprints list A (the latest view) first, then B."""
    create_catalog(client, admin_token)
    first, second = (create_product(client, admin_token, title)["product_id"] for title in ("华为 Mate 60", "小米 14"))
    again_first, other = (first, second) if first > second else (second, first)  # A sorts after B: ties would show B
    for product_id in (again_first, other, again_first):
        assert client.call("GET", f"/products/{product_id}", token=customer_token)[0] == 200

    sqs = boto3.client("sqs")
    bodies = []
    while batch := sqs.receive_message(QueueUrl=aws_env["PRODUCT_VIEWS_QUEUE_URL"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        bodies += [m["Body"] for m in batch]
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="shop-local-product-views")
    client.lambda_.invoke("count_product_views", event)

    footprints = client.call("GET", "/me/footprints", token=customer_token)[1]["items"]
    assert [f["product_id"] for f in footprints] == [again_first, other]


def test_the_deployed_gateways_own_answers_carry_x_request_id_too() -> None:
    """API Gateway answers some requests itself (401, 404, 413, 429): its responses map the header as the body's
    request_id is mapped, from $context.requestId, with or without CORS origins."""
    from infra import package

    for origins in ((), ("https://shop.example.com",)):
        for response in package.gateway_responses_extension(origins).values():
            assert response["responseParameters"]["gatewayresponse.header.X-Request-Id"] == "context.requestId"
            assert "$context.requestId" in response["responseTemplates"]["application/json"]
