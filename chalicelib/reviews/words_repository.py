"""The only module touching the sensitive-word list's models (catalog table, one small partition written by staff)."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo import connection, newest_page
from chalicelib.errors import ChangedMeanwhile
from chalicelib.reviews.models import WORD_PREFIX, WORDS_PK, WORDS_VERSION_SK, ReviewWordModel


class ReviewWordsRepository(Protocol):
    def version(self) -> tuple[str, int] | None:
        """The list's id (drawn when it was seeded) and how many times it was edited; None before it was seeded."""

    def seed(self, list_id: str, words: list[str], at: str) -> None:
        """Store the starting list, once (a second seeding, even a racing one, changes nothing)."""

    def all_words(self) -> list[str]: ...
    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Words with their created_at, newest first."""

    def add(self, words: list[str], at: str, seen_version: int) -> list[str]:
        """Add the words not in the list yet (the ones added); ChangedMeanwhile if the list changed since read."""

    def remove(self, word: str, seen_version: int) -> bool:
        """False if the word is not in the list; ChangedMeanwhile if the list changed since read."""


def _version_item() -> ReviewWordModel:
    return ReviewWordModel(WORDS_PK, WORDS_VERSION_SK)


class DynamoReviewWordsRepository:
    def version(self) -> tuple[str, int] | None:
        try:
            item = ReviewWordModel.get(WORDS_PK, WORDS_VERSION_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return str(item.word), int(item.version or 0)

    def seed(self, list_id: str, words: list[str], at: str) -> None:
        try:
            ReviewWordModel(WORDS_PK, WORDS_VERSION_SK, word=list_id, version=0, created_at=at).save(
                condition=ReviewWordModel.pk.does_not_exist()
            )
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return  # another container seeded it
            raise
        with ReviewWordModel.batch_write() as batch:
            for word in words:
                batch.save(ReviewWordModel(WORDS_PK, f"{WORD_PREFIX}{word}", word=word, created_at=at))
        _version_item().update(actions=[ReviewWordModel.version.add(1)])

    def all_words(self) -> list[str]:
        items = ReviewWordModel.query(WORDS_PK, ReviewWordModel.sk.startswith(WORD_PREFIX), consistent_read=True)
        return [str(item.word) for item in items]

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = newest_page(ReviewWordModel, WORDS_PK, WORD_PREFIX, limit, start)
        return [{"word": item.word, "created_at": item.created_at} for item in items], last_key

    def add(self, words: list[str], at: str, seen_version: int) -> list[str]:
        keys = [(WORDS_PK, f"{WORD_PREFIX}{word}") for word in words]
        present = {item.word for item in ReviewWordModel.batch_get(keys)}
        added = [word for word in words if word not in present]
        if not added:
            return []
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _version_item(),
                    actions=[ReviewWordModel.version.add(1)],
                    condition=ReviewWordModel.version == seen_version,
                )
                for word in added:
                    transaction.save(
                        ReviewWordModel(WORDS_PK, f"{WORD_PREFIX}{word}", word=word, created_at=at),
                        condition=ReviewWordModel.pk.does_not_exist(),
                    )
        except TransactWriteError as error:
            raise ChangedMeanwhile() from error
        return added

    def remove(self, word: str, seen_version: int) -> bool:
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _version_item(),
                    actions=[ReviewWordModel.version.add(1)],
                    condition=ReviewWordModel.version == seen_version,
                )
                transaction.delete(
                    ReviewWordModel(WORDS_PK, f"{WORD_PREFIX}{word}"), condition=ReviewWordModel.pk.exists()
                )
        except TransactWriteError as error:
            try:
                ReviewWordModel.get(WORDS_PK, f"{WORD_PREFIX}{word}", consistent_read=True)
            except DoesNotExist:
                return False
            raise ChangedMeanwhile() from error
        return True
