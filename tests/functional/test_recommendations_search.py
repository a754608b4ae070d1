"""Search's recommendations on moto: the engine's popular-in-category list until a refresh, then behaviour's picks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.analytics import emitter
from chalicelib.bootstrap import container
from tests.functional.catalog_data import create_catalog, create_product
from tests.functional.conftest import ShopClient
from tests.functional.test_recommendations import SCHEDULED, consume_behaviour, ids, moment


@pytest.fixture
def cold_search(aws_env: dict[str, str]) -> Iterator[None]:
    """The search container holds no index, so the next search loads the newest one published."""
    container().search_index.forget()
    yield
    container().search_index.forget()


def search(client: ShopClient, keyword: str) -> dict[str, Any]:
    status, body, _ = client.call("GET", f"/search?q={keyword}")
    assert status == 200, body
    return dict(body)


def test_search_recommendations_follow_behaviour_after_a_refresh_and_the_engines_list_before(
    client: ShopClient, admin_token: str, cold_search: None
) -> None:
    create_catalog(client, admin_token)
    mate = create_product(client, admin_token, "华为 Mate 60 手机")["product_id"]
    nova = create_product(client, admin_token, "华为 nova 12 手机")["product_id"]
    buds = create_product(client, admin_token, "小米 蓝牙 耳机", category="c_earphone", brand="b_xiaomi")["product_id"]
    client.lambda_.invoke("rebuild_search_index", SCHEDULED)

    before = search(client, "Mate")
    assert ids(before["items"]) == [mate]
    assert ids(before["recommendations"]) == [nova]  # the engine's: best sellers of the top hit's category

    consume_behaviour(
        client,
        *[emitter.product_viewed(pid, f"u{n}", moment(20 - n), view_id=f"s{n}{pid}") for n in range(3)
          for pid in (mate, buds)],
    )  # fmt: skip
    client.lambda_.invoke("refresh_recommendations", SCHEDULED)

    after = search(client, "Mate")
    assert ids(after["items"]) == [mate]
    assert ids(after["recommendations"])[0] == buds  # viewed with the Mate, though another category
    assert mate not in ids(after["recommendations"]) and nova in ids(after["recommendations"])
