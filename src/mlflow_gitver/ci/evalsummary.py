"""The summary of ``compare``: a Markdown table for GitHub's step summary or a file.

On GitHub Actions it is appended to ``$GITHUB_STEP_SUMMARY`` through the github
provider's own plan (the registration's summary path: ``MLFLOW_GITVER_SUMMARY=false``
skips it); under the other CI systems it is written to :data:`DEFAULT_PATH` (for a
step that posts it as a pull-request comment); ``--summary FILE`` writes it there too,
anywhere.  Every value is escaped (summary.escape): a model or scorer name cannot add
Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow_gitver.ci.summary import escape

DEFAULT_PATH = Path("mlflow-gitver-compare.md")


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _ci(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def markdown(report: Mapping[str, Any]) -> str:
    """The Markdown of a comparison report (commands/compare.py's JSON)."""
    regressed = report.get("regressed") or []
    result = ("regression: " + ", ".join(map(escape, regressed))) if regressed else report["result"]
    head = "### Evaluation gate: " + result
    if report.get("error"):
        return f"{head}\n\n{escape(report['error'])}\n"
    cand, base = report["candidate"], report["baseline"]
    lines = [
        head,
        "",
        f"Candidate: {escape(cand['model_name'])} ({escape(cand['model_id'])}, commit "
        f"{escape(cand['commit'][:12])})  ",
        f"Baseline: {escape(base['model_name'])} ({escape(base['model_id'])}, commit "
        f"{escape(base['commit'][:12])}): {escape(report['baseline_why'])}  ",
        f"Dataset: {escape(cand['evaluation']['dataset_name'])} (digest "
        f"{escape(cand['evaluation']['dataset_digest'])})",
        "",
        "| Scorer | Baseline | Candidate | Delta | 95% CI | Paired rows | Verdict |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for s in report["scorers"]:
        delta = "" if s["delta"] is None else f"{s['delta']:+.3f}"
        lines.append(
            f"| {escape(s['scorer'])} | {_num(s['baseline'])} | {_num(s['candidate'])} | "
            f"{delta} | {_ci(s['ci95'])} | {s['n']} | {escape(s['verdict'])} |"
        )
    # The method is ours, not data: no escaping.
    lines += ["", escape(report["rows_note"]), "", "Method: " + report["method"]]
    return "\n".join(lines) + "\n"


def write(text: str, path: Path | None, environ: Mapping[str, str]) -> list[str]:
    """Write the summary where this CI reads it and to ``path``; where it went."""
    from mlflow_gitver import ci
    from mlflow_gitver.ci import common
    from mlflow_gitver.ci.providers import Exports

    where: list[str] = []
    provider = ci.auto(environ)
    if provider == "github":
        exports = Exports(outputs={}, env_vars={}, summary=text, environ=environ)
        for w in ci.provider("github").plan(exports):
            w()
            where.append("GITHUB_STEP_SUMMARY")
    elif provider != "none" and path is None:
        path = DEFAULT_PATH
    if path is not None:
        common.atomic_write(path, text.encode("utf-8"))
        where.append(str(path))
    return where
