"""Where a search's time goes, for bench/search.py: each SQL statement's CPU time, rows and query plan, and a
cProfile of the Python around them; and the results of a query mix saved to a file and compared with a later run,
so that a faster engine is shown to return the same hits, order, totals and facets."""

from __future__ import annotations

import cProfile
import dataclasses
import importlib.util
import io
import json
import pstats
import sqlite3
import sys
import time
from collections.abc import Iterable
from typing import Any

from chalicelib.search.engine import SearchIndex, SearchQuery


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Any:
        return iter(self.rows)


class _TimedConnection:
    """Stands in for the engine's connection: runs each statement to the end and notes its CPU time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.log: list[tuple[float, str, tuple[Any, ...], int]] = []

    def execute(self, sql: str, args: Iterable[Any] = ()) -> _Rows:
        args = tuple(args)
        started = time.thread_time()
        rows = self.conn.execute(sql, args).fetchall()
        self.log.append(((time.thread_time() - started) * 1000, sql, args, len(rows)))
        return _Rows(rows)


def explain(index: SearchIndex, query: SearchQuery, min_ms: float = 0.2) -> None:
    """Print the statements of one search that took at least `min_ms` CPU, with their plans."""
    real = index._conn
    timed = _TimedConnection(real)
    index._conn = timed  # type: ignore[assignment]
    try:
        index.search(query)
    finally:
        index._conn = real
    for ms, sql, args, count in timed.log:
        if ms < min_ms:
            continue
        print(f"      {ms:6.2f} ms  {count:5d} rows  {' '.join(sql.split())[:240]}  {str(args)[:120]}")
        for row in real.execute(f"EXPLAIN QUERY PLAN {sql}", args):
            print(f"                  {row[3]}")


def profile(index: SearchIndex, queries: list[SearchQuery], top: int = 12) -> None:
    """cProfile of the given searches, the functions with the most own time first."""
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        index.search(query)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])


class Baseline:
    """Another engine module (an older engine.py) over the same index file, timed query by query."""

    def __init__(self, engine_file: str, index_path: str) -> None:
        spec = importlib.util.spec_from_file_location("search_engine_baseline", engine_file)
        if spec is None or spec.loader is None:
            raise SystemExit(f"cannot load {engine_file}")
        self.module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = self.module  # dataclasses look their module up there
        spec.loader.exec_module(self.module)
        self.index = self.module.SearchIndex(index_path)
        self.index.search(self.module.SearchQuery(text="预热"))
        self.cpu_ms: list[float] = []
        self.results: list[dict[str, Any]] = []
        self._best = float("inf")
        self._last: dict[str, Any] = {}

    def run(self, query: SearchQuery) -> None:
        """One run of a query; the best CPU time of its runs counts (call finish_query after the last)."""
        started = time.thread_time()
        self._last = self.index.search(self.module.SearchQuery(**dataclasses.asdict(query)))
        self._best = min(self._best, (time.thread_time() - started) * 1000)

    def compare(self, queries: list[SearchQuery], results: list[dict[str, Any]]) -> int:
        """How many queries return something else than on the baseline (first few printed)."""
        differing = 0
        for query, mine, theirs in zip(queries, results, self.results, strict=True):
            if comparable(mine) != comparable(theirs):
                differing += 1
                if differing <= 5:
                    print(f"  differs from the baseline: {query}")
        return differing

    def finish_query(self) -> None:
        self.cpu_ms.append(self._best)
        self.results.append(self._last)
        self._best = float("inf")


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """What a user sees of a search, in a form that survives JSON."""
    return {
        "total": result["total"],
        "items": [item["product_id"] for item in result["items"]],
        "facets": result["facets"],
        "relaxed": result["relaxed"],
        "did_you_mean": result["did_you_mean"],
        "suggestions": result["suggestions"],
        "recommendations": [item["product_id"] for item in result["recommendations"]],
    }


def save_results(path: str, results: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump([comparable(result) for result in results], out, ensure_ascii=False)


def compare_results(path: str, queries: list[SearchQuery], results: list[dict[str, Any]]) -> int:
    """How many of the queries return something else than the saved run; the first few differences printed."""
    with open(path, encoding="utf-8") as saved_file:
        saved = json.load(saved_file)
    if len(saved) != len(results):
        print(f"results: {path} holds {len(saved)} queries, this run {len(results)}: not comparable")
        return len(results)
    differing = 0
    for query, before, result in zip(queries, saved, results, strict=True):
        now = json.loads(json.dumps(comparable(result), ensure_ascii=False))
        if before != now:
            differing += 1
            if differing <= 5:
                keys = [key for key in now if now[key] != before.get(key)]
                print(f"  differs ({', '.join(keys)}): {query}")
    return differing
