"""Typed settings read once from the environment: stage, resource names, secrets, timeouts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.cors import parse_origins

APP_NAME = "shop"
STAGE_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,15}", re.ASCII)


class MissingStage(RuntimeError):
    """A deployed function started without SHOP_STAGE: it must not guess (guessing `local` opens dev-only routes)."""


def stage_of(env: Mapping[str, str]) -> str:
    """The one reading of SHOP_STAGE. A deployed function (AWS_LAMBDA_FUNCTION_NAME is set) refuses to start
    without an explicit, well-formed stage; elsewhere (a developer's shell, a script) it is `local`."""
    stage = env.get("SHOP_STAGE")
    if stage is None and not env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return "local"
    if not stage or not STAGE_PATTERN.fullmatch(stage):
        raise MissingStage(f"SHOP_STAGE must name the stage (e.g. dev, prod), got {stage!r}: refusing to start")
    return stage


def current_stage() -> str:
    """The deployment stage (local, dev, prod); import-time safe, so handlers can name their queues."""
    return stage_of(os.environ)


def resource_name(suffix: str, stage: str | None = None) -> str:
    """The physical name infra/template.yaml gives a resource of this stage, e.g. shop-dev-product-views."""
    return f"{APP_NAME}-{stage or current_stage()}-{suffix}"


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, validated once per cold start."""

    stage: str
    region: str
    accounts_table: str
    catalog_table: str
    marketing_table: str
    idempotency_table: str
    product_views_queue_url: str
    admin_alerts_topic_arn: str
    jwt_secret_arn: str
    access_token_ttl_seconds: int
    payment_timeout_seconds: int
    auto_receive_seconds: int
    max_body_bytes: int
    recommend_behaviour_days: int = 30
    stock_events_queue_url: str = ""
    catalog_stream_arn: str = ""
    orders_table: str = ""
    state_machine_order_arn: str = ""
    state_machine_recommend_refresh_arn: str = ""
    # The scheduled refresh starts the sharded one (a Distributed Map) above this many bytes of raw lake objects in
    # its window (0: never); about 5 GB is 20M events (docs/scale.md).
    recommend_distributed_above_bytes: int = 5_000_000_000
    state_machine_refund_arn: str = ""
    order_tasks_dlq_url: str = ""
    review_window_seconds: int = 604800
    search_index_bucket: str = ""
    search_log_queue_url: str = ""
    search_reindex_queue_url: str = ""
    search_index_check_seconds: float = 60.0
    search_reindex_delay_seconds: int = 30
    search_hot_refresh_seconds: int = 60
    search_scan_segments: int = 4
    analytics_table: str = ""
    analytics_events_queue_url: str = ""
    analytics_bucket: str = ""
    cors_allowed_origins: tuple[str, ...] = ()
    ship_deadline_seconds: int = 604800
    after_sales_auto_approve_seconds: int = 172800
    signed_auto_receive_seconds: int = 604800
    orders_stream_arn: str = ""
    order_outbox_queue_url: str = ""
    order_sweep_queue_url: str = ""
    order_sweep_grace_seconds: int = 300
    order_sweep_retry_seconds: int = 900
    order_sweep_lookback_days: int = 3
    order_sweep_max_orders: int = 500
    recommend_refresh_queue_url: str = ""
    uploads_bucket: str = ""
    uploads_public_base_url: str = ""
    flash_sale_queue_url: str = ""
    flash_sale_pay_seconds: int = 300
    flash_sale_cache_seconds: float = 1.0
    cart_sku_cache_seconds: float = 5.0
    analytics_warehouse: str = "athena"  # "duckdb": the same SQL on DuckDB over the lake (local runtime, tests)
    athena_database: str = ""
    athena_workgroup: str = ""

    @property
    def is_local_or_dev(self) -> bool:
        return self.stage in ("local", "dev")

    @property
    def is_local(self) -> bool:
        """The local runtime (`make run`, tests): the only stage with dev-only routes such as /dev/outbox."""
        return self.stage == "local"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        stage = stage_of(e)
        return cls(
            stage=stage,
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            accounts_table=e.get("ACCOUNTS_TABLE") or resource_name("accounts", stage),
            catalog_table=e.get("CATALOG_TABLE") or resource_name("catalog", stage),
            marketing_table=e.get("MARKETING_TABLE") or resource_name("marketing", stage),
            idempotency_table=e.get("IDEMPOTENCY_TABLE") or resource_name("idempotency", stage),
            product_views_queue_url=e.get("PRODUCT_VIEWS_QUEUE_URL", ""),
            admin_alerts_topic_arn=e.get("ADMIN_ALERTS_TOPIC_ARN", ""),
            jwt_secret_arn=e.get("JWT_SECRET_ARN", ""),
            recommend_behaviour_days=int(e.get("RECOMMEND_BEHAVIOUR_DAYS", "30")),
            access_token_ttl_seconds=int(e.get("ACCESS_TOKEN_TTL_SECONDS", "900")),
            payment_timeout_seconds=int(e.get("PAYMENT_TIMEOUT_SECONDS", "1800")),
            auto_receive_seconds=int(e.get("AUTO_RECEIVE_SECONDS", "1209600")),
            max_body_bytes=int(e.get("MAX_BODY_BYTES", str(1024 * 1024))),
            stock_events_queue_url=e.get("STOCK_EVENTS_QUEUE_URL", ""),
            catalog_stream_arn=e.get("CATALOG_STREAM_ARN", ""),
            orders_table=e.get("ORDERS_TABLE") or resource_name("orders", stage),
            state_machine_order_arn=e.get("STATE_MACHINE_ORDER_ARN", ""),
            state_machine_recommend_refresh_arn=e.get("STATE_MACHINE_RECOMMEND_REFRESH_ARN", ""),
            recommend_distributed_above_bytes=int(e.get("RECOMMEND_DISTRIBUTED_ABOVE_BYTES", "5000000000")),
            state_machine_refund_arn=e.get("STATE_MACHINE_REFUND_ARN", ""),
            order_tasks_dlq_url=e.get("ORDER_TASKS_DLQ_URL", ""),
            review_window_seconds=int(e.get("REVIEW_WINDOW_SECONDS", "604800")),
            search_index_bucket=e.get("SEARCH_INDEX_BUCKET", ""),
            search_log_queue_url=e.get("SEARCH_LOG_QUEUE_URL", ""),
            search_reindex_queue_url=e.get("SEARCH_REINDEX_QUEUE_URL", ""),
            search_index_check_seconds=float(e.get("SEARCH_INDEX_CHECK_SECONDS", "2" if stage == "local" else "60")),
            search_reindex_delay_seconds=int(e.get("SEARCH_REINDEX_DELAY_SECONDS", "2" if stage == "local" else "30")),
            search_hot_refresh_seconds=int(e.get("SEARCH_HOT_REFRESH_SECONDS", "60")),
            search_scan_segments=int(e.get("SEARCH_SCAN_SEGMENTS", "1" if stage == "local" else "4")),
            analytics_table=e.get("ANALYTICS_TABLE") or resource_name("analytics", stage),
            analytics_events_queue_url=e.get("ANALYTICS_EVENTS_QUEUE_URL", ""),
            analytics_bucket=e.get("ANALYTICS_BUCKET", ""),
            cors_allowed_origins=parse_origins(e.get("CORS_ALLOWED_ORIGINS"), stage),
            ship_deadline_seconds=int(e.get("SHIP_DEADLINE_SECONDS", "604800")),
            after_sales_auto_approve_seconds=int(e.get("AFTER_SALES_AUTO_APPROVE_SECONDS", "172800")),
            signed_auto_receive_seconds=int(e.get("SIGNED_AUTO_RECEIVE_SECONDS", "604800")),
            orders_stream_arn=e.get("ORDERS_STREAM_ARN", ""),
            order_outbox_queue_url=e.get("ORDER_OUTBOX_QUEUE_URL", ""),
            order_sweep_queue_url=e.get("ORDER_SWEEP_QUEUE_URL", ""),
            order_sweep_grace_seconds=int(e.get("ORDER_SWEEP_GRACE_SECONDS", "300")),
            order_sweep_retry_seconds=int(e.get("ORDER_SWEEP_RETRY_SECONDS", "900")),
            order_sweep_lookback_days=int(e.get("ORDER_SWEEP_LOOKBACK_DAYS", "3")),
            order_sweep_max_orders=int(e.get("ORDER_SWEEP_MAX_ORDERS", "500")),
            recommend_refresh_queue_url=e.get("RECOMMEND_REFRESH_QUEUE_URL", ""),
            uploads_bucket=e.get("UPLOADS_BUCKET", ""),
            uploads_public_base_url=e.get("UPLOADS_PUBLIC_BASE_URL") or _bucket_url(e, e.get("UPLOADS_BUCKET", "")),
            flash_sale_queue_url=e.get("FLASH_SALE_QUEUE_URL", ""),
            flash_sale_pay_seconds=int(e.get("FLASH_SALE_PAY_SECONDS", "300")),
            # How long a container keeps a flash sale's session and remaining units for its request path
            flash_sale_cache_seconds=float(e.get("FLASH_SALE_CACHE_SECONDS", "0" if stage == "local" else "1")),
            cart_sku_cache_seconds=float(e.get("CART_SKU_CACHE_SECONDS", "5")),
            analytics_warehouse=e.get("ANALYTICS_WAREHOUSE") or ("duckdb" if stage == "local" else "athena"),
            athena_database=e.get("ATHENA_DATABASE") or f"shop_{stage}_analytics",
            athena_workgroup=e.get("ATHENA_WORKGROUP") or resource_name("analytics", stage),
        )


def _bucket_url(env: Mapping[str, str], bucket: str) -> str:
    """Where a bucket's objects are read from without a CDN: the S3 endpoint of the local runtime (moto, path style),
    else the bucket's own virtual-hosted URL."""
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


def stream_arn(settings: Settings, table: str) -> str:
    """The ARN of a table's stream (catalog, orders), which Chalice needs when it imports the app.

    Deployed, `make deploy` puts the stack's CatalogStreamArn / OrdersStreamArn Outputs in chalice's environment
    (CATALOG_STREAM_ARN, ORDERS_STREAM_ARN); the local runtime sets them from the moto stack before importing the
    app. Without them (tests that import the app before provisioning) this stands in: the local stream poller finds
    the table's live stream by the table name in it."""
    arns = {"catalog": settings.catalog_stream_arn, "orders": settings.orders_stream_arn}
    tables = {"catalog": settings.catalog_table, "orders": settings.orders_table}
    return arns[table] or f"arn:aws:dynamodb:{settings.region}:000000000000:table/{tables[table]}/stream/not-deployed"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


_forgetters: list[Callable[[], None]] = []


def on_reset(forget: Callable[[], None]) -> None:
    """Have `forget` run whenever the settings are forgotten (whatever was built from them: the secret, the
    container of chalicelib.bootstrap)."""
    _forgetters.append(forget)


def reset_caches() -> None:
    """Forget settings read so far, and everything built from them (tests and the local runtime change the
    environment)."""
    get_settings.cache_clear()
    for forget in _forgetters:
        forget()
