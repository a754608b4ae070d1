"""Search relevance on the demo catalog stays at least as good as measured (bench/search_relevance.py prints it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.search.building import build_index
from chalicelib.search.engine import SearchIndex
from tests.search_relevance.demo_docs import demo_docs
from tests.search_relevance.evaluate import evaluate, judged_queries, ndcg_at, precision_at

# Measured 0.908 and 0.955 over 47 judged queries when this was first written, 0.923 and 0.972 over 52 since joined
# pinyin and precise sorts; a change that drops below these floors fails.
PRECISION_AT_5_FLOOR = 0.915
NDCG_AT_10_FLOOR = 0.965


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    path = str(tmp_path_factory.mktemp("relevance") / "demo.sqlite")
    build_index(demo_docs(), path)
    with SearchIndex(path) as opened:
        yield opened


def test_the_judged_set_has_at_least_30_queries_each_with_relevant_demo_products() -> None:
    judged = judged_queries(demo_docs())
    assert len(judged) >= 30
    assert all(entry.grades for entry in judged)


def test_precision_at_5_and_ndcg_at_10_stay_above_the_measured_floors(index: SearchIndex) -> None:
    scores = evaluate(index, demo_docs())
    worst = sorted(scores.per_query, key=lambda row: row[2])[:5]
    assert scores.precision_at_5 >= PRECISION_AT_5_FLOOR, worst
    assert scores.ndcg_at_10 >= NDCG_AT_10_FLOOR, worst


def test_the_metrics_reward_the_right_order() -> None:
    grades = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b"], grades, 10) == pytest.approx(1.0)
    assert ndcg_at(["b", "a"], grades, 10) < 1.0
    assert ndcg_at(["x", "y"], grades, 10) == 0.0
    assert precision_at(["a", "x", "b"], grades, 5) == 1.0
    assert precision_at(["x", "a"], {"a": 1, **{f"r{i}": 1 for i in range(9)}}, 5) == pytest.approx(0.2)


def test_the_judged_file_is_where_the_bench_reads_it() -> None:
    assert (Path(__file__).resolve().parents[1] / "search_relevance" / "judged.toml").exists()
