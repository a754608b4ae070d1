"""Uploads (presigned S3 PUT of a customer's image) and feedback (filed by a customer, answered by staff)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.functional.conftest import ShopClient, register_and_login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120


def upload_image(client: ShopClient, token: str, data: bytes = PNG, purpose: str = "feedback") -> dict[str, Any]:
    """Ask for an upload and PUT the bytes as a client does; the ticket."""
    body = {"purpose": purpose, "content_type": "image/png", "size_bytes": len(data)}
    status, ticket, _ = client.call("POST", "/uploads", body, token=token)
    assert status == 201, ticket
    response = requests.put(ticket["upload_url"], data=data, headers=ticket["headers"], timeout=10)
    assert response.status_code == 200, response.text
    return dict(ticket)


def test_an_uploaded_image_is_served_at_its_public_url(client: ShopClient, customer_token: str) -> None:
    ticket = upload_image(client, customer_token)

    served = requests.get(ticket["public_url"], timeout=10)

    assert ticket["method"] == "PUT" and ticket["headers"]["Content-Type"] == "image/png"
    assert ticket["expires_at"].endswith("Z")
    assert (served.status_code, served.content) == (200, PNG)


@pytest.mark.parametrize(
    "body",
    [
        {"purpose": "review", "content_type": "image/gif", "size_bytes": 10},
        {"purpose": "review", "content_type": "image/png", "size_bytes": 5 * 1024 * 1024 + 1},
        {"purpose": "review", "content_type": "image/png", "size_bytes": 0},
        {"purpose": "banner", "content_type": "image/png", "size_bytes": 10},
    ],
)
def test_other_types_sizes_and_purposes_are_refused(client: ShopClient, customer_token: str, body: Any) -> None:
    status, answer, _ = client.call("POST", "/uploads", body, token=customer_token)

    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")


def test_feedback_takes_only_my_own_completed_uploads(client: ShopClient, customer_token: str) -> None:
    mine = upload_image(client, customer_token)
    bob = register_and_login(client, "bob")
    bobs = upload_image(client, bob)
    status, unfinished, _ = client.call(
        "POST", "/uploads", {"purpose": "feedback", "content_type": "image/png", "size_bytes": 10}, token=customer_token
    )
    assert status == 201

    for images in ([bobs["public_url"]], [unfinished["public_url"]], ["https://example.com/x.png"]):
        body = {"type": "bug", "content": "图片打不开", "images": images}
        status, answer, _ = client.call("POST", "/feedback", body, token=customer_token)
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), images
    body = {"type": "bug", "content": "图片打不开", "images": [mine["public_url"]]}
    status, created, _ = client.call("POST", "/feedback", body, token=customer_token)
    assert (status, created["images"]) == (201, [mine["public_url"]])


def test_a_customer_files_feedback_and_sees_staff_replies_until_it_is_closed(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    status, filed, _ = client.call(
        "POST", "/feedback", {"type": "suggestion", "content": "希望支持夜间模式", "contact": "alice@example.com"},
        token=customer_token,
    )  # fmt: skip
    assert (status, filed["status"], filed["replies"]) == (201, "OPEN", [])
    fid = filed["feedback_id"]

    queue = client.call("GET", "/admin/feedback?status=OPEN", token=admin_token)[1]
    assert [(item["feedback_id"], item["user_id"]) for item in queue["items"]] == [
        (fid, client.call("GET", "/me", token=customer_token)[1]["user_id"])
    ]
    status, replied, _ = client.call(
        "POST", f"/admin/feedback/{fid}/reply", {"content": "已记录，下个版本上线"}, token=admin_token
    )
    assert (status, replied["status"]) == (200, "REPLIED")
    mine = client.call("GET", f"/me/feedback/{fid}", token=customer_token)[1]
    assert (mine["status"], [r["content"] for r in mine["replies"]]) == ("REPLIED", ["已记录，下个版本上线"])
    assert client.call("GET", "/admin/feedback?status=OPEN", token=admin_token)[1]["items"] == []

    status, closed, _ = client.call("POST", f"/admin/feedback/{fid}/close", token=admin_token)
    assert (status, closed["status"]) == (200, "CLOSED")
    for action, body in (("reply", {"content": "再说一句"}), ("close", None)):
        status, answer, _ = client.call("POST", f"/admin/feedback/{fid}/{action}", body, token=admin_token)
        assert (status, answer["code"]) == (409, "INVALID_STATE")
    assert client.call("GET", "/me/feedback", token=customer_token)[1]["items"][0]["status"] == "CLOSED"


def test_a_reply_with_close_closes_and_staff_filter_by_status_and_type_oldest_first(
    client: ShopClient, customer_token: str, admin_token: str
) -> None:
    ids = []
    for kind in ("bug", "complaint", "bug"):
        ids.append(
            client.call("POST", "/feedback", {"type": kind, "content": f"{kind} 反馈"}, token=customer_token)[1][
                "feedback_id"
            ]
        )
    status, closed, _ = client.call(
        "POST", f"/admin/feedback/{ids[1]}/reply", {"content": "已退款", "close": True}, token=admin_token
    )
    assert (status, closed["status"]) == (200, "CLOSED")

    bugs = client.call("GET", "/admin/feedback?type=bug", token=admin_token)[1]["items"]
    everything = []
    cursor = ""
    while True:
        page = client.call("GET", f"/admin/feedback?page_size=1{cursor}", token=admin_token)[1]
        everything += [item["feedback_id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert [item["feedback_id"] for item in bugs] == [ids[0], ids[2]]
    assert sorted(everything) == sorted(ids)
    mine = client.call("GET", "/me/feedback", token=customer_token)[1]["items"]
    assert [item["feedback_id"] for item in mine] == list(reversed(ids))
    status, answer, _ = client.call("GET", "/admin/feedback?status=DONE", token=admin_token)
    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")


def test_feedback_about_an_order_that_is_not_mine_or_anothers_feedback_is_not_found(
    client: ShopClient, customer_token: str
) -> None:
    bob = register_and_login(client, "bob")
    fid = client.call("POST", "/feedback", {"type": "other", "content": "bob 的反馈"}, token=bob)[1]["feedback_id"]

    status, answer, _ = client.call(
        "POST", "/feedback", {"type": "complaint", "content": "没收到", "order_id": "o_nobody"}, token=customer_token
    )
    assert (status, answer["code"]) == (404, "NOT_FOUND")
    assert client.call("GET", f"/me/feedback/{fid}", token=customer_token)[0] == 404
    assert client.call("GET", "/me/feedback", token=customer_token)[1]["items"] == []
