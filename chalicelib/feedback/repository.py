"""The only module touching the feedback models."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import connection, merged_page, newest_page
from chalicelib.errors import ChangedMeanwhile
from chalicelib.feedback.domain import QUEUE_SHARDS, queue_shard
from chalicelib.feedback.models import (
    USER_LIST_PREFIX,
    FeedbackEntryModel,
    FeedbackModel,
    ReplyAttribute,
    feedback_pk,
    queue_pk,
    user_list_pk,
)

FIELDS = ("feedback_id", "user_id", "type", "content", "order_id", "contact", "status", "created_at", "updated_at")


class FeedbackRepository(Protocol):
    def create(self, feedback: dict[str, Any]) -> None: ...
    def get(self, feedback_id: str) -> dict[str, Any] | None: ...
    def user_page(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The user's feedback, newest first."""

    def queue_page(
        self, statuses: tuple[str, ...], limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Feedback of these statuses, oldest first."""

    def answer(self, feedback: dict[str, Any], status: str, reply: dict[str, str] | None, at: str) -> None:
        """Move the feedback, as seen, to status (with the reply added, if any); ChangedMeanwhile if its status is
        not the one seen any more."""


def _as_dict(item: FeedbackModel) -> dict[str, Any]:
    feedback = {name: getattr(item, name) for name in FIELDS}
    feedback["images"] = list(item.images or [])
    feedback["replies"] = [{"content": reply.content, "at": reply.at} for reply in item.replies or []]
    return feedback


class DynamoFeedbackRepository:
    def create(self, feedback: dict[str, Any]) -> None:
        fid = feedback["feedback_id"]
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(
                FeedbackModel(
                    feedback_pk(fid),
                    "META",
                    **{name: feedback[name] for name in FIELDS},
                    images=feedback["images"],
                    replies=[],
                ),
                condition=FeedbackModel.pk.does_not_exist(),
            )
            for pk, sk in (
                (user_list_pk(feedback["user_id"]), f"{USER_LIST_PREFIX}{fid}"),
                (queue_pk(feedback["status"], queue_shard(fid)), fid),
            ):
                transaction.save(FeedbackEntryModel(pk, sk, feedback_id=fid, type=feedback["type"]))

    def get(self, feedback_id: str) -> dict[str, Any] | None:
        try:
            return _as_dict(FeedbackModel.get(feedback_pk(feedback_id), "META", consistent_read=True))
        except DoesNotExist:
            return None

    def _many(self, entries: list[FeedbackEntryModel]) -> list[dict[str, Any]]:
        keys = [(feedback_pk(entry.feedback_id), "META") for entry in entries]
        found = {item.feedback_id: _as_dict(item) for item in FeedbackModel.batch_get(keys)}
        return [found[entry.feedback_id] for entry in entries if entry.feedback_id in found]

    def user_page(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        entries, last_key = newest_page(FeedbackEntryModel, user_list_pk(user_id), USER_LIST_PREFIX, limit, start)
        return self._many(entries), last_key

    def queue_page(
        self, statuses: tuple[str, ...], limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        keys = [queue_pk(status, shard) for status in statuses for shard in range(QUEUE_SHARDS)]
        entries, following = merged_page(FeedbackEntryModel, keys, limit, start, ascending=True)
        return self._many(entries), following

    def answer(self, feedback: dict[str, Any], status: str, reply: dict[str, str] | None, at: str) -> None:
        fid, seen = feedback["feedback_id"], feedback["status"]
        actions: list[Any] = [FeedbackModel.status.set(status), FeedbackModel.updated_at.set(at)]
        if reply is not None:
            actions.append(FeedbackModel.replies.set(FeedbackModel.replies.append([ReplyAttribute(**reply)])))
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    FeedbackModel(feedback_pk(fid), "META"), actions=actions, condition=FeedbackModel.status == seen
                )
                if status != seen:
                    shard = queue_shard(fid)
                    transaction.delete(FeedbackEntryModel(queue_pk(seen, shard), fid))
                    entry = FeedbackEntryModel(queue_pk(status, shard), fid, feedback_id=fid, type=feedback["type"])
                    transaction.save(entry)
        except TransactWriteError as error:
            raise ChangedMeanwhile() from error
