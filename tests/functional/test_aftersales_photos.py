"""An after-sales request's photos through the HTTP API on moto: the buyer's own completed uploads for after-sales
(or, uploaded before that purpose existed, for feedback) are kept on the case; another user's upload, one for a
review, or a URL that is no upload is refused with a 400 and opens no case."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional import test_refunds
from tests.functional.conftest import ShopClient, register_and_login
from tests.functional.test_refunds import FakeChannel, paid_order
from tests.functional.test_uploads_feedback import upload_image

# the refund tests' fixtures: their buyer, fake paying channel, timers and order machinery
buyer = test_refunds.buyer
channel = test_refunds.channel
timers = test_refunds.timers
no_cached_promotions = test_refunds.no_cached_promotions
order_tasks_run_in_process = test_refunds.order_tasks_run_in_process


def request_with(client: ShopClient, buyer: dict[str, Any], order_id: str, images: list[str], **body: Any) -> Any:
    """POST a refund_only case of one unit (or the body given) naming these images; (status, answer)."""
    write = {"type": "refund_only", "reason": "屏幕有坏点", "items": [{"sku_id": buyer["sku_id"], "quantity": 1}]}
    status, answer, _ = client.call(
        "POST", f"/orders/{order_id}/refunds", {**write, **body, "images": images}, token=buyer["token"]
    )
    return status, answer


def test_a_case_keeps_photos_the_buyer_uploaded_for_after_sales_and_earlier_ones_uploaded_for_feedback(
    client: ShopClient, buyer: dict[str, Any], timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order of 2 units, a photo the buyer uploaded for after-sales and one uploaded for feedback
    order_id = paid_order(client, buyer, items=[{"sku_id": buyer["sku_id"], "quantity": 2}])["order_id"]
    photos = [upload_image(client, buyer["token"], purpose=p)["public_url"] for p in ("after_sales", "feedback")]

    # WHEN they ask for a refund of one unit with both photos
    status, case = request_with(client, buyer, order_id, photos)

    # THEN the case is opened with its photos, and shows them when read again
    assert (status, case["status"], case["images"]) == (201, "PENDING", photos), case
    _, again, _ = client.call("GET", f"/orders/{order_id}/refunds/{case['refund_id']}", token=buyer["token"])
    assert again["images"] == photos


@pytest.mark.parametrize("whose", ["another user's after_sales upload", "my review upload", "no upload", "unfinished"])
def test_a_case_with_a_photo_that_is_not_my_after_sales_upload_is_refused_and_opens_nothing(
    client: ShopClient, buyer: dict[str, Any], timers: Any, channel: FakeChannel, whose: str
) -> None:
    # GIVEN a paid order and a photo that is not one of the buyer's completed after-sales uploads
    order_id = paid_order(client, buyer)["order_id"]
    if whose == "another user's after_sales upload":
        photo = upload_image(client, register_and_login(client, "bob"), purpose="after_sales")["public_url"]
    elif whose == "my review upload":
        photo = upload_image(client, buyer["token"], purpose="review")["public_url"]
    elif whose == "unfinished":
        body = {"purpose": "after_sales", "content_type": "image/png", "size_bytes": 10}
        photo = client.call("POST", "/uploads", body, token=buyer["token"])[1]["public_url"]
    else:
        photo = "https://example.com/broken-screen.png"

    # WHEN they ask for a refund of one unit with it, or of the whole order
    answers = [
        request_with(client, buyer, order_id, [photo]),
        request_with(client, buyer, order_id, [photo], items=None),
    ]

    # THEN both are refused with the contract's 400, and the order has no case
    assert [(status, answer["code"]) for status, answer in answers] == [(400, "VALIDATION_ERROR")] * 2, answers
    assert client.call("GET", f"/orders/{order_id}/refunds", token=buyer["token"])[1]["items"] == []
    _, order, _ = client.call("GET", f"/orders/{order_id}", token=buyer["token"])
    assert (order["status"], order["items"][0]["refunded_quantity"]) == ("PAID", 0)


def test_a_whole_order_refund_keeps_its_photos(
    client: ShopClient, buyer: dict[str, Any], timers: Any, channel: FakeChannel
) -> None:
    # GIVEN a paid order and a photo the buyer uploaded for after-sales
    order_id = paid_order(client, buyer)["order_id"]
    photo = upload_image(client, buyer["token"], purpose="after_sales")["public_url"]

    # WHEN they ask for a refund of the whole order with it
    status, refund = request_with(client, buyer, order_id, [photo], items=None)

    # THEN the refund shows the photo, when made and when read again
    assert (status, refund["images"]) == (201, [photo]), refund
    _, again, _ = client.call("GET", f"/orders/{order_id}/refunds/{refund['refund_id']}", token=buyer["token"])
    assert again["images"] == [photo]
