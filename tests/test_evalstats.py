"""compare's statistics (evalstats.py): pure functions, checked against scipy where it
is installed (the dev environment's full mlflow brings it) and against hand-worked cases."""

from __future__ import annotations

import math

import pytest

from mlflow_gitver.evalstats import (
    compare_scorer,
    input_key,
    numeric,
    paired_interval,
    t975,
)


def test_the_t_quantiles_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 200), 250, 500, 1000, 10**6]:
        assert abs(t975(df) - float(stats.t.ppf(0.975, df))) < 0.002, df
    with pytest.raises(ValueError):
        t975(0)


def test_values_as_numbers() -> None:
    assert [numeric(v) for v in (True, False, "yes", "No", " TRUE ", "fail")] == [1, 0, 1, 0, 1, 0]
    assert numeric(3) == 3.0 and numeric("0.25") == 0.25
    for v in ("maybe", None, {"a": 1}, [1], float("nan"), "inf"):
        assert numeric(v) is None, v


def test_inputs_pair_whatever_their_key_order() -> None:
    assert input_key({"b": 1, "a": [1, "é"]}) == input_key({"a": [1, "é"], "b": 1})
    assert input_key({"a": 1}) != input_key({"a": "1"})


def test_the_paired_interval_by_hand() -> None:
    # 5 of 20 rows drop by 1: mean -0.25, sd 0.4443, se 0.0993, t(19) 2.093.
    diffs = [-1.0] * 5 + [0.0] * 15
    low, high = paired_interval(diffs) or (0.0, 0.0)
    sd = math.sqrt((5 * 0.75**2 + 15 * 0.25**2) / 19)
    assert low == pytest.approx(-0.25 - 2.093 * sd / math.sqrt(20))
    assert high == pytest.approx(-0.25 + 2.093 * sd / math.sqrt(20))
    assert high < 0
    assert paired_interval([0.5]) is None and paired_interval([]) is None
    assert paired_interval([0.2, 0.2, 0.2]) == pytest.approx((0.2, 0.2))


def test_a_scorer_compared_over_the_paired_rows_only() -> None:
    base = {"a": {"s": [1.0]}, "b": {"s": [1.0]}, "c": {"s": [0.0]}, "only_b": {"s": [1.0]}}
    cand = {"a": {"s": [0.0, 1.0]}, "b": {"s": [1.0]}, "c": {"s": [1.0]}, "new": {"s": [0.0]}}
    r = compare_scorer("s", base, cand)
    assert r.n == 3 and r.only_baseline == 1 and r.only_candidate == 1
    # a: repeated input averaged (0.5); deltas -0.5, 0, +1.
    assert r.baseline == pytest.approx(2 / 3) and r.candidate == pytest.approx(2.5 / 3)
    assert r.delta == pytest.approx(0.5 / 3)
    assert not r.significant and not r.regressed(None)
    assert r.regressed(0.0) is False  # a rise is never a regression
    empty = compare_scorer("other", base, cand)
    assert empty.n == 0 and empty.delta is None and not empty.regressed(0.0)


def test_regression_rules() -> None:
    base = {str(i): {"s": [1.0]} for i in range(20)}
    small = {str(i): {"s": [0.0 if i == 0 else 1.0]} for i in range(20)}
    big = {str(i): {"s": [0.0 if i < 6 else 1.0]} for i in range(20)}
    r = compare_scorer("s", base, small)
    assert not r.significant and not r.regressed(None) and not r.regressed(0.1)
    assert r.regressed(0.01)
    r = compare_scorer("s", base, big)
    assert r.significant and r.regressed(None) and r.regressed(0.5)
    j = r.as_json(None)
    assert j["delta"] == pytest.approx(-0.3) and j["regressed"] and j["n"] == 20


def test_mlflows_own_comparison_is_read_field_by_field() -> None:
    # MLflow 3.17.2 has no compare_evaluations (so compare never calls it here): this
    # checks only our reading of its result, built with the fields its source declares
    # (mlflow/genai/evaluation/comparison.py: ComparisonResult, ScorerComparison).
    from types import SimpleNamespace

    from mlflow_gitver.evalstats import from_mlflow

    worse = SimpleNamespace(
        status="ok", n_paired=20, baseline_mean=1.0, candidate_mean=0.7, diff=-0.3,
        ci_low=-0.5, ci_high=-0.1, p_value=0.03, method="mcnemar_exact",
    )  # fmt: skip
    noise = SimpleNamespace(
        status="ok", n_paired=20, baseline_mean=0.5, candidate_mean=0.45, diff=-0.05,
        ci_low=-0.2, ci_high=0.1, p_value=0.6, method="wilcoxon",
    )  # fmt: skip
    few = SimpleNamespace(
        status="insufficient_pairs", n_paired=1, baseline_mean=None, candidate_mean=None,
        diff=None, ci_low=None, ci_high=None, p_value=None, method=None,
    )  # fmt: skip
    result = SimpleNamespace(
        scorers={"exact": worse, "len": noise, "rare": few},
        unpaired_baseline_trace_ids=["tr-1"],
        unpaired_candidate_trace_ids=[],
    )
    r = from_mlflow(result, "exact")
    assert r is not None and r.significant and r.regressed(None)
    assert (r.n, r.delta, r.ci, r.method, r.only_baseline) == (
        20,
        -0.3,
        (-0.5, -0.1),
        "mcnemar_exact",
        1,
    )
    n = from_mlflow(result, "len")
    assert n is not None and not n.significant and not n.regressed(None) and n.regressed(0.01)
    f = from_mlflow(result, "rare")
    assert f is not None and f.delta is None and not f.regressed(0.0)
    assert from_mlflow(result, "absent") is None
