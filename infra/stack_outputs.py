"""The one mapping from the shop stack's CloudFormation Outputs to the app's environment variables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Output key in infra/template.yaml -> environment variable read by chalicelib/config.py.
OUTPUT_ENV: dict[str, str] = {
    "AccountsTableName": "ACCOUNTS_TABLE",
    "CatalogTableName": "CATALOG_TABLE",
    "MarketingTableName": "MARKETING_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
    "OrdersTableName": "ORDERS_TABLE",
    "AnalyticsTableName": "ANALYTICS_TABLE",
    "AnalyticsEventsQueueUrl": "ANALYTICS_EVENTS_QUEUE_URL",
    "OrderTasksDlqUrl": "ORDER_TASKS_DLQ_URL",
    "OrderOutboxQueueUrl": "ORDER_OUTBOX_QUEUE_URL",
    "OrderSweepQueueUrl": "ORDER_SWEEP_QUEUE_URL",
    "FlashSaleQueueUrl": "FLASH_SALE_QUEUE_URL",
    "OrdersStreamArn": "ORDERS_STREAM_ARN",
    "ProductViewsQueueUrl": "PRODUCT_VIEWS_QUEUE_URL",
    "StockEventsQueueUrl": "STOCK_EVENTS_QUEUE_URL",
    "RecommendRefreshQueueUrl": "RECOMMEND_REFRESH_QUEUE_URL",
    "CatalogStreamArn": "CATALOG_STREAM_ARN",
    "AdminAlertsTopicArn": "ADMIN_ALERTS_TOPIC_ARN",
    "SearchIndexBucketName": "SEARCH_INDEX_BUCKET",
    "SearchReindexQueueUrl": "SEARCH_REINDEX_QUEUE_URL",
    "SearchLogQueueUrl": "SEARCH_LOG_QUEUE_URL",
    "AnalyticsBucketName": "ANALYTICS_BUCKET",
    "UploadsBucketName": "UPLOADS_BUCKET",
    "JwtSecretArn": "JWT_SECRET_ARN",
}


def _as_dict(outputs: Sequence[Mapping[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """Accept DescribeStacks' ``[{"OutputKey", "OutputValue"}, ...]`` or a plain ``{key: value}``."""
    if isinstance(outputs, Mapping):
        return {str(key): str(value) for key, value in outputs.items()}
    return {item["OutputKey"]: item["OutputValue"] for item in outputs}


def env_from_outputs(outputs: list[dict] | dict[str, str]) -> dict[str, str]:
    """Environment variables for the stack's Outputs; keys outside OUTPUT_ENV are ignored.

    An Output the stack did not produce is left out rather than set empty, so a
    missing resource shows up as a missing setting, not as a blank one.
    """
    values = _as_dict(outputs)
    return {env: values[key] for key, env in OUTPUT_ENV.items() if values.get(key)}
