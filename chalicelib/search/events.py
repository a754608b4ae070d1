"""Non-HTTP handlers of search: the search indexer and the search log consumer.

The engine (jieba/rjieba, pypinyin, SQLite FTS5) is imported inside the handlers that build an index, never at
import: Chalice puts every route in one Lambda, and the other routes' cold start must not pay for it.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent
from pydantic import ValidationError

from chalicelib.analytics import emitter as analytics
from chalicelib.aws import client
from chalicelib.clock import precise_iso, utcnow
from chalicelib.config import Settings, resource_name, stream_arn
from chalicelib.deps import Handlers
from chalicelib.observability import logger, metrics
from chalicelib.profile.repository import ProfileRepository
from chalicelib.search import indexer, service
from chalicelib.search.repository import CatalogSource, SearchRepository
from chalicelib.search.schemas import SearchLogged
from chalicelib.search.store import IndexStorage

search_events = Handlers(__name__)
CATALOG_STREAM_ARN = stream_arn(Settings.from_env(), "catalog")
SEARCH_REINDEX_QUEUE = resource_name("search-reindex")
SEARCH_LOG_QUEUE = resource_name("search-log")
MAX_SQS_DELAY_SECONDS = 900


class SqsSearchLog:
    """SearchLog on the search-log queue: one small message per search, off the request's critical path."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def searched(self, keyword: str, user_id: str | None, at: str, total: int, relaxed: bool, source: str) -> None:
        message = {
            "type": "searched",
            "keyword": keyword,
            "user_id": user_id,
            "at": at,
            "total": total,
            "relaxed": relaxed,
            "source": source,
        }
        try:
            client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message, ensure_ascii=False))
        except Exception:  # a lost hot-word count or history entry must never fail the search
            logger.exception("could not queue a search", extra={"keyword": keyword[:100]})


def rebuild_now(
    catalog_source: CatalogSource, search_repo: SearchRepository, index_storage: IndexStorage
) -> indexer.RebuildOutcome:
    """A full rebuild with the engine, published to S3 and pointed at."""
    from chalicelib.search import building, documents, updating  # heavy: only the indexer and search load it

    return indexer.rebuild_index(
        catalog_source,
        search_repo,
        index_storage,
        building.build_index,
        documents.doc_from_catalog,
        service.popular_queries(search_repo),
        utcnow,
        updating.apply_changes,
    )


def update_now(
    catalog_source: CatalogSource, search_repo: SearchRepository, index_storage: IndexStorage, product_ids: list[str]
) -> dict[str, Any]:
    """These products updated in place in the published index; a full build when there is none yet, or when the
    published one was made by another schema version (a deploy that changed it)."""
    from chalicelib.search import documents, updating  # heavy: only the indexer and search load it

    try:
        outcome = indexer.update_index(
            catalog_source,
            search_repo,
            index_storage,
            updating.apply_changes,
            documents.doc_from_catalog,
            product_ids,
            utcnow,
        )
    except updating.IncompatibleIndex:
        outcome = None
    if outcome is None:
        rebuilt = rebuild_now(catalog_source, search_repo, index_storage)
        metrics.add_metric(name="SearchRebuilds", unit="Count", value=1)
        return {"rebuilt": True, **rebuilt.as_dict()}
    metrics.add_metric(name="SearchIndexUpdates", unit="Count", value=1)
    metrics.add_metric(name="SearchProductsUpdated", unit="Count", value=len(product_ids))
    return {"rebuilt": False, "updated": True, **outcome.as_dict()}


@search_events.on_dynamodb_record(stream_arn=CATALOG_STREAM_ARN, batch_size=100, starting_position="LATEST")
def queue_search_reindex(event: DynamoDBEvent, settings: Settings) -> dict[str, Any]:
    """Turns a batch of catalog changes that matter to search into ONE delayed message on the search-reindex queue:
    the products changed, or `full` when a category or brand did.

    The delay and the consumer's batching window debounce: a burst of edits (an import, a sale) becomes an update
    or two, not one per item. The time stamped here comes after the changes, so a build whose catalog read starts
    later has them. A failed send raises and the stream batch comes again.
    """
    records = [record.to_dict() for record in event]
    changes = [change for change in map(indexer.search_change, records) if change is not None]
    relevant = len(changes)
    if relevant:
        message = {
            "type": "catalog_changed",
            "changed_at": precise_iso(utcnow()),
            "changes": relevant,
            "product_ids": sorted({c.product_id for c in changes if c.product_id}),
            "full": any(change.full for change in changes),
        }
        client("sqs").send_message(
            QueueUrl=settings.search_reindex_queue_url,
            MessageBody=json.dumps(message),
            DelaySeconds=max(0, min(MAX_SQS_DELAY_SECONDS, settings.search_reindex_delay_seconds)),
        )
    return {"records": len(records), "relevant": relevant}


