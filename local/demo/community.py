"""The demo shop's community: customers' reviews (published ones with photos and a merchant reply, pending ones held
by the sensitive-word filter) and feedback in each state, written through the app's own services; idempotent.

The demo customers' orders are not real orders: `DemoReceivedLines` answers reviews' port as a received order
would. Photos go through POST /uploads' service and a PUT to the uploads bucket, as a client sends them."""

from __future__ import annotations

import contextlib
import secrets
import struct
import zlib
from typing import Any

from chalicelib.accounts import service as accounts
from chalicelib.accounts.repository import DynamoAccountsRepository
from chalicelib.aws import client
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.config import get_settings
from chalicelib.errors import Conflict, ValidationError
from chalicelib.feedback import service as feedback
from chalicelib.feedback.repository import DynamoFeedbackRepository
from chalicelib.feedback.schemas import FeedbackWrite
from chalicelib.membership import service as membership
from chalicelib.membership.repository import DynamoMembershipRepository
from chalicelib.reviews import moderation
from chalicelib.reviews import service as reviews
from chalicelib.reviews.domain import ReviewableLine
from chalicelib.reviews.repository import DynamoReviewsRepository
from chalicelib.reviews.schemas import ReviewWrite
from chalicelib.reviews.words_repository import DynamoReviewWordsRepository
from chalicelib.uploads import service as uploads
from chalicelib.uploads.repository import DynamoUploadsRepository, S3UploadStorage
from chalicelib.uploads.service import UploadedImages

CUSTOMERS = (("demo_xiaoming", "小明"), ("demo_lihua", "李华"), ("demo_wangfang", "王芳"))
REVIEWS = (  # (customer, product index, rating, text, photos)
    (0, 0, 5, "做工很好，物流也快，和描述一致", 2),
    (1, 0, 4, "整体不错，就是包装有点简单", 0),
    (2, 1, 5, "买给家里人用的，都说好", 1),
    (2, 2, 1, "加我扣扣，有意者私聊，全网最低价", 0),  # held: 扣扣, 有意者
    (0, 3, 2, "质量太差了，简直是 ＦＵＣＫ", 0),  # held: fuck, after NFKC and case folding
)  # kept short: the seed runs before `make run` is READY


class DemoReceivedLines:
    """reviews.domain.ReceivedLines for the demo customers' (pretend) received orders."""

    def __init__(self, lines: dict[tuple[str, str, str], ReviewableLine]) -> None:
        self.lines = lines

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        return self.lines.get((user_id, order_id, sku_id))


class NoOrders:
    """feedback.domain.OrdersOfUser: the demo feedback names no order."""

    def owns(self, user_id: str, order_id: str) -> bool:
        return False


def png(seed: int) -> bytes:
    """A small one-colour PNG (the demo's review photos)."""
    width = height = 64
    colour = bytes(((seed * 67) % 256, (seed * 131) % 256, (seed * 29 + 90) % 256))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _customer(repo: DynamoAccountsRepository, username: str, nickname: str) -> str:
    with contextlib.suppress(Conflict):
        user = accounts.register(repo, username, secrets.token_urlsafe(18))  # authors only: nobody signs in as them
        repo.update_profile(user.user_id, {"nickname": nickname})
        return user.user_id
    found = repo.find_user_id("username", username)
    assert found is not None
    return found


def _photo(user_id: str, seed: int) -> str:
    settings = get_settings()
    storage = S3UploadStorage(settings.uploads_bucket, settings.uploads_public_base_url)
    data = png(seed)
    ticket = uploads.start_upload(DynamoUploadsRepository(), storage, user_id, "review", "image/png", len(data))
    key = ticket["public_url"].removeprefix(storage.public_base_url + "/")
    client("s3").put_object(Bucket=settings.uploads_bucket, Key=key, Body=data, ContentType="image/png")
    return str(ticket["public_url"])


def _member_prices(members: DynamoMembershipRepository, products: list[dict[str, Any]]) -> None:
    """Staff's member prices on the first SKU of a few products (gold 88%, diamond 85% of the list price; the other
    levels take their discount), set again on every start (a replacement, so nothing doubles)."""
    for product in products[:3]:
        sku = product["skus"][0]
        prices = [(3, sku["price_fen"] * 88 // 100), (4, sku["price_fen"] * 85 // 100)]
        with contextlib.suppress(ValidationError):  # staff renumbered the levels: their table wins
            membership.set_member_prices(members, DynamoCatalogRepository(), sku["sku_id"], prices)


def seed_community(products: list[dict[str, Any]]) -> dict[str, int]:
    """Reviews and feedback of the demo customers, unless they have written them already."""
    accounts_repo = DynamoAccountsRepository()
    user_ids = [_customer(accounts_repo, username, nickname) for username, nickname in CUSTOMERS]
    repo, words, members = DynamoReviewsRepository(), DynamoReviewWordsRepository(), DynamoMembershipRepository()
    _member_prices(members, products)
    if repo.user_reviews(user_ids[0], 1, None)[0]:
        return {"reviews": 0, "feedback": 0}
    settings = get_settings()
    images = UploadedImages(
        DynamoUploadsRepository(), S3UploadStorage(settings.uploads_bucket, settings.uploads_public_base_url)
    )
    lines: dict[tuple[str, str, str], ReviewableLine] = {}
    written: list[dict[str, Any]] = []
    for number, (who, index, rating, text, photos) in enumerate(REVIEWS):
        product = products[index]
        sku_id, order_id, user_id = product["skus"][0]["sku_id"], f"o_demo_review_{number}", user_ids[who]
        lines[(user_id, order_id, sku_id)] = ReviewableLine(product["product_id"], product["title"], received=True)
        item = ReviewWrite(
            sku_id=sku_id, rating=rating, content=text, images=[_photo(user_id, number * 10 + n) for n in range(photos)]
        )
        written += reviews.write_reviews(
            repo, DemoReceivedLines(lines), words, images, members, user_id, order_id, [item]
        )["items"]
    moderation.reply(repo, written[0]["review_id"], "感谢您的支持，期待再次光临！")
    moderation.follow_up(repo, words, images, user_ids[0], written[0]["review_id"], "用了两周，依然很满意", [])
    feedback_repo = DynamoFeedbackRepository()
    filed = [
        feedback.file_feedback(feedback_repo, NoOrders(), images, user_ids[who], FeedbackWrite.model_validate(body))
        for who, body in (
            (0, {"type": "suggestion", "content": "希望增加夜间模式，晚上看着不刺眼"}),
            (1, {"type": "complaint", "content": "客服回复太慢了", "contact": "13800138000"}),
            (2, {"type": "bug", "content": "订单页偶尔加载不出来"}),
        )
    ]
    feedback.reply(feedback_repo, filed[1]["feedback_id"], "非常抱歉，已安排专人跟进", close=False)
    feedback.reply(feedback_repo, filed[2]["feedback_id"], "已修复，感谢反馈", close=True)
    return {"reviews": len(written), "feedback": len(filed)}
