"""The statistics of ``compare``: rows paired by input, and a paired t-interval per scorer.

Pure Python (no numpy, no scipy: ``compare`` runs in the light environment).

Method, per scorer: the rows of the two evaluations are paired by their inputs (the
canonical JSON of each row's inputs: keys sorted, no spaces), so each pair is one
input scored once by the baseline and once by the candidate.  A row whose input
appears several times on one side counts once, with the mean of its values.  For
the n pairs, d_i = candidate_i - baseline_i; the delta is the mean of the d_i (equal
to the candidate's mean minus the baseline's, over the paired rows), and its 95%
confidence interval is Student's paired t-interval, mean(d) +- t(0.975, n-1) *
sd(d) / sqrt(n).  The change is significant (two-sided, 5%) when the interval
excludes 0.  With n < 2 there is no interval and nothing is significant.  The
t-interval assumes the mean of the d_i is about normal: sound for a few dozen rows
or more; for pass/fail scorers on a handful of rows it is an approximation.
Values: a bool, ``yes``/``no`` and ``true``/``false`` (any case) map to 1/0, a number
is itself; anything else (text, a dict, an error) is not numeric and is left out.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
METHOD = (
    "rows paired by input (canonical JSON); delta = mean of candidate - baseline over the "
    "paired rows; 95% CI: Student's paired t-interval; significant when the CI excludes 0"
)

# Student's t quantile t(0.975, df), df 1..30, then 40, 60, 120 and the normal's 1.96
# (standard tables); between 30 and infinity, linear in 1/df (error < 0.002).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_T975_TAIL = ((30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980), (math.inf, 1.960))

_TRUE = ("yes", "true", "pass", "passed")
_FALSE = ("no", "false", "fail", "failed")


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, not {df}")
    if df <= 30:
        return _T975[df - 1]
    for (lo, t_lo), (hi, t_hi) in itertools.pairwise(_T975_TAIL):
        if df <= hi:
            # Linear in 1/df: 1/inf is 0.
            x, x_lo, x_hi = 1 / df, 1 / lo, (0.0 if hi == math.inf else 1 / hi)
            return t_hi + (t_lo - t_hi) * (x - x_hi) / (x_lo - x_hi)
    raise AssertionError("unreachable")  # pragma: no cover


def input_key(inputs: Any) -> str:
    """The key rows are paired by: the canonical JSON of a row's inputs."""
    return json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def numeric(value: Any) -> float | None:
    """A scorer's value as a number (bool and yes/no: 1/0), or None when it is not one."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return 1.0
        if low in _FALSE:
            return 0.0
        try:
            number = float(low)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


# One side of a comparison: input key -> scorer -> the values of that input's rows.
Rows = Mapping[str, Mapping[str, Sequence[float]]]


@dataclass(frozen=True)
class ScorerComparison:
    scorer: str
    n: int  # paired rows
    baseline: float | None  # mean over the paired rows
    candidate: float | None
    delta: float | None  # candidate - baseline
    ci: tuple[float, float] | None  # 95% CI of the mean paired difference
    only_baseline: int  # inputs scored in the baseline only (no candidate value)
    only_candidate: int
    # MLflow's compare_evaluations decides by its test's p-value (None: ours, by the CI).
    p_value: float | None = None
    method: str = "paired t-interval"

    @property
    def significant(self) -> bool:
        if self.p_value is not None:
            return self.p_value < ALPHA and bool(self.delta)
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    def regressed(self, max_drop: float | None) -> bool:
        """Worse beyond ``max_drop`` (when given), or significantly worse."""
        if self.delta is None:
            return False
        if max_drop is not None and self.delta < -max_drop:
            return True
        return self.significant and self.delta < 0

    def as_json(self, max_drop: float | None) -> dict[str, Any]:
        return {
            "scorer": self.scorer,
            "n": self.n,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "delta": self.delta,
            "ci95": list(self.ci) if self.ci is not None else None,
            "significant": self.significant,
            "regressed": self.regressed(max_drop),
            "only_baseline": self.only_baseline,
            "only_candidate": self.only_candidate,
            "p_value": self.p_value,
            "method": self.method,
        }


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def paired_interval(diffs: Sequence[float]) -> tuple[float, float] | None:
    """The 95% t-interval of the mean of ``diffs``; None with fewer than 2."""
    n = len(diffs)
    if n < 2:
        return None
    mean = _mean(diffs)
    var = math.fsum((d - mean) ** 2 for d in diffs) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n)
    return (mean - half, mean + half)


def compare_scorer(scorer: str, baseline: Rows, candidate: Rows) -> ScorerComparison:
    """The paired comparison of ``scorer`` between the two sides' rows."""
    base = {k: _mean(v[scorer]) for k, v in baseline.items() if v.get(scorer)}
    cand = {k: _mean(v[scorer]) for k, v in candidate.items() if v.get(scorer)}
    keys = sorted(base.keys() & cand.keys())
    only_b, only_c = len(base.keys() - cand.keys()), len(cand.keys() - base.keys())
    if not keys:
        return ScorerComparison(scorer, 0, None, None, None, None, only_b, only_c)
    diffs = [cand[k] - base[k] for k in keys]
    return ScorerComparison(
        scorer,
        len(keys),
        _mean([base[k] for k in keys]),
        _mean([cand[k] for k in keys]),
        _mean(diffs),
        paired_interval(diffs),
        only_b,
        only_c,
    )


MLFLOW_METHOD = (
    "mlflow.genai.compare_evaluations: rows paired on the evaluation request id, else a "
    "hash of the inputs; significant when its test's p-value < 0.05 (McNemar for pass/fail, "
    "Wilcoxon signed-rank for numbers); 95% CI: percentile bootstrap of the mean paired "
    "difference (fixed seed)"
)


def from_mlflow(result: Any, scorer: str) -> ScorerComparison | None:
    """``scorer`` from MLflow's ``ComparisonResult`` (mlflow.genai.compare_evaluations,
    in MLflow's source after 3.17.2: ``scorers[name]`` with ``n_paired``,
    ``baseline_mean``, ``candidate_mean``, ``diff``, ``ci_low``, ``ci_high``,
    ``p_value``, ``method``; rows it could not pair as trace id lists); None when MLflow
    did not compare it."""
    found = (getattr(result, "scorers", None) or {}).get(scorer)
    if found is None:
        return None
    ok = getattr(found, "status", "ok") == "ok"
    ci = (found.ci_low, found.ci_high) if ok and found.ci_low is not None else None
    return ScorerComparison(
        scorer,
        int(found.n_paired),
        found.baseline_mean if ok else None,
        found.candidate_mean if ok else None,
        found.diff if ok else None,
        ci,
        len(getattr(result, "unpaired_baseline_trace_ids", None) or ()),
        len(getattr(result, "unpaired_candidate_trace_ids", None) or ()),
        p_value=found.p_value if ok else None,
        method=str(found.method or "mlflow"),
    )
