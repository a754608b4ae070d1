"""HTTP routes of feedback: customers file and read theirs; staff (role service) list, reply and close."""

from __future__ import annotations

from chalicelib.auth import Principal
from chalicelib.feedback import service
from chalicelib.feedback.domain import OrdersOfUser
from chalicelib.feedback.repository import FeedbackRepository
from chalicelib.feedback.schemas import (
    Feedback,
    FeedbackPage,
    FeedbackReplyWrite,
    FeedbackWrite,
    StaffFeedback,
    StaffFeedbackPage,
    StaffFeedbackQuery,
)
from chalicelib.pagination import PageQuery
from chalicelib.routes import Json, Routes
from chalicelib.uploads.domain import OwnImages

feedback_api = Routes(__name__, tags=("feedback",), admin_tags=("admin",))


@feedback_api.post("/feedback", status=201, errors=(404,))
def file_feedback(
    principal: Principal,
    body: FeedbackWrite,
    feedback: FeedbackRepository,
    orders_of_user: OrdersOfUser,
    own_images: OwnImages,
) -> Json[Feedback]:
    """File a suggestion, complaint or bug report (404: an order_id not mine; 400: images not my uploads)"""
    return service.file_feedback(feedback, orders_of_user, own_images, principal.user_id, body)


@feedback_api.get("/me/feedback")
def list_my_feedback(principal: Principal, query: PageQuery, feedback: FeedbackRepository) -> Json[FeedbackPage]:
    """My feedback, newest first"""
    return service.my_feedback(feedback, principal.user_id, query)


@feedback_api.get("/me/feedback/{feedback_id}", errors=(404,))
def get_my_feedback(principal: Principal, feedback_id: str, feedback: FeedbackRepository) -> Json[Feedback]:
    """One of my feedback, with staff replies"""
    return service.one_of_mine(feedback, principal.user_id, feedback_id)


@feedback_api.get("/admin/feedback", roles=("service",))
def list_feedback(query: StaffFeedbackQuery, feedback: FeedbackRepository) -> Json[StaffFeedbackPage]:
    """Feedback to answer, oldest first (role service)"""
    return service.staff_list(feedback, query.status, query.type, query)


@feedback_api.post("/admin/feedback/{feedback_id}/reply", errors=(404, 409), roles=("service",))
def reply_to_feedback(feedback_id: str, body: FeedbackReplyWrite, feedback: FeedbackRepository) -> Json[StaffFeedback]:
    """Reply (REPLIED, or CLOSED with close); 409 once closed (role service)"""
    return service.reply(feedback, feedback_id, body.content, body.close)


@feedback_api.post("/admin/feedback/{feedback_id}/close", errors=(404, 409), roles=("service",))
def close_feedback(feedback_id: str, feedback: FeedbackRepository) -> Json[StaffFeedback]:
    """Close without a reply; 409 once closed (role service)"""
    return service.close(feedback, feedback_id)
