"""``mlflow-gitver compare``: the evaluation gate, on the real server, with real
``mlflow.genai.evaluate`` runs of deterministic code scorers (testing/evals.py).

One history for the module (built once: each evaluation costs seconds):

    main:    m1 - m2 - m3 - m4 - m5          (origin/main is m5)
                            \\
    feature:                 f1 - f2 - f3

m1 is evaluated with 5 of 20 rows wrong, m2 with none; m3 only on another dataset,
and a dirty version at m3 on the main dataset (dirty versions are never baselines);
m4 is not registered; m5 (not an ancestor of the feature) is evaluated perfectly and
must not be picked.  The feature's baseline is m2.  f1 equals it, f2 gets one row
wrong (a drop nothing can call significant), f3 six (significant; evaluated through
MLFLOW_ACTIVE_MODEL_ID alone).  ``noeval`` is registered and never evaluated.  On
the branch ``odd`` (from m2): o1 adds a text-valued scorer, o2 and o3 are evaluated
on 21 rows (q0 twice), o4 with MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION=True.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.cli import cli
from testing.evals import Job, evaluate
from testing.isolation import isolate
from testing.network import guard_children
from testing.repos import clone, commit_all, git, init_repo, write
from testing.server import MlflowServer

pytestmark = [pytest.mark.server, pytest.mark.slow]


@dataclass(frozen=True)
class History:
    repo: Path
    uri: str
    ids: dict[str, str]  # m1, m2, ..., f3, dirty3, noeval -> model id
    commits: dict[str, str]


def _register(repo: Path) -> dict[str, Any]:
    # In this process (main(), as a user's shell would run it): one MLflow import for the
    # dozen versions of the history, not one per version.
    import contextlib
    import io

    from mlflow_gitver.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["register", "--format", "json", "--repo", str(repo)])
    assert code == 0
    return dict(json.loads(out.getvalue()))


@pytest.fixture(scope="module")
def history(
    mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    with pytest.MonkeyPatch.context() as mp:
        isolate(
            mp,
            tmp_path_factory.mktemp("home"),
            tmp_path_factory.mktemp("cwd"),
            tmp_path_factory.mktemp("pch"),
        )
        guard_children(mp, tmp_path_factory.mktemp("net") / "blocked.log")
        if mlflow_server.proc is None:
            mlflow_server.start()
        uri = mlflow_server.url
        top = tmp_path_factory.mktemp("compare")
        origin = top / "origin.git"
        git(top, "init", "-q", "--bare", "-b", "main", str(origin))
        seed = init_repo(top / "seed")
        exp = f"compare-{uuid.uuid4().hex[:8]}"
        write(seed / ".mlflow-gitver.yaml", f"name: gate\nexperiment: {exp}\ntracking_uri: {uri}\n")
        write(seed / "app.py", "v = 1\n")
        commit_all(seed, "m1")
        git(seed, "remote", "add", "origin", str(origin))
        git(seed, "push", "-q", "origin", "main")
        repo = clone(origin, top / "repo")
        ids: dict[str, str] = {}
        commits: dict[str, str] = {}
        regs: dict[str, dict[str, Any]] = {}

        def version(name: str, register: bool = True) -> None:
            if name != "m1":
                write(repo / "app.py", f"v = {name!r}\n")
                commits[name] = commit_all(repo, name)
            else:
                commits[name] = git(repo, "rev-parse", "HEAD").strip()
            if register:
                regs[name] = _register(repo)
                ids[name] = regs[name]["model_id"]

        version("m1")
        version("m2")
        version("m3")
        write(repo / "wip.txt", "uncommitted\n")
        regs["dirty3"] = _register(repo)
        ids["dirty3"] = regs["dirty3"]["model_id"]
        assert regs["dirty3"]["dirty"] is True
        (repo / "wip.txt").unlink()
        version("m4", register=False)
        git(repo, "checkout", "-q", "-b", "feature")
        for f in ("f1", "f2", "f3"):
            version(f)
        git(repo, "checkout", "-q", "-b", "noeval", commits["m1"])
        version("noeval")
        git(repo, "checkout", "-q", "-b", "odd", commits["m2"])
        for o in ("o1", "o2", "o3", "o4"):
            version(o)
        git(repo, "checkout", "-q", "main")
        version("m5")
        git(repo, "push", "-q", "origin", "main")
        git(repo, "checkout", "-q", "feature")
        eid = regs["m1"]["experiment_id"]

        def job(name: str, **kw: Any) -> Job:
            return Job(model_id=ids[name], experiment_id=eid, **kw)

        evaluate(
            uri,
            [
                job("m1", wrong=range(5)),
                job("m2"),
                job("m3", dataset="other"),
                job("dirty3", wrong=range(10, 20)),
                job("m5"),
                job("f1", broken=[19]),
                job("f2", wrong=[0]),
                job("f3", wrong=range(6), active=True),
                job("o1", mood=True),
                job("o2", dataset="repeated"),
                job("o3", dataset="repeated", wrong=[0]),
                job("o4", skip_traces=True),
            ],
        )
        yield History(repo, uri, ids, commits)


def _compare(h: History, *args: str, env: dict[str, str] | None = None) -> Any:
    return cli("compare", "--format", "json", *args, cwd=h.repo, env=env)


def _json(out: Any) -> dict[str, Any]:
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def _scorer(report: dict[str, Any], name: str) -> dict[str, Any]:
    [s] = [s for s in report["scorers"] if s["scorer"] == name]
    return s


def test_the_baseline_is_the_nearest_evaluated_clean_ancestor_on_the_base_branch(
    history: History,
) -> None:
    out = _compare(history, "--candidate", history.commits["f1"])
    report = _json(out)
    assert out.returncode == 0, out.stderr
    names = {v: k for k, v in history.ids.items()}
    assert names[report["baseline"]["model_id"]] == "m2", report
    assert report["candidate"]["model_id"] == history.ids["f1"]
    why = report["baseline_why"]
    assert f"merge-base {history.commits['m4'][:12]}" in why and "origin/main" in why
    # m4 (not registered), m3 (another dataset; its dirty version does not count).
    assert "3 commit(s) back" in why
    assert "1 with no clean version registered" in why
    assert "1 with no evaluation on this dataset" in why
    exact = _scorer(report, "exact")
    assert exact["n"] == 20 and exact["delta"] == 0 and exact["ci95"] == [0, 0]
    assert exact["verdict"] == "no significant change" and report["result"] == "ok"
    # polite raised on row 19 of f1: that row is the baseline's only.
    polite = _scorer(report, "polite")
    assert polite["n"] == 19 and polite["only_baseline"] == 1 and polite["only_candidate"] == 0
    assert report["rows"] == {"paired": 20, "only_candidate": 0, "only_baseline": 0}
    assert {s["scorer"] for s in report["scorers"]} == {"exact", "polite", "overlap"}


def test_a_significantly_worse_candidate_fails(history: History) -> None:
    # HEAD is f3, evaluated by a process that had only MLFLOW_ACTIVE_MODEL_ID.
    out = _compare(history)
    report = _json(out)
    assert out.returncode == 1, out.stderr
    assert report["candidate"]["model_id"] == history.ids["f3"]
    assert report["baseline"]["model_id"] == history.ids["m2"]
    exact = _scorer(report, "exact")
    assert exact["baseline"] == 1.0 and exact["candidate"] == pytest.approx(0.7)
    assert exact["delta"] == pytest.approx(-0.3)
    low, high = exact["ci95"]
    assert low < -0.3 < high < 0 and exact["significant"] and exact["regressed"]
    assert "exact" in report["regressed"] and report["result"].startswith("regression: ")
    text = cli("compare", cwd=history.repo)
    assert text.returncode == 1
    assert "regressed (significant)" in text.stdout and "picked: the nearest" in text.stdout


def test_a_small_drop_passes_unless_max_drop_says_otherwise(history: History) -> None:
    f2 = history.commits["f2"]
    report = _json(out := _compare(history, "--candidate", f2, "--scorer", "exact"))
    assert out.returncode == 0, out.stderr
    exact = _scorer(report, "exact")
    assert exact["delta"] == pytest.approx(-0.05) and not exact["significant"]
    assert [s["scorer"] for s in report["scorers"]] == ["exact"]
    assert _compare(history, "--candidate", f2, "--max-drop", "0.1").returncode == 0
    tight = _compare(history, "--candidate", f2, "--scorer", "exact", "--max-drop", "0.01")
    assert tight.returncode == 1
    assert _scorer(_json(tight), "exact")["verdict"] == "regressed (beyond --max-drop 0.01)"


def test_a_better_candidate_on_the_base_branch_compares_with_its_first_parent(
    history: History,
) -> None:
    out = _compare(history, "--candidate", history.ids["m2"])
    report = _json(out)
    assert out.returncode == 0, out.stderr
    assert report["baseline"]["model_id"] == history.ids["m1"]
    assert "is on origin/main: from its first parent" in report["baseline_why"]
    exact = _scorer(report, "exact")
    assert exact["delta"] == pytest.approx(0.25) and exact["verdict"] == "improved (significant)"


def test_an_explicit_baseline(history: History) -> None:
    out = _compare(history, "--candidate", history.ids["m2"], "--baseline", history.ids["m5"])
    report = _json(out)
    assert out.returncode == 0, out.stderr
    assert report["baseline_why"] == "given with --baseline"
    assert _scorer(report, "exact")["delta"] == 0
    # A commit names its clean version, as for show.
    out = _compare(history, "--candidate", "feature~2", "--baseline", history.commits["m1"][:10])
    report = _json(out)
    assert out.returncode == 0, out.stderr
    assert report["candidate"]["model_id"] == history.ids["f1"]
    assert report["baseline"]["model_id"] == history.ids["m1"]
    assert _scorer(report, "exact")["verdict"] == "improved (significant)"


def test_the_walk_stops_at_depth(history: History) -> None:
    # m4 and m3 only: m2 is the third first parent back.
    out = _compare(history, "--candidate", history.commits["f1"], "--depth", "2")
    assert out.returncode == 4, out.stderr
    assert "none of the 2 first-parent ancestor(s)" in out.stderr


def test_no_baseline_is_exit_4(history: History) -> None:
    # m1 is the root commit: nothing before it.
    out = _compare(history, "--candidate", history.commits["m1"])
    assert out.returncode == 4, out.stderr
    assert "no baseline" in out.stderr and out.stderr.count("\n") == 1
    assert _json(out)["result"] == "no baseline" and "no baseline" in _json(out)["error"]
    # A base branch whose history has no evaluated version on this dataset either.
    out = _compare(history, "--candidate", history.ids["m3"], "--base-branch", "main")
    assert out.returncode == 4, out.stderr
    # m2 and m1: the same digest (20 rows), other inputs.
    assert "skipped 2 with no evaluation on this dataset" in out.stderr


def test_different_datasets_and_no_evaluation_are_exit_4(history: History) -> None:
    out = _compare(history, "--candidate", history.ids["m3"], "--baseline", history.ids["m2"])
    assert out.returncode == 4, out.stderr
    assert "different datasets" in out.stderr
    out = _compare(history, "--candidate", history.ids["noeval"])
    assert out.returncode == 4 and "no evaluation:" in out.stderr
    out = _compare(history, "--candidate", history.ids["f1"], "--scorer", "nope")
    assert out.returncode == 4 and "no evaluation of scorer 'nope'" in out.stderr


def test_bad_input_is_exit_2(history: History) -> None:
    h = history
    assert _compare(h, "--max-drop", "-1").returncode == 2
    assert _compare(h, "--depth", "0").returncode == 2
    out = _compare(h, "--base-branch", "no-such-branch")
    assert out.returncode == 2 and "names no branch" in out.stderr
    out = _compare(h, "--candidate", h.ids["f1"], "--baseline", h.ids["f1"])
    assert out.returncode == 2 and "the candidate itself" in out.stderr


def test_the_summary_goes_where_the_ci_reads_it(history: History, tmp_path: Path) -> None:
    import os

    step = tmp_path / "step-summary.md"
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(step),
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
    }
    out = _compare(history, env=env)
    assert out.returncode == 1
    text = step.read_text()
    assert text.startswith("### Evaluation gate: regression: ")
    assert "| exact | 1.000 | 0.700 | -0.300 |" in text
    assert not (tmp_path / "env").exists() and not (tmp_path / "out").exists()
    # Elsewhere: a Markdown file, for a step that posts it on the pull request.
    gitlab = {**os.environ, "GITLAB_CI": "true"}
    out = cli("compare", cwd=history.repo, env=gitlab)
    assert out.returncode == 1
    md = history.repo / "mlflow-gitver-compare.md"
    assert "| exact |" in md.read_text()
    md.unlink()
    mine = tmp_path / "mine.md"
    out = _compare(history, "--candidate", history.commits["m1"], "--summary", str(mine))
    assert out.returncode == 4
    assert mine.read_text().startswith("### Evaluation gate: no baseline")


def test_a_missing_module_names_the_eval_extra() -> None:
    from mlflow_gitver.commands.compare import needs_eval_extra
    from mlflow_gitver.errors import GitverError

    with pytest.raises(GitverError) as e, needs_eval_extra():
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
    assert "pip install 'mlflow-gitver[eval]'" in str(e.value) and e.value.exit_code == 1


def test_compare_runs_without_pandas_or_numpy(history: History) -> None:
    # What the hook environment has (mlflow-skinny): compare must not need the [eval] extra.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pandas'] = None; sys.modules['numpy'] = None\n"
        "from mlflow_gitver.main import main\n"
        "sys.exit(main(['compare', '--candidate', sys.argv[1]]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, history.commits["f1"]],
        cwd=history.repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "result: ok" in out.stdout


def _readme_script() -> str:
    from testing.source import ROOT

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Evaluation gate") :]
    block = section[section.index("   ```python\n") + len("   ```python\n") :]
    block = block[: block.index("   ```\n")]
    return "\n".join(line[3:] for line in block.splitlines()) + "\n"


def test_the_readme_end_to_end(repo: Path, server_url: str) -> None:
    # The README's steps as written: its script, run with `exec`, on two commits; then
    # compare with no remote (the current branch is the base branch).
    import sys

    exp = f"readme-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml", f"name: shop\nexperiment: {exp}\ntracking_uri: {server_url}\n"
    )
    write(repo / "evals" / "run.py", _readme_script())
    commit_all(repo, "evaluated")
    for n in (1, 2):
        if n == 2:
            write(repo / "app.py", "print('v2')\n")
            commit_all(repo, "second")
        out = cli("exec", "--", sys.executable, "evals/run.py", cwd=repo)
        assert out.returncode == 0, out.stderr[-3000:]
    assert git(repo, "status", "--porcelain") == ""
    out = cli("compare", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "is on main: from its first parent" in out.stdout
    import re

    assert re.search(r"^exact\s+0\.500\s+0\.500\s+\+0\.000\s", out.stdout, re.M), out.stdout
    assert "result: ok" in out.stdout


def test_odd_evaluations(history: History) -> None:
    h = history
    # A text-valued scorer is named, not compared.
    report = _json(out := _compare(h, "--candidate", h.ids["o1"]))
    assert out.returncode == 0, out.stderr
    assert report["baseline"]["model_id"] == h.ids["m2"]
    assert "not numeric, not compared: mood" in report["rows_note"]
    assert "mood" not in {s["scorer"] for s in report["scorers"]}
    # A repeated input counts once, with the mean of its values: q0 is wrong twice in o3.
    out = _compare(h, "--candidate", h.ids["o3"], "--baseline", h.ids["o2"], "--scorer", "exact")
    report = _json(out)
    assert out.returncode == 0, out.stderr
    assert "2 repeated input(s) averaged" in report["rows_note"]
    exact = _scorer(report, "exact")
    assert exact["n"] == 20 and exact["delta"] == pytest.approx(-0.05)
    # 21 rows (another digest): no baseline on the base branch.
    out = _compare(h, "--candidate", h.ids["o2"], "--base-branch", "main")
    assert out.returncode == 4 and "no baseline" in out.stderr
    # No traces: said so, not "no scorer in common".
    out = _compare(h, "--candidate", h.ids["o4"])
    assert out.returncode == 4 and "no rows" in out.stderr
    assert "MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION" in out.stderr
    out = _compare(h, "--candidate", h.ids["o1"], "--baseline", h.ids["noeval"])
    assert out.returncode == 4 and "no evaluation: the baseline" in out.stderr
