"""``mlflow-gitver compare``: the evaluation gate, a candidate version against a baseline.

The candidate (``--candidate``, default HEAD's clean version) and ``--baseline VERSION``
are what ``show`` takes; ``--baseline auto`` picks it from git (baseline.py).  Each
side's evaluation is its newest run on the candidate's dataset (evaluations.py); the
rows are paired by input and each scorer compared: by MLflow's own
``mlflow.genai.compare_evaluations`` when the installed MLflow has it (3.17.2 has
not; it needs numpy, pandas and scipy: the [eval] extra), else by evalstats.py.  Exit 0: no scorer
regressed; 1: one regressed beyond ``--max-drop`` or significantly; 4: no baseline or
no evaluation to compare (errors.EXIT_NO_BASELINE); 2: bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver.commands import from_namespace
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.evalstats import ScorerComparison
    from mlflow_gitver.evaluations import Evaluation, Table, Version

MAX_DEPTH = 1000
EVAL_EXTRA = "pip install 'mlflow-gitver[eval]'"


@dataclass(frozen=True)
class Args:
    candidate: str | None = None
    baseline: str = "auto"
    base_branch: str | None = None
    scorer: list[str] | None = None
    max_drop: float | None = None
    depth: int = 100
    summary: Path | None = None
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


@contextlib.contextmanager
def needs_eval_extra() -> Iterator[None]:
    """A module MLflow needs for reading or comparing evaluations missing: one line naming
    the extra (with mlflow-skinny 3.17.2 none is: tested with pandas and numpy blocked;
    MLflow's own compare_evaluations, where it exists, imports numpy, pandas, scipy)."""
    try:
        yield
    except ModuleNotFoundError as e:
        raise GitverError(
            f"compare needs the module {e.name!r}, which is not installed: {EVAL_EXTRA}",
            EXIT_FAILURE,
        ) from e


def run(args: Args) -> int:
    if args.max_drop is not None and not args.max_drop >= 0:
        raise GitverError(f"--max-drop {args.max_drop}: give a drop >= 0", EXIT_USAGE)
    if not 1 <= args.depth <= MAX_DEPTH:
        raise GitverError(f"--depth {args.depth}: give 1 to {MAX_DEPTH} commits", EXIT_USAGE)
    from mlflow_gitver.baseline import NoBaseline
    from mlflow_gitver.ci import evalsummary

    try:
        with needs_eval_extra():
            report = _compare(args)
    except NoBaseline as e:
        report = {"result": "no baseline", "error": e.message}
        if args.format == "json":  # a CI script reads stdout: say it there too
            print(json.dumps(report, indent=2, ensure_ascii=False))
        evalsummary.write(evalsummary.markdown(report), args.summary, os.environ)
        raise
    if args.format == "json":
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_lines(report)))
    evalsummary.write(evalsummary.markdown(report), args.summary, os.environ)
    return EXIT_FAILURE if report["regressed"] else EXIT_OK


