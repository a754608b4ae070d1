"""The container's parts for the shop's community and members: the members club, the review word list, uploads and
feedback (chalicelib.bootstrap.Container inherits them; each built on first use, like the rest)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.catalog.service import MemberPricing
    from chalicelib.config import Settings
    from chalicelib.feedback.domain import OrdersOfUser
    from chalicelib.feedback.repository import FeedbackRepository
    from chalicelib.membership.repository import MembershipRepository
    from chalicelib.orders.service import Shop
    from chalicelib.reviews.words_repository import ReviewWordsRepository
    from chalicelib.uploads.domain import OwnImages
    from chalicelib.uploads.repository import UploadsRepository, UploadStorage


class CommunityParts:
    settings: Settings
    if TYPE_CHECKING:

        @property
        def shop(self) -> Shop: ...

    @cached_property
    def membership(self) -> MembershipRepository:
        from chalicelib.membership.repository import DynamoMembershipRepository

        return DynamoMembershipRepository()

    @cached_property
    def member_pricing(self) -> MemberPricing:
        from chalicelib.bootstrap.bridges import MemberPricesFromClub

        return MemberPricesFromClub(self.membership)

    @cached_property
    def review_words(self) -> ReviewWordsRepository:
        from chalicelib.reviews.words_repository import DynamoReviewWordsRepository

        return DynamoReviewWordsRepository()

    @cached_property
    def uploads(self) -> UploadsRepository:
        from chalicelib.uploads.repository import DynamoUploadsRepository

        return DynamoUploadsRepository()

    @cached_property
    def upload_storage(self) -> UploadStorage:
        from chalicelib.uploads.repository import S3UploadStorage

        return S3UploadStorage(self.settings.uploads_bucket, self.settings.uploads_public_base_url)

    @cached_property
    def own_images(self) -> OwnImages:
        from chalicelib.uploads.service import UploadedImages

        return UploadedImages(self.uploads, self.upload_storage)

    @cached_property
    def feedback(self) -> FeedbackRepository:
        from chalicelib.feedback.repository import DynamoFeedbackRepository

        return DynamoFeedbackRepository()

    @cached_property
    def orders_of_user(self) -> OrdersOfUser:
        from chalicelib.bootstrap.bridges import ShopOrdersOfUser

        return ShopOrdersOfUser(self.shop)
