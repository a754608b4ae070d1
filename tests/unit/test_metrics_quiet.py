"""Metrics disabled (the local console) print nothing, however many invocations add them."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.observability import metrics, observe_invocation


def test_disabled_metrics_never_reach_the_console_even_after_a_hundred_invocations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN metrics disabled, as `make run` disables them
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    def handler(_event: Any) -> str:
        metrics.add_metric(name="Probe", unit="Count", value=0)
        return "ok"

    # WHEN 150 invocations each add a value
    for _ in range(150):
        assert observe_invocation(object(), handler) == "ok"

    # THEN no metric JSON was printed (powertools prints a set reaching 100 values unless it is cleared)
    assert '"_aws"' not in capsys.readouterr().out
    assert not metrics.metric_set