def _compare(args: Args) -> dict[str, Any]:
    from mlflow_gitver import lookup, mlflow_api, tracking
    from mlflow_gitver.baseline import NoBaseline
    from mlflow_gitver.commands.show import VersionFinder
    from mlflow_gitver.context import open_repo, open_repo_if_any
    from mlflow_gitver.evaluations import evaluations_of, table_of, version_of_info

    auto = args.baseline == "auto"
    repo = open_repo(args.repo) if auto or args.candidate is None else open_repo_if_any(args.repo)
    finder = VersionFinder(repo, args.config, args.app, args.tracking_uri, args.experiment)
    cand = version_of_info(finder.find(args.candidate or "HEAD"))
    base_given = None if auto else version_of_info(finder.find(args.baseline))
    if base_given is not None and base_given.model_id == cand.model_id:
        raise GitverError(
            f"--baseline {args.baseline} is the candidate itself ({cand.model_id})", EXIT_USAGE
        )
    shown = tracking.display(finder.uri)
    with (
        tracking.mlflow_env(finder.uri),
        mlflow_api.failing("comparing evaluations", shown),
    ):
        edge = mlflow_api.connect(finder.uri)
        cand_evals = evaluations_of(edge, [cand])[cand.model_id]
        if not cand_evals:
            raise NoBaseline(
                f"no evaluation: version {cand.model_name} ({cand.model_id}) has no evaluation "
                f"run at {shown}; run mlflow.genai.evaluate(..., model_id='{cand.model_id}'), "
                "or evaluate in a process with MLFLOW_ACTIVE_MODEL_ID set to it"
            )
        cev = cand_evals[0]
        tables: dict[str, Table] = {}

        def table(e: Evaluation) -> Table:
            if e.run_id not in tables:
                tables[e.run_id] = table_of(edge, e)
            return tables[e.run_id]

        def same_rows(e: Evaluation) -> bool:
            return table(e).rows.keys() == table(cev).rows.keys()

        if not table(cev).rows:
            # A baseline with no rows is never "the same data" as a candidate with some.
            raise NoBaseline(
                f"no rows: the candidate's evaluation run {cev.run_id} has no traces to "
                "compare (MLflow logs none with MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION=True)"
            )

        if base_given is None:
            assert repo is not None
            eids = (
                lookup.lookup_experiments(edge, finder.choice)
                if finder.choice is not None
                else [cand.experiment_id]
            )
            base, bev, why = _auto(edge, repo, args, cand, cev, eids, finder, same_rows)
        else:
            base = base_given
            bev, why = _given(edge, base, cev, same_rows), "given with --baseline"
        ctab, btab = table(cev), table(bev)
        mlflow_result = None
        if mlflow_api.has_compare_evaluations():
            mlflow_result = mlflow_api.compare_runs(edge, cev.run_id, bev.run_id)
    results = _scorers(args.scorer, ctab, btab, mlflow_result)
    return _report(args, cand, cev, base, bev, why, ctab, btab, results, mlflow_result is not None)


def _auto(
    edge: Any,
    repo: Any,
    args: Args,
    cand: Version,
    cev: Evaluation,
    eids: list[str],
    finder: Any,
    same_rows: Callable[[Evaluation], bool],
) -> tuple[Version, Evaluation, str]:
    from mlflow_gitver import baseline, git

    if not cand.commit or git.resolve_commit(repo, cand.commit) is None:
        raise GitverError(
            f"the candidate's commit {cand.commit or '(none)'} is not in this clone: fetch it, "
            "or pass --baseline VERSION",
            EXIT_USAGE,
        )
    tip, name = baseline.base_ref(repo, args.base_branch)
    chain, started = baseline.ancestors(repo, cand.commit, tip, name, args.depth)
    app = finder.app.name if finder.app is not None else None
    pick = baseline.find(edge, chain, started, cev.digest, eids, app, cand.model_id, same_rows)
    return pick.version, pick.evaluation, pick.why


def _given(
    edge: Any, base: Version, cev: Evaluation, same_rows: Callable[[Evaluation], bool]
) -> Evaluation:
    from mlflow_gitver.baseline import NoBaseline
    from mlflow_gitver.evaluations import evaluations_of

    evals = evaluations_of(edge, [base])[base.model_id]
    for e in evals:
        if e.digest == cev.digest and same_rows(e):
            return e
    if not evals:
        raise NoBaseline(
            f"no evaluation: the baseline {base.model_name} ({base.model_id}) has no evaluation run"
        )
    theirs = ", ".join(sorted({f"{e.dataset} ({e.digest})" for e in evals}))
    raise NoBaseline(
        f"different datasets: the candidate was evaluated on {cev.dataset} (digest "
        f"{cev.digest}, run {cev.run_id}), the baseline {base.model_id} only on {theirs}, "
        "or on other inputs (MLflow's digest counts rows, not their values); evaluate both "
        "on the same data"
    )


def _scorers(
    named: Sequence[str] | None, ctab: Table, btab: Table, mlflow_result: Any
) -> list[ScorerComparison]:
    """Each scorer compared: by MLflow's compare_evaluations when this MLflow has it (a
    scorer it did not compare, by ours), else by ours (evalstats.py)."""
    from mlflow_gitver.baseline import NoBaseline
    from mlflow_gitver.evalstats import compare_scorer, from_mlflow

    if named:
        for s in named:
            for side, table in (("candidate", ctab), ("baseline", btab)):
                if s not in table.scorers:
                    has = ", ".join(sorted(table.scorers)) or "none"
                    raise NoBaseline(
                        f"no evaluation of scorer {s!r} in the {side}'s run (numeric scorers "
                        f"there: {has})"
                    )
        chosen = list(dict.fromkeys(named))
    else:
        chosen = sorted(ctab.scorers & btab.scorers)
        if not chosen:
            raise NoBaseline(
                f"no scorer in common: the candidate's run has {sorted(ctab.scorers)}, the "
                f"baseline's {sorted(btab.scorers)}"
            )
    return [
        (from_mlflow(mlflow_result, s) if mlflow_result is not None else None)
        or compare_scorer(s, btab.view(), ctab.view())
        for s in chosen
    ]


