"""After-sales cases of some units through the HTTP API on moto, with the real state machines (a case's money goes
back in its refund execution) and the sweeper's schedule: per-unit refunds split to the fen, the units a line has
left, a return, an exchange and its reshipment, cancellation, another user's case, concurrent requests, automatic
approval, and a completion run twice."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from app import app
from chalicelib.bootstrap import container
from chalicelib.config import reset_caches
from chalicelib.errors import Conflict
from chalicelib.orders import aftersales, service, tasks
from chalicelib.orders.schemas import RefundRequest
from local.aws.pollers import stop_pollers
from local.aws.sqs_poller import SqsPoller, sqs_handlers
from local.demo.aftersales import seed_aftersales
from tests.functional import test_flash_sale as flash_sale
from tests.functional import test_refunds
from tests.functional.catalog_data import product_body
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.order_machinery import sweep_when_due
from tests.functional.test_orders import (
    execution_status,
    order_of,
    place,
    points_of,
    stock_of,
    user_id_of,
    wait_for_token,
)
from tests.functional.test_refunds import FakeChannel, paid_order, ship

# the refund tests' fixtures: their buyer, fake paying channel, timers and order machinery
buyer = test_refunds.buyer
channel = test_refunds.channel
timers = test_refunds.timers
no_cached_promotions = test_refunds.no_cached_promotions
order_tasks_run_in_process = test_refunds.order_tasks_run_in_process


def ask(client: ShopClient, token: str, order_id: str, kind: str, items: list[dict[str, Any]] | None) -> Any:
    body: dict[str, Any] = {"type": kind, "reason": "尺码不合适"}
    if items is not None:
        body["items"] = items
    status, answer, _ = client.call("POST", f"/orders/{order_id}/refunds", body, token=token)
    return status, answer


def admin(client: ShopClient, admin_token: str, refund_id: str, action: str, body: Any = None) -> tuple[int, Any]:
    status, answer, _ = client.call("POST", f"/admin/refunds/{refund_id}/{action}", body, token=admin_token)
    return status, answer


def case_of(client: ShopClient, token: str, order_id: str, refund_id: str) -> tuple[int, Any]:
    status, answer, _ = client.call("GET", f"/orders/{order_id}/refunds/{refund_id}", token=token)
    return status, answer


def wait_for_case(
    client: ShopClient, token: str, order_id: str, refund_id: str, wanted: str, timeout: float = 30
) -> dict[str, Any]:
    """The case once it is `wanted` (the sweeper's schedule runs meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        sweep_when_due()
        case = case_of(client, token, order_id, refund_id)[1]
        if case["status"] == wanted or time.monotonic() > deadline:
            assert case["status"] == wanted, case
            return dict(case)
        time.sleep(0.2)


def line_of(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order["items"][0])


@pytest.fixture
def quick_approval(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AFTER_SALES_AUTO_APPROVE_SECONDS", "2")
    reset_caches()
    yield
    reset_caches()


def test_one_unit_refunds_split_a_lines_payable_to_the_fen_the_last_taking_the_remainder_and_the_order_ends_refunded(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order of 3 units that used 400 points (its line's payable does not split evenly)
    order = paid_order(client, buyer, points=400, items=[{"sku_id": buyer["sku_id"], "quantity": 3}])
    order_id, token, payable = order["order_id"], buyer["token"], line_of(order)["payable_fen"]

    # WHEN each unit is refunded by a case of its own, approved by staff
    cases, seen = [], []
    for _ in range(3):
        status, case = ask(client, token, order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])
        assert status == 201 and case["status"] == "PENDING", case
        assert admin(client, admin_token, case["refund_id"], "approve")[1]["status"] == "APPROVED"
        cases.append(wait_for_case(client, token, order_id, case["refund_id"], "REFUNDED"))
        seen.append(order_of(client, token, order_id))

    # THEN the amounts are payable*units//quantity cumulatively, summing to the line's payable exactly
    expected = [payable // 3, payable * 2 // 3 - payable // 3, payable - payable * 2 // 3]
    assert [case["amount_fen"] for case in cases] == expected and sum(expected) == payable
    assert [call[2] for call in channel.calls] == expected
    # the order keeps its status until every unit is refunded, its line and amounts count what was refunded
    assert [o["status"] for o in seen] == ["PAID", "PAID", "REFUNDED"]
    assert [line_of(o)["refunded_quantity"] for o in seen] == [1, 2, 3]
    assert [o["amounts"]["refunded_fen"] for o in seen] == [expected[0], sum(expected[:2]), payable]
    # stock came back once per unit, and the points used came back in full over the three cases
    assert stock_of(client, buyer["sku_id"]) == 10
    assert points_of(client, token) == 1000
    assert [e["status"] for e in cases[0]["timeline"]] == ["PENDING", "APPROVED", "REFUNDED"]
    assert [e["by"] for e in cases[0]["timeline"]] == ["customer", "staff", "system"]
    assert execution_status(cases[2]["refund_id"], machine="refund") == "SUCCEEDED"


def test_a_request_for_more_units_than_a_line_has_left_is_refused_with_409_and_holds_nothing(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order of 2 units, one of them in a pending case
    order = paid_order(client, buyer)
    order_id, token, sku_id = order["order_id"], buyer["token"], buyer["sku_id"]
    first = ask(client, token, order_id, "refund_only", [{"sku_id": sku_id, "quantity": 1}])[1]

    # WHEN more units than are left, a SKU the order lacks, a return before shipping or the whole order are asked for
    too_many = ask(client, token, order_id, "refund_only", [{"sku_id": sku_id, "quantity": 2}])
    unknown = ask(client, token, order_id, "refund_only", [{"sku_id": "p_none-01", "quantity": 1}])
    too_early = ask(client, token, order_id, "return_refund", [{"sku_id": sku_id, "quantity": 1}])
    whole = ask(client, token, order_id, "refund_only", None)
    twice = ask(client, token, order_id, "refund_only", [{"sku_id": sku_id, "quantity": 1}] * 2)

    # THEN each is refused and nothing more is held: once the first is cancelled both units can be asked for
    assert (too_many[0], too_many[1]["code"]) == (409, "CONFLICT")
    assert unknown[0] == 400 and twice[0] == 400
    assert (too_early[0], too_early[1]["code"]) == (409, "INVALID_STATE")
    assert whole[0] == 409
    cancelled = client.call("POST", f"/orders/{order_id}/refunds/{first['refund_id']}/cancel", token=token)
    assert cancelled[0] == 200 and cancelled[1]["status"] == "CANCELLED"
    again = client.call("POST", f"/orders/{order_id}/refunds/{first['refund_id']}/cancel", token=token)
    assert (again[0], again[1]["code"]) == (409, "INVALID_STATE")
    both = ask(client, token, order_id, "refund_only", [{"sku_id": sku_id, "quantity": 2}])
    assert both[0] == 201 and both[1]["amount_fen"] == line_of(order)["payable_fen"]
    assert order_of(client, token, order_id)["status"] == "PAID"
    assert channel.calls == []


def test_a_return_is_shipped_received_back_into_stock_once_and_refunded_while_the_order_keeps_its_status(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a shipped order of 2 units and a return of one, approved
    order = paid_order(client, buyer)
    order_id, token, sku_id = order["order_id"], buyer["token"], buyer["sku_id"]
    ship(client, admin_token, order_id)
    case = ask(client, token, order_id, "return_refund", [{"sku_id": sku_id, "quantity": 1}])[1]
    refund_id = case["refund_id"]
    early = admin(client, admin_token, refund_id, "receive-return")
    assert admin(client, admin_token, refund_id, "approve")[1]["status"] == "APPROVED"

    # WHEN the buyer ships it back and staff receive it (twice)
    parcel = {"carrier": "SF", "tracking_no": "SF123456"}
    path = f"/orders/{order_id}/refunds/{refund_id}/return-shipment"
    shipped = client.call("POST", path, parcel, token=token)
    received = admin(client, admin_token, refund_id, "receive-return")
    refunded = wait_for_case(client, token, order_id, refund_id, "REFUNDED")
    received_again = admin(client, admin_token, refund_id, "receive-return")

    # THEN it moved through every status, the unit is back in stock once and its money back once
    assert (early[0], early[1]["code"]) == (409, "INVALID_STATE")
    assert shipped[0] == 200 and shipped[1]["return_shipment"]["tracking_no"] == "SF123456"
    assert received[0] == 200 and received[1]["status"] == "RETURN_RECEIVED"
    assert (received_again[0], received_again[1]["code"]) == (409, "INVALID_STATE")
    assert [e["status"] for e in refunded["timeline"]] == [
        "PENDING", "APPROVED", "RETURN_SHIPPED", "RETURN_RECEIVED", "REFUNDED"
    ]  # fmt: skip
    assert [e["by"] for e in refunded["timeline"]] == ["customer", "staff", "customer", "staff", "system"]
    assert stock_of(client, sku_id) == 9
    assert channel.calls == [(order_id, refund_id, line_of(order)["payable_fen"] // 2)]
    after = order_of(client, token, order_id)
    assert after["status"] == "SHIPPED" and line_of(after)["refunded_quantity"] == 1


def two_sku_product(client: ShopClient, admin_token: str) -> dict[str, Any]:
    """A product with a SKU to buy (10 in stock), one of the same price (1 in stock) and a dearer one."""
    body = product_body("华为 Mate 70")
    body["specs"] = [{"name": "颜色", "values": ["白", "黑", "金"]}]
    body["skus"] = [
        {"attributes": {"颜色": "白"}, "price_fen": 599900, "stock": 10},
        {"attributes": {"颜色": "黑"}, "price_fen": 599900, "stock": 1},
        {"attributes": {"颜色": "金"}, "price_fen": 699900, "stock": 5},
    ]
    status, product, _ = client.call("POST", "/admin/products", body, token=admin_token)
    assert status == 201, product
    return dict(product)


def test_an_exchange_goes_to_a_sku_of_the_same_product_and_price_and_a_reship_without_stock_is_409(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a shipped order of 2 white phones; black costs the same (1 in stock), gold more, another product exists
    white, black, gold = [sku["sku_id"] for sku in two_sku_product(client, admin_token)["skus"]]
    order = paid_order(client, {**buyer, "sku_id": white})
    order_id, token = order["order_id"], buyer["token"]
    ship(client, admin_token, order_id)

    # WHEN the buyer asks to exchange for gold, for another product's SKU, then for black
    dearer = ask(client, token, order_id, "exchange", [{"sku_id": white, "quantity": 1, "to_sku_id": gold}])
    other = ask(client, token, order_id, "exchange", [{"sku_id": white, "quantity": 1, "to_sku_id": buyer["sku_id"]}])
    cases = [
        ask(client, token, order_id, "exchange", [{"sku_id": white, "quantity": 1, "to_sku_id": black}])[1]
        for _ in range(2)
    ]
    outcomes = []
    for case in cases:
        admin(client, admin_token, case["refund_id"], "approve")
        path = f"/orders/{order_id}/refunds/{case['refund_id']}/return-shipment"
        assert client.call("POST", path, {"carrier": "YTO", "tracking_no": "YT1"}, token=token)[0] == 200
        assert admin(client, admin_token, case["refund_id"], "receive-return")[0] == 200
        outcomes.append(admin(client, admin_token, case["refund_id"], "reship", {"carrier": "SF", "tracking_no": "S2"}))

    # THEN the wrong targets are 400, the first exchange reships black, the second finds none left
    assert dearer[0] == 400 and other[0] == 400
    assert [case["amount_fen"] for case in cases] == [0, 0]
    assert outcomes[0][0] == 200 and outcomes[0][1]["status"] == "RESHIPPED"
    assert outcomes[0][1]["reship"]["tracking_no"] == "S2"
    assert (outcomes[1][0], outcomes[1][1]["code"]) == (409, "OUT_OF_STOCK")
    assert case_of(client, token, order_id, cases[1]["refund_id"])[1]["status"] == "RETURN_RECEIVED"
    assert (stock_of(client, white), stock_of(client, black)) == (10, 0)  # 2 sold, 2 returned; 1 black shipped
    assert order_of(client, token, order_id)["status"] == "SHIPPED" and channel.calls == []
    listed = client.call("GET", "/admin/refunds?type=exchange&status=RESHIPPED", token=admin_token)[1]["items"]
    assert [case["refund_id"] for case in listed] == [cases[0]["refund_id"]]


def test_another_users_case_is_404_to_read_ship_back_or_cancel(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer)
    order_id = order["order_id"]
    case = ask(client, buyer["token"], order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])[1]
    mallory = register_and_login(client, "mallory")
    base = f"/orders/{order_id}/refunds/{case['refund_id']}"

    answers = [
        client.call("GET", base, token=mallory)[0],
        client.call("POST", f"{base}/cancel", token=mallory)[0],
        client.call("POST", f"{base}/return-shipment", {"carrier": "SF", "tracking_no": "X1"}, token=mallory)[0],
        client.call("GET", f"/orders/o_other/refunds/{case['refund_id']}", token=buyer["token"])[0],
    ]

    assert answers == [404, 404, 404, 404]
    assert case_of(client, buyer["token"], order_id, case["refund_id"])[1]["status"] == "PENDING"


def test_concurrent_requests_never_hold_more_units_than_a_line_has(
    client: ShopClient,
    buyer: dict[str, Any],
    admin_token: str,
    timers: Any,
    channel: FakeChannel,
) -> None:
    # GIVEN a paid order of 3 units
    order = paid_order(client, buyer, items=[{"sku_id": buyer["sku_id"], "quantity": 3}])
    shop, user_id = container().shop, user_id_of(buyer["token"])
    write = RefundRequest.model_validate(
        {"type": "refund_only", "reason": "x", "items": [{"sku_id": buyer["sku_id"], "quantity": 1}]}
    )
    start, outcomes = threading.Barrier(6), []

    def request() -> None:
        start.wait()
        try:
            outcomes.append(
                aftersales.request_case(shop, container().own_images, user_id, order["order_id"], write)["status"]
            )
        except Conflict as error:
            outcomes.append(type(error).__name__)

    # WHEN six requests of one unit each come at once
    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly three are held
    assert outcomes.count("PENDING") == 3 and len(outcomes) == 6, outcomes
    after = container().shop.orders.order(order["order_id"])
    assert after is not None and after.after_sales["held"] == {buyer["sku_id"]: 3}
    assert order_of(client, buyer["token"], order["order_id"])["status"] == "PAID"


def test_a_pending_case_nobody_decides_is_approved_by_the_system_and_refunded(
    client: ShopClient, buyer: dict[str, Any], quick_approval: None, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]

    case = ask(client, token, order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])[1]
    refunded = wait_for_case(client, token, order_id, case["refund_id"], "REFUNDED")

    assert [(e["status"], e["by"]) for e in refunded["timeline"]][:2] == [
        ("PENDING", "customer"),
        ("APPROVED", "system"),
    ]
    assert stock_of(client, buyer["sku_id"]) == 9


def test_a_units_refunds_completion_and_payment_run_again_change_nothing(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a unit refunded by its case
    order = paid_order(client, buyer, points=300)
    order_id, token = order["order_id"], buyer["token"]
    case = ask(client, token, order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])[1]
    admin(client, admin_token, case["refund_id"], "approve")
    wait_for_case(client, token, order_id, case["refund_id"], "REFUNDED")
    before = (order_of(client, token, order_id), stock_of(client, buyer["sku_id"]), points_of(client, token))

    # WHEN the execution's tasks run again
    paid = tasks.refund_payment(container().shop, order_id, case["refund_id"])
    completed = tasks.complete_refund(container().shop, order_id, case["refund_id"])

    # THEN nothing changes twice
    assert paid["status"] == "SUCCESS" and completed == {"status": "REFUNDED"}
    assert (order_of(client, token, order_id), stock_of(client, buyer["sku_id"]), points_of(client, token)) == before
    assert len(channel.calls) == 1 and before[2] == 1000 - 300 + 150  # half the points used came back


def test_the_demo_seed_makes_a_partial_refund_and_an_exchange_under_way_once(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a product in stock and a customer with an address
    product = client.call("GET", f"/products/{buyer['sku_id'].rsplit('-', 1)[0]}")[1]
    user_id = user_id_of(buyer["token"])

    # WHEN the demo's after-sales part is seeded twice
    first = seed_aftersales(container(), user_id, product)
    again = seed_aftersales(container(), user_id, product)

    # THEN one order shows a refunded unit, the other an exchange whose unit was shipped back
    orders = client.call("GET", "/me/orders", token=buyer["token"])[1]["items"]
    assert first == again == {"aftersales_cases": 2}
    assert sorted((order["status"], line_of(order)["refunded_quantity"]) for order in orders) == [
        ("PAID", 1), ("SHIPPED", 0)
    ]  # fmt: skip
    shipped = next(order for order in orders if order["status"] == "SHIPPED")
    cases = client.call("GET", f"/orders/{shipped['order_id']}/refunds", token=buyer["token"])[1]["items"]
    assert [(case["type"], case["status"]) for case in cases] == [("exchange", "RETURN_SHIPPED")]
    assert stock_of(client, buyer["sku_id"]) == 10 - 5 + 1


def test_a_pending_whole_order_refund_cancelled_by_the_buyer_puts_the_order_back_and_can_be_read_with_its_timeline(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    status, case = ask(client, token, order_id, "refund_only", None)

    read = case_of(client, token, order_id, case["refund_id"])
    cancelled = client.call("POST", f"/orders/{order_id}/refunds/{case['refund_id']}/cancel", token=token)
    approved_after = admin(client, admin_token, case["refund_id"], "approve")

    assert status == 201 and (case["items"], case["amount_fen"]) == ([], order["amounts"]["payable_fen"])
    assert read[0] == 200 and [e["status"] for e in read[1]["timeline"]] == ["PENDING"]
    assert cancelled[0] == 200 and cancelled[1]["status"] == "CANCELLED"
    assert (approved_after[0], approved_after[1]["code"]) == (409, "INVALID_STATE")
    back = order_of(client, token, order_id)
    assert [entry["status"] for entry in back["timeline"]][-2:] == ["REFUNDING", "PAID"] and back["status"] == "PAID"
    assert channel.calls == []


gateways = test_refunds.gateways  # the payment gateway emulators, as the payments tests run them
gateway_keys = test_refunds.gateway_keys
delivered = test_refunds.delivered


def test_units_of_an_order_paid_through_the_sandbox_are_refunded_there_case_by_case(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, gateways: Any
) -> None:
    # GIVEN an order of 2 units paid through the sandbox channel
    order = place(client, buyer)[1]
    order_id, token = order["order_id"], buyer["token"]
    started = client.call("POST", f"/orders/{order_id}/pay", {"channel": "sandbox"}, token=token)[1]
    request = urllib.request.Request(started["pay_url"], data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the emulator on loopback
        assert json.loads(answer.read())["notify_status"] == 200

    # WHEN each unit is refunded by a case of its own
    cases = []
    for _ in range(2):
        case = ask(client, token, order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])[1]
        admin(client, admin_token, case["refund_id"], "approve")
        cases.append(wait_for_case(client, token, order_id, case["refund_id"], "REFUNDED"))

    # THEN the provider refunded each case's amount once, and they add up to what was paid
    at_provider = gateways.payment("sandbox", started["payment_id"])
    assert at_provider is not None
    assert at_provider.refunds == {case["refund_id"]: case["amount_fen"] for case in cases}
    assert sum(case["amount_fen"] for case in cases) == started["amount_fen"]
    assert order_of(client, token, order_id)["status"] == "REFUNDED"


def test_the_ship_deadline_waits_for_open_units_cases_so_nothing_is_refunded_twice(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order with one unit in a pending refund_only case
    order = paid_order(client, buyer)
    order_id, token = order["order_id"], buyer["token"]
    case = ask(client, token, order_id, "refund_only", [{"sku_id": buyer["sku_id"], "quantity": 1}])[1]

    # WHEN its ship deadline runs out, before and after the case is cancelled
    with pytest.raises(tasks.OrderNotReady):
        tasks.ship_deadline_passed(container().shop, order_id)
    waited = order_of(client, token, order_id)["status"]
    client.call("POST", f"/orders/{order_id}/refunds/{case['refund_id']}/cancel", token=token)
    opened = tasks.ship_deadline_passed(container().shop, order_id)

    # THEN the order waited, then the system's refund covers the whole order once
    assert waited == "PAID" and opened["status"] == "REFUNDING"
    refunds = client.call("GET", f"/orders/{order_id}/refunds", token=token)[1]["items"]
    assert refunds[-1]["status"] in ("APPROVED", "REFUNDED")  # its execution may have refunded it already
    assert refunds[-1]["amount_fen"] == order["amounts"]["payable_fen"]


@pytest.fixture
def flash_consumer() -> Iterator[None]:
    """The flash sale's admission queue consumer, polled as `make run` polls it."""
    pollers = [
        SqsPoller(app, config, "local") for config in sqs_handlers(app) if config.name == "decide_flash_sale_attempts"
    ]
    for poller in pollers:
        poller.start()
    yield
    stop_pollers(pollers)


def test_a_flash_sale_unit_returned_or_refunded_goes_back_to_the_skus_shelf(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel, flash_consumer: None
) -> None:
    # GIVEN a running flash sale of 2 units of the buyer's SKU (10 in stock: 8 left on the shelf), both won by the
    # buyer in one attempt and paid; then the order shipped
    sku_id, token = buyer["sku_id"], buyer["token"]
    session = flash_sale.new_session(client, admin_token, sku_id, promo_price_fen=100, promo_stock=2, per_user_limit=2)[
        1
    ]
    queued = flash_sale.try_buy(client, token, session["session_id"], sku_id, "flash-1", quantity=2)[1]
    order_id = flash_sale.decided(client, token, queued["attempt_id"])["order_id"]
    order = order_of(client, token, order_id)
    wait_for_token(order_id, "payment_token")
    assert (
        service.confirm_payment(container().shop, order_id, "pay-1", order["amounts"]["payable_fen"])["status"]
        == "PAID"
    )
    ship(client, admin_token, order_id)
    assert stock_of(client, sku_id) == 8

    # WHEN the buyer returns one unit (approved, shipped back, received)
    case = ask(client, token, order_id, "return_refund", [{"sku_id": sku_id, "quantity": 1}])[1]
    assert admin(client, admin_token, case["refund_id"], "approve")[0] == 200
    parcel = {"carrier": "SF", "tracking_no": "SF654321"}
    client.call("POST", f"/orders/{order_id}/refunds/{case['refund_id']}/return-shipment", parcel, token=token)
    assert admin(client, admin_token, case["refund_id"], "receive-return")[0] == 200
    wait_for_case(client, token, order_id, case["refund_id"], "REFUNDED")

    # THEN the returned unit is back on the SKU's shelf (the session still counts it sold)
    assert stock_of(client, sku_id) == 9
    assert flash_sale.remaining(client, session["session_id"]) == 0


def test_a_return_rejected_after_the_order_settled_earns_the_points_its_units_were_left_out_of(
    client: ShopClient, buyer: dict[str, Any], admin_token: str, timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a received order of 2 units, one of them in a return case still undecided when the review window closes
    timers(60, 60, 2)
    order = paid_order(client, buyer, items=[{"sku_id": buyer["sku_id"], "quantity": 2}])
    order_id, token = order["order_id"], buyer["token"]
    ship(client, admin_token, order_id)
    assert client.call("POST", f"/orders/{order_id}/receive", token=token)[0] == 200
    status, case = ask(client, token, order_id, "return_refund", [{"sku_id": buyer["sku_id"], "quantity": 1}])
    assert status == 201, case
    test_refunds.wait_for_status(client, token, order_id, "COMPLETED", timeout=30)
    settled = points_of(client, token)

    # WHEN staff reject the return (and a second rejection is tried)
    assert admin(client, admin_token, case["refund_id"], "reject", {"reason": "商品已使用"})[0] == 200
    again = admin(client, admin_token, case["refund_id"], "reject", {"reason": "商品已使用"})

    # THEN the settlement earned on one unit, the rejection the other's, once: the whole order's points in the end
    goods = order["amounts"]["payable_fen"] - order["amounts"]["shipping_fen"]
    assert settled == 1000 + (goods - line_of(order)["payable_fen"] // 2) // 100
    assert points_of(client, token) == 1000 + goods // 100
    assert again[0] == 409
    assert channel.calls == []