@search_events.on_sqs_message(queue=SEARCH_REINDEX_QUEUE, batch_size=100, maximum_batching_window_in_seconds=5)
def reindex_search_on_catalog_change(
    event: SQSEvent, catalog_source: CatalogSource, search_repo: SearchRepository, index_storage: IndexStorage
) -> dict[str, Any]:
    """Updates the changed products in place in the published index (a read of those products, never of the
    catalog); a category or brand change rebuilds the index, unless the published one already read the catalog
    after the latest such change in the batch.

    A failure raises: the batch comes back (5 tries, then the search-reindex DLQ), and the hourly rebuild catches
    up regardless.
    """
    changed_at = ""
    product_ids: set[str] = set()
    for record in event:
        try:
            message = json.loads(record.body)
            stamped = str(message["changed_at"])
            ids = message.get("product_ids")
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("dropping a malformed reindex message", extra={"body": record.body[:200]})
            continue
        if message.get("full") or not isinstance(ids, list):  # a category or brand, or a message of before updates
            changed_at = max(changed_at, stamped)
        else:
            product_ids.update(str(product_id) for product_id in ids)
    if changed_at and indexer.needs_rebuild(search_repo.index_pointer(), changed_at):
        outcome = rebuild_now(catalog_source, search_repo, index_storage)  # it reads the changed products too
        metrics.add_metric(name="SearchRebuilds", unit="Count", value=1)
        return {"rebuilt": True, **outcome.as_dict()}
    if product_ids:
        return update_now(catalog_source, search_repo, index_storage, sorted(product_ids))
    if changed_at:
        metrics.add_metric(name="SearchRebuildsSkipped", unit="Count", value=1)
        return {"rebuilt": False, "reason": "the published index is newer than the changes"}
    return {"rebuilt": False, "reason": "no change"}


@search_events.schedule("rate(1 hour)")
def rebuild_search_index(
    event: CloudWatchEvent, catalog_source: CatalogSource, search_repo: SearchRepository, index_storage: IndexStorage
) -> dict[str, Any]:
    """Hourly: folds the hot words, then rebuilds the index whatever changed (view counts and popular queries only
    reach it this way; it also gives a new stage its first index)."""
    service.refresh_hot_words(search_repo, utcnow())
    outcome = rebuild_now(catalog_source, search_repo, index_storage)
    metrics.add_metric(name="SearchRebuilds", unit="Count", value=1)
    return {"rebuilt": True, **outcome.as_dict()}


@search_events.on_sqs_message(queue=SEARCH_LOG_QUEUE, batch_size=100, maximum_batching_window_in_seconds=10)
def record_searches(
    event: SQSEvent, search_repo: SearchRepository, profile: ProfileRepository, settings: Settings
) -> dict[str, Any]:
    """Counts a batch of logged searches towards hot words and keeps signed-in users' search history.

    A failure raises, so the whole batch comes back (and after 5 tries goes to the DLQ): some searches may then
    count twice, which a popularity counter tolerates; history writes are idempotent.
    """
    searches: list[SearchLogged] = []
    performed: list[tuple[str, str | None, int, str, str | None]] = []
    for record in event:
        try:
            logged = SearchLogged.model_validate_json(record.body)
        except ValidationError:
            logger.warning("dropping a malformed search-log message", extra={"body": record.body[:200]})
            continue
        searches.append(logged)
        search_id = record.to_dict().get("messageId")  # a redelivered batch keeps its ids: analytics counts it once
        performed.append((logged.keyword, logged.user_id, logged.total, logged.at, search_id))
    outcome = service.record_searches(search_repo, profile, searches, utcnow(), settings.search_hot_refresh_seconds)
    metrics.add_metric(name="SearchesLogged", unit="Count", value=len(searches))
    analytics.emit_as(lambda: [analytics.search_performed(*search) for search in performed])  # never raises
    return outcome
