"""Catalog read paths in-process on moto: latency per request and how many DynamoDB calls each one makes.

Run: make bench (or .venv/bin/python bench/read_paths.py [--requests N]).
DynamoDB calls are counted with a botocore `before-call.dynamodb` event hook on every client the app uses.
Latency here is the app's own time plus moto's in-process emulation, not a network round trip: read it as a
relative figure between paths, and the call counts as the absolute ones.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _inprocess import prepare_environment, provisioned_app

prepare_environment()

from chalice.test import Client  # noqa: E402

from chalicelib.accounts.models import HandleModel, RefreshTokenModel, UserModel  # noqa: E402
from chalicelib.aws import client as aws_client  # noqa: E402
from chalicelib.catalog.models import BrandItem, CatalogItem, CategoryItem, ProductItem, SkuItem  # noqa: E402
from local.demo.catalog import products  # noqa: E402
from local.demo.seed import seed_demo_data  # noqa: E402

MODELS = (CatalogItem, CategoryItem, BrandItem, ProductItem, SkuItem, UserModel, HandleModel, RefreshTokenModel)


class DynamoCallCounter:
    """Counts DynamoDB API calls made by any pynamodb model or boto3 client of the app."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        hooked: set[int] = set()
        clients = [model._get_connection().connection.client for model in MODELS]
        clients.append(aws_client("dynamodb"))
        for client in clients:
            if id(client.meta.events) not in hooked:
                client.meta.events.register("before-call.dynamodb", self._record)
                hooked.add(id(client.meta.events))

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def measure(client: Client, counter: DynamoCallCounter, path: str, requests: int) -> dict[str, Any]:
    client.http.get(path)  # warm: the category tree cache, the connection
    counter.take()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.http.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.body)
    calls = counter.take()
    per_request = len(calls) / requests
    return {
        "path": path,
        "p50_ms": statistics.median(timings),
        "p99_ms": sorted(timings)[int(len(timings) * 0.99) - 1],
        "dynamodb_calls": per_request,
        "operations": ",".join(sorted(set(calls))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with provisioned_app() as app:
        seed_demo_data(admin_password="bench-admin-password")
        sample = products()[0]
        counter = DynamoCallCounter()
        client = Client(app, stage_name="local")
        paths = [
            "/categories",
            "/brands",
            "/products?page_size=20",
            f"/products?category_id={sample['category_id']}&page_size=20",
            f"/products?brand_id={sample['brand_id']}&page_size=20",
            f"/products/{sample['product_id']}",
        ]
        rows = [measure(client, counter, path, args.requests) for path in paths]
    print(f"{'path':<48} {'p50 ms':>8} {'p99 ms':>8} {'DynamoDB calls':>15}  operations")
    for row in rows:
        print(
            f"{row['path']:<48} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['dynamodb_calls']:>15.2f}  "
            f"{row['operations']}"
        )
    print("(/categories is served from the tree kept 60 s per warm container; a cold read is one Query)")
    detail = rows[-1]
    assert detail["dynamodb_calls"] == 1, f"product detail must be one DynamoDB call, made {detail['dynamodb_calls']}"


if __name__ == "__main__":
    main()
