"""Benchmark: the GitHub Action's whole run, against a plain ``pip install`` of the package.

Run as ``.venv/bin/python bench/bench_action.py [--rounds N]``. It needs the package
index (pip and uv download from it, through this machine's own configuration).

It starts its own ``mlflow server`` (bench/_server.py) under ``bench/.work/action/`` and
runs ``action.yml``'s ``run:`` steps as the runner test does (testing/actionrunner.py:
setup-python skipped, this interpreter being the set-up Python; actions/cache emulated
by a directory per key). Each round, on a fresh copy of this tree's files (the action's
download), alternating the order so all sides see the same machine load:

- baseline: ``python -m pip install --no-cache-dir <the copy>`` into a fresh venv (the
  venv's creation is not timed: the old action installed into the runner's own Python);
- cold: the Action's whole run on a new runner: empty RUNNER_TEMP, an empty cache store,
  an empty pip cache (pip fetches uv) and uv cache; install, then the registration of a
  new commit against the server, then the post step's save of the cache;
- warm: the next job on that runner: RUNNER_TEMP emptied, the venv restored from the
  store, the registration of another new commit.

A side's time is the sum of its steps' times, as the runner times them; the cold job's
post step (the save of the cache) is given apart, and in a second cold ratio.

The cache here is a local copy: on GitHub the save is an upload and the restore a
download (of a compressed archive), so a warm run there adds that transfer. Only ratios
of medians taken in the same run are meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _server import start_server, stop_server  # bench/_server.py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the testing package, at the repository's root

from testing.actionrunner import Runner, copy_tree, make_runner, run_action  # noqa: E402

WORK = HERE / ".work" / "action"
SAVE = "Post: save the cache"  # testing/actionrunner.py's name for the post step


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return out.stdout.decode().strip()


def new_commit(repo: Path, n: int) -> str:
    (repo / "app.py").write_text(f"VERSION = {n}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"v{n}")
    return git(repo, "rev-parse", "HEAD")


def push_env(root: Path, sha: str) -> dict[str, str]:
    event = root / f"event-{sha[:12]}.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "after": sha}))
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_SHA": sha,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_RUN_ID": "1",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "bench",
        "GITHUB_ACTOR": "bench",
    }


def baseline(root: Path, source: Path) -> float:
    venv = root / "baseline-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-cache-dir"]
    t0 = time.perf_counter()
    r = subprocess.run([*cmd, str(source)], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"the baseline failed:\n{r.stdout}{r.stderr}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of baseline, cold and warm")
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    repo = WORK / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".mlflow-gitver.yaml").write_text("name: bench-app\nexperiment: bench-action\n")
    commits = 0
    proc, url = start_server(WORK / "server")
    sides: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": []}
    steps: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    saves: list[float] = []  # the post step's, once per round (the cold job's)
    ratios: dict[str, list[float]] = {"cold": [], "cold+save": [], "warm": []}
    try:
        for i in range(args.rounds):
            root = WORK / f"round-{i}"
            runner = make_runner(
                root / "machine",
                copy_tree(root / "action"),
                {"PIP_CACHE_DIR": str(root / "pip-cache")},  # the machine's index settings
                hermetic=False,
            )
            source = copy_tree(root / "baseline-src")

            def job(name: str, runner: Runner = runner, root: Path = root) -> None:
                nonlocal commits
                commits += 1
                sha = new_commit(repo, commits)
                run = run_action(
                    runner, repo, push_env(root, sha), {"tracking-uri": url}, root / name
                )
                # The steps' times, not the emulator's own work (emptying RUNNER_TEMP between
                # jobs is the runner's, outside the job on GitHub); the post step's save apart.
                save = run.durations.get(SAVE, 0.0)
                sides[name].append(sum(run.durations.values()) - save)
                if name == "cold":
                    saves.append(save)
                if run.returncode != 0 or run.outputs["commit"] != sha:
                    raise SystemExit(f"the {name} run failed:\n{run.log}")
                for step, secs in run.durations.items():
                    steps[name].setdefault(step, []).append(secs)

            order = ["baseline", "cold", "warm"] if i % 2 == 0 else ["cold", "warm", "baseline"]
            for side in order:
                if side == "baseline":
                    sides["baseline"].append(baseline(root, source))
                else:
                    job(side)
            shutil.rmtree(root)  # about 400 MB a round
            base = sides["baseline"][-1]
            ratios["cold"].append(sides["cold"][-1] / base)
            ratios["cold+save"].append((sides["cold"][-1] + saves[-1]) / base)
            ratios["warm"].append(sides["warm"][-1] / base)
            print(
                f"round {i + 1}: baseline {base:.2f} s, cold {sides['cold'][-1]:.2f} s"
                f" ({ratios['cold'][-1]:.2f}x; +{saves[-1]:.2f} s post-step save),"
                f" warm {sides['warm'][-1]:.2f} s ({ratios['warm'][-1]:.2f}x)",
                flush=True,
            )
    finally:
        stop_server(proc)

    med = {s: statistics.median(v) for s, v in sides.items()}
    where = f"Python {sys.version.split()[0]}, {os.cpu_count()} cores"
    print(f"\nmedians of {args.rounds} rounds ({where}):")
    print(f"  baseline pip install --no-cache-dir         {med['baseline']:7.2f} s")
    for side in ("cold", "warm"):
        print(f"  Action, {side} cache (install + register)    {med[side]:7.2f} s")
        for step, secs in steps[side].items():
            print(f"      {step:<41} {statistics.median(secs):7.2f} s")
    # Each round's ratio is of runs made minutes apart, under the same load.
    print("ratios to the baseline of the same round, median of the rounds:")
    for label, side in (
        ("cold (install + register)", "cold"),
        ("cold, with the post step's save", "cold+save"),
        ("warm (restore + register)", "warm"),
    ):
        print(f"  {label:<43} {statistics.median(ratios[side]):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
