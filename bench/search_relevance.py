"""Relevance of search on the demo catalog: precision@5 and nDCG@10 over the judged queries, per query and overall.

Run: .venv/bin/python bench/search_relevance.py
The judged set is tests/search_relevance/judged.toml; tests/unit/test_search_relevance.py keeps the overall
figures above the floors it names.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.search.building import build_index
from chalicelib.search.engine import SearchIndex
from tests.search_relevance.demo_docs import demo_docs
from tests.search_relevance.evaluate import evaluate


def main() -> None:
    docs = demo_docs()
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "demo.sqlite")
        build_index(docs, path)
        with SearchIndex(path) as index:
            scores = evaluate(index, docs)
    print(f"{'query':<24} {'P@5':>5} {'nDCG@10':>8}")
    for query, precision, ndcg in sorted(scores.per_query, key=lambda row: row[2]):
        print(f"{query:<24} {precision:5.2f} {ndcg:8.3f}")
    print(
        f"\n{len(scores.per_query)} queries: precision@5 {scores.precision_at_5:.3f}, nDCG@10 {scores.ndcg_at_10:.3f}"
    )


if __name__ == "__main__":
    main()
