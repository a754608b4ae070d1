"""Search engine bench: a generated 100k-product catalog; index build time, query and suggest latency.

Run: .venv/bin/python bench/search.py [--products N] [--queries N] [--seed N] [--index PATH]
The catalog is made from the demo catalog's vocabulary (local/demo_data): each product takes a demo product of
the same leaf category as its template and reshuffles that category's title words, spec values and description
sentences around it, with long-tailed sales. Queries mix Chinese words, brands, pinyin, Latin model words and
empty-text browses with category/brand/price/stock filters, all six sorts and pages 1..3; every query computes
facets. Goals on this machine: build <= 60 s, query p99 <= 5 ms over the queries that find something (a query that
finds nothing is cheap and would flatter the figure; those are reported apart), suggest p99 <= 2 ms. It then times
an update in place of `--changes` products on a copy.

Each query runs `--runs` times (3) and counts its best CPU time (time.thread_time): the machine is shared, and wall
time includes waiting for a CPU (printed beside it). `--slowest N` prints the N slowest queries that found
something with their hits, `--explain` adds each one's SQL statements (CPU time, rows, query plan) and a cProfile.
`--save-results FILE` writes what each query returned (hits, order, totals, facets); `--check-results FILE` compares
this run with such a file (same --seed, --products and --queries): a faster engine must return the same.
`--baseline FILE` runs an older engine.py beside this one on the same index, query by query and run by run (the
fair comparison on a busy machine), prints its percentiles beside and counts the queries whose results differ:
  git show main:chalicelib/search/engine.py > /tmp/engine_main.py
  .venv/bin/python bench/search.py --baseline /tmp/engine_main.py
The older engine.py imports this tree's other search modules and reads this run's index: when those changed under it
(a module it uses, the index schema), run the older tree with `--save-results FILE` (and `--index PATH` to keep its
index) and this one with `--check-results FILE`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _search_profile

from chalicelib.search import text
from chalicelib.search.building import build_index
from chalicelib.search.documents import ProductDoc
from chalicelib.search.engine import SORTS, SearchIndex, SearchQuery
from chalicelib.search.updating import ChangeStats, IncompatibleIndex, apply_changes
from tests.search_relevance.demo_docs import demo_docs

GOALS = {"build_s": 60.0, "query_p99_ms": 5.0, "suggest_p99_ms": 2.0}


def generate_catalog(count: int, rng: random.Random) -> list[ProductDoc]:
    """`count` products in the demo catalog's words, spread over its leaf categories like the demo is."""
    templates = list(demo_docs())
    words_by_category: dict[str, list[str]] = defaultdict(list)
    sentences_by_category: dict[str, list[str]] = defaultdict(list)
    brands_by_category: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for doc in templates:
        words_by_category[doc.category_id].extend(doc.title.split()[1:])
        sentences_by_category[doc.category_id].extend(s for s in re.split(r"[。！；]", doc.description) if s)
        brands_by_category[doc.category_id].append((doc.brand_id, doc.brand_name))
    docs = []
    for number in range(count):
        template = rng.choice(templates)
        category = template.category_id
        brand_id, brand_name = rng.choice(brands_by_category[category])
        words = rng.sample(words_by_category[category], k=min(6, len(words_by_category[category])))
        title = " ".join([brand_name, *words[: rng.randint(3, 6)], f"{rng.choice('ABCDEFGHKMSX')}{rng.randint(1, 99)}"])
        description = "。".join(
            rng.sample(sentences_by_category[category], k=min(3, len(sentences_by_category[category])))
        )
        sales = int(rng.paretovariate(1.2) * 10) - 10
        docs.append(
            dataclasses.replace(
                template,
                product_id=f"p_bench{number:07d}",
                title=title,
                description=description,
                brand_id=brand_id,
                brand_name=brand_name,
                price_fen=max(100, int(template.price_fen * rng.uniform(0.5, 1.5))),
                sales=sales,
                review_count=sales // 10,
                rating_avg=round(rng.uniform(3.0, 5.0), 1),
                created_at=f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
                in_stock=rng.random() > 0.05,
                on_sale=rng.random() > 0.01,
            )
        )
    return docs


def query_words(docs: list[ProductDoc]) -> list[str]:
    """Words people type: category and brand names, title words, pinyin of those, Latin model words."""
    demo = demo_docs()
    words = {name for doc in demo for name in doc.category_names} | {doc.brand_name for doc in demo}
    for doc in demo:
        words.update(w for w in doc.title.split() if 2 <= len(w) <= 8)
    chinese = sorted(w for w in words if text.has_cjk(w))
    pinyin = [text.pinyin_of(w)[0] for w in chinese[::5]]
    return sorted(words) + pinyin