def _verdict(r: ScorerComparison, max_drop: float | None) -> str:
    if r.n == 0:
        return "no paired rows"
    if max_drop is not None and r.delta is not None and r.delta < -max_drop:
        return f"regressed (beyond --max-drop {max_drop:g})"
    if r.regressed(max_drop):
        return "regressed (significant)"
    if r.significant:
        return "improved (significant)"
    return "no significant change"


def _side(v: Version, e: Evaluation) -> dict[str, Any]:
    return {
        "model_id": v.model_id,
        "model_name": v.model_name,
        "commit": v.commit,
        "experiment_id": v.experiment_id,
        "evaluation": e.as_json(),
    }


def _report(
    args: Args,
    cand: Version,
    cev: Evaluation,
    base: Version,
    bev: Evaluation,
    why: str,
    ctab: Table,
    btab: Table,
    results: list[ScorerComparison],
    by_mlflow: bool,
) -> dict[str, Any]:
    from mlflow_gitver.evalstats import METHOD, MLFLOW_METHOD

    scorers = [{**r.as_json(args.max_drop), "verdict": _verdict(r, args.max_drop)} for r in results]
    regressed = [s["scorer"] for s in scorers if s["regressed"]]
    only_c = len(ctab.rows.keys() - btab.rows.keys())
    only_b = len(btab.rows.keys() - ctab.rows.keys())
    paired = len(ctab.rows.keys() & btab.rows.keys())
    note = (
        f"rows: {paired} inputs on both sides, {only_c} only in the candidate, {only_b} only "
        "in the baseline"
    )
    dups = ctab.duplicates + btab.duplicates
    if dups:
        note += f"; {dups} repeated input(s) averaged"
    skipped = sorted((ctab.not_numeric | btab.not_numeric) - {s["scorer"] for s in scorers})
    if skipped:
        note += f"; not numeric, not compared: {', '.join(skipped)}"
    return {
        "result": ("regression: " + ", ".join(regressed)) if regressed else "ok",
        "regressed": regressed,
        "candidate": _side(cand, cev),
        "baseline": _side(base, bev),
        "baseline_why": why,
        "max_drop": args.max_drop,
        "scorers": scorers,
        "rows": {"paired": paired, "only_candidate": only_c, "only_baseline": only_b},
        "rows_note": note,
        "method": MLFLOW_METHOD
        if by_mlflow
        else METHOD + "; computed here (this MLflow has no mlflow.genai.compare_evaluations)",
    }


def _lines(report: dict[str, Any]) -> list[str]:
    c, b = report["candidate"], report["baseline"]
    ce, be = c["evaluation"], b["evaluation"]
    out = [
        f"candidate: {c['model_name']} ({c['model_id']}, commit {c['commit'][:12]}), run "
        f"{ce['run_id']}",
        f"baseline:  {b['model_name']} ({b['model_id']}, commit {b['commit'][:12]}), run "
        f"{be['run_id']}",
        f"  picked: {report['baseline_why']}",
        f"dataset:   {ce['dataset_name']} (digest {ce['dataset_digest']})",
        "",
    ]
    head = ("scorer", "baseline", "candidate", "delta", "95% CI", "n", "verdict")
    rows = [head]
    for s in report["scorers"]:
        ci = s["ci95"]
        rows.append(
            (
                s["scorer"],
                "" if s["baseline"] is None else f"{s['baseline']:.3f}",
                "" if s["candidate"] is None else f"{s['candidate']:.3f}",
                "" if s["delta"] is None else f"{s['delta']:+.3f}",
                "" if ci is None else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]",
                str(s["n"]),
                s["verdict"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out += ["", report["rows_note"], f"method: {report['method']}", f"result: {report['result']}"]
    return out
