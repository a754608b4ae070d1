"""Queue batches handled message by message: a message that fails comes back alone, the others are done.

Every SQS event source is deployed with ReportBatchItemFailures (infra/package.py) and the local runtime's pollers
honour the same answer, so a consumer whose messages stand on their own answers powertools' partial batch response
(`batchItemFailures`) instead of failing the whole batch. A batch whose every message failed still raises, so the
function's error alarm sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import SQSEvent


def backoff_seconds(receive_count: int, most: int) -> int:
    """How long a failed message waits before its next receive: 1, 2, 4, ... seconds doubling with each receive
    (its ApproximateReceiveCount), at most `most`."""
    return min(2 ** max(receive_count - 1, 0), most)


def each_message(event: SQSEvent, handle: Callable[[Any], object]) -> dict[str, Any]:
    """`handle(record)` for each message (a powertools SQSRecord: body, receipt_handle, attributes, message_id);
    the partial batch response naming the ones that raised."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)
    context: Any = event.context
    return dict(process_partial_response(event.to_dict(), handle, processor, context))