def make_queries(docs: list[ProductDoc], count: int, rng: random.Random) -> list[SearchQuery]:
    words = query_words(docs)
    categories = sorted({c for doc in demo_docs() for c in doc.category_path})
    brands = sorted({doc.brand_id for doc in demo_docs()})
    queries = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            query_text = ""
        elif roll < 0.7:
            query_text = rng.choice(words)
        else:
            query_text = f"{rng.choice(words)} {rng.choice(words)}"
        low = rng.choice([None, None, None, 10_000, 100_000])
        queries.append(
            SearchQuery(
                text=query_text,
                category_id=rng.choice(categories) if rng.random() < (0.9 if not query_text else 0.3) else None,
                brand_id=rng.choice(brands) if rng.random() < 0.15 else None,
                price_min_fen=low,
                price_max_fen=(low or 0) + 500_000 if rng.random() < 0.2 else None,
                in_stock=True if rng.random() < 0.3 else None,
                sort=rng.choice(["relevance"] * 5 + list(SORTS[1:])) if query_text else rng.choice(SORTS[1:]),
                page=rng.choice([1, 1, 1, 2, 3]),
                page_size=20,
            )
        )
    return queries


def make_prefixes(count: int, rng: random.Random) -> list[str]:
    demo = demo_docs()
    names = sorted({n for doc in demo for n in doc.category_names} | {doc.brand_name for doc in demo})
    prefixes = []
    for _ in range(count):
        name = rng.choice(names)
        form = rng.choice(["text", "text", "pinyin", "initials"])
        key = name if form == "text" else text.pinyin_of(name)[0 if form == "pinyin" else 1]
        prefixes.append(key[: rng.randint(1, max(1, min(len(key), 6)))])
    return prefixes


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--changes", type=int, default=100, help="changed products applied in place at the end")
    parser.add_argument("--index", help="keep the built index here, and reuse it when it exists (same arguments)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each query; its best CPU time counts")
    parser.add_argument("--slowest", type=int, default=5, help="print this many slowest queries that found something")
    parser.add_argument("--explain", action="store_true", help="with --slowest: SQL times, plans and a cProfile")
    parser.add_argument("--save-results", help="write each query's results to this file")
    parser.add_argument("--check-results", help="compare each query's results with this file (from --save-results)")
    parser.add_argument(
        "--baseline",
        help="an older engine.py (git show main:chalicelib/search/engine.py > FILE): each query also runs on it, on"
        " the same index, interleaved with this one; its figures are printed beside, and its results compared",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.perf_counter()
    docs = generate_catalog(args.products, rng)
    print(f"generated {len(docs)} products in {time.perf_counter() - started:.1f} s")
    popular = [(word, rng.randint(1, 500)) for word in rng.sample(query_words(docs), 200)]
    with tempfile.TemporaryDirectory() as directory:
        path = args.index or os.path.join(directory, "search.sqlite")
        build_seconds = 0.0
        if os.path.exists(path):
            print(f"build: reusing {path}")
        else:
            stats = build_index(docs, path, popular)
            build_seconds = stats.seconds
            print(
                f"build: {stats.seconds:.1f} s for {stats.products} products ({stats.skipped_off_sale} off sale),"
                f" {stats.suggestions} suggestions, {stats.bytes / 1e6:.1f} MB"
            )
        with SearchIndex(path) as index:
            queries = make_queries(docs, args.queries, rng)
            index.search(SearchQuery(text="预热"))
            baseline = _search_profile.Baseline(args.baseline, path) if args.baseline else None
            timings = []
            cpu_timings = []  # this thread's best CPU time: what the figure would be on an idle machine
            totals = []
            results = []
            for query in queries:
                wall, cpu = float("inf"), float("inf")
                for _ in range(max(1, args.runs)):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    result = index.search(query)
                    cpu = min(cpu, (time.thread_time() - c0) * 1000)
                    wall = min(wall, (time.perf_counter() - t0) * 1000)
                    if baseline:
                        baseline.run(query)
                if baseline:
                    baseline.finish_query()
                timings.append(wall)
                cpu_timings.append(cpu)
                totals.append(result["total"])
                results.append(result)
            if baseline:
                differing_baseline = baseline.compare(queries, results)
            slowest = sorted(
                (row for row in zip(cpu_timings, queries, totals, strict=True) if row[2]), key=lambda row: -row[0]
            )[: args.slowest]
            print(f"slowest queries that found something (best CPU of {args.runs} runs):")
            for ms, query, total in slowest:
                print(f"  {ms:7.2f} ms  hits {total:6d}  {query}")
                if args.explain:
                    _search_profile.explain(index, query)
            if args.explain:
                _search_profile.profile(index, [query for _ms, query, _total in slowest])
            if args.save_results:
                _search_profile.save_results(args.save_results, results)
                print(f"results saved to {args.save_results}")
            differing = None
            if args.check_results:
                differing = _search_profile.compare_results(args.check_results, queries, results)
                print(f"results: {differing} of {len(queries)} queries differ from {args.check_results}")
            prefixes = make_prefixes(args.queries, rng)
            suggest_timings = []
            for prefix in prefixes:
                t0 = time.perf_counter()
                index.suggest(prefix)
                suggest_timings.append((time.perf_counter() - t0) * 1000)
        changed = [dataclasses.replace(doc, title=f"{doc.title} 新款") for doc in rng.sample(docs, args.changes)]
        copy = os.path.join(directory, "changed.sqlite")
        shutil.copyfile(path, copy)
        t0 = time.perf_counter()
        try:
            applied: ChangeStats | None = apply_changes(copy, changed)
        except IncompatibleIndex as error:  # an --index built by an older schema (to compare with an older engine)
            applied = None
            print(f"update in place: skipped ({error}; build a new index to time it)")
        apply_ms = (time.perf_counter() - t0) * 1000
    load = os.getloadavg()[0]
    found = [ms for ms, total in zip(cpu_timings, totals, strict=True) if total]
    found_wall = [ms for ms, total in zip(timings, totals, strict=True) if total]
    empty = [ms for ms, total in zip(cpu_timings, totals, strict=True) if not total]
    query_p50, query_p99 = percentile(found, 0.5), percentile(found, 0.99)
    if baseline:
        before = [ms for ms, total in zip(baseline.cpu_ms, totals, strict=True) if total]
        print(
            f"baseline {args.baseline} on the same index, interleaved, queries finding something: p50"
            f" {percentile(before, 0.5):.2f} ms, p99 {percentile(before, 0.99):.2f} ms CPU (best of {args.runs});"
            f" {differing_baseline} of {len(queries)} queries return something else"
        )
    suggest_p50, suggest_p99 = percentile(suggest_timings, 0.5), percentile(suggest_timings, 0.99)
    print(
        f"queries finding something ({len(found)} of {len(queries)}), CPU time, best of {args.runs} runs:"
        f" p50 {query_p50:.2f} ms, p99 {query_p99:.2f} ms, max {max(found):.2f} ms; median hits"
        f" {statistics.median(totals):.0f}"
    )
    print(
        f"  wall time: p50 {percentile(found_wall, 0.5):.2f} ms, p99 {percentile(found_wall, 0.99):.2f} ms"
        f" (1-min load average {load:.1f} on {os.cpu_count()} CPUs: wall time includes waiting for a CPU)"
    )
    if empty:
        print(
            f"queries finding nothing ({len(empty)}), CPU time: p50 {percentile(empty, 0.5):.2f} ms,"
            f" p99 {percentile(empty, 0.99):.2f} ms (relaxed retries, did-you-mean and suggestions)"
        )
    print(f"suggest ({len(prefixes)}): p50 {suggest_p50:.3f} ms, p99 {suggest_p99:.3f} ms")
    if applied is not None:
        print(
            f"update in place: {applied.updated} changed products in {apply_ms:.0f} ms"
            f" ({apply_ms / max(1, applied.updated):.2f} ms a product, one transaction)"
        )
    verdicts = {
        "build_s": build_seconds,
        "query_p99_ms": query_p99,
        "suggest_p99_ms": suggest_p99,
    }
    for name, value in verdicts.items():
        goal = GOALS[name]
        print(f"{name}: {value:.2f} (goal <= {goal}) {'OK' if value <= goal else 'MISSED'}")
    if baseline:
        print(f"same results as the baseline engine: {'OK' if not differing_baseline else 'NO'}")
    if differing is not None:
        print(f"same results as {args.check_results}: {'OK' if not differing else f'NO ({differing} differ)'}")


if __name__ == "__main__":
    main()
