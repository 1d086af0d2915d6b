"""Benchmark: registering a version, against MLflow's own ``set_active_model(name=...)``.

Run as ``.venv/bin/python bench/bench_register.py [--runs N] [--racers N]``.

It starts its own ``mlflow server`` (SQLite backend, one worker) on 127.0.0.1
under ``bench/.work/register/`` and measures, in this one process (so MLflow's
import is paid once and not counted), alternating the two so both see the same
machine load:

- first-time registration of a new commit: ``versions.register_commit`` against
  the baseline ``mlflow.set_active_model(name=...)`` + ``mlflow.log_model_params``
  (the documentation's snippet) on a new name;
- repeat registration of the same version: ``register_commit`` again against
  ``set_active_model(name=...)`` again (the baseline cannot repeat
  ``log_model_params``: SQL stores refuse a param key twice).

Then the race: N processes at once register one version, with
``mlflow-gitver register`` and with the baseline snippet; it reports how many
models each approach left and how many distinct ids the processes printed.

Only ratios of medians taken in the same run are meaningful.  Our first-time
registration includes the settle delay of the exactly-once protocol (twice
its create call, at least MLFLOW_GITVER_SETTLE_SECONDS, default 0.05 s),
the price of converging; both sides' repeats run after a warm-up in this process
(the experiment resolved, as the snippet's set_experiment has it).
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
from collections.abc import Callable
from pathlib import Path

from _server import start_server, stop_server  # bench/_server.py

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "register"
PARAMS = {"llm": "gpt-4o-mini", "temperature": "0.7"}
CONFIG = "name: bench-app\nparams:\n  llm: gpt-4o-mini\n  temperature: 0.7\n"

BASELINE_RACER = """
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
m = mlflow.set_active_model(name=sys.argv[3])
print(m.model_id)
"""


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


def make_repo(root: Path, commits: int) -> tuple[Path, list[str]]:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".mlflow-gitver.yaml").write_text(CONFIG)
    shas = []
    for i in range(commits):
        (repo / "app.py").write_text(f"VERSION = {i}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"v{i}")
        shas.append(git(repo, "rev-parse", "HEAD"))
    return repo, shas


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def race_ours(repo: Path, url: str, exp: str, n: int) -> tuple[int, int]:
    cmd = [sys.executable, "-m", "mlflow_gitver", "register", "--format", "json",
           "--tracking-uri", url, "--experiment", exp]  # fmt: skip
    procs = [subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE) for _ in range(n)]
    ids = {json.loads(p.communicate()[0])["model_id"] for p in procs}
    from mlflow import MlflowClient

    client = MlflowClient(url)
    eid = client.get_experiment_by_name(exp).experiment_id  # type: ignore[union-attr]
    return len(client.search_logged_models([eid])), len(ids)


def race_baseline(url: str, exp: str, name: str, n: int) -> tuple[int, int]:
    cmd = [sys.executable, "-c", BASELINE_RACER, url, exp, name]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(n)
    ]
    ids = {p.communicate()[0].decode().strip() for p in procs}
    from mlflow import MlflowClient

    client = MlflowClient(url)
    eid = client.get_experiment_by_name(exp).experiment_id  # type: ignore[union-attr]
    return len(client.search_logged_models([eid], filter_string=f"name = '{name}'")), len(ids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="first-time registrations per side")
    ap.add_argument("--repeats", type=int, default=10, help="repeat registrations per side")
    ap.add_argument("--racers", type=int, default=16, help="processes in the race")
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    proc, url = start_server(WORK)
    try:
        import logging

        import mlflow

        from mlflow_gitver.config import parse_config
        from mlflow_gitver.context import open_repo
        from mlflow_gitver.versions import register_commit

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        repo, shas = make_repo(WORK, args.runs + 1)
        r = open_repo(repo)
        cfg = parse_config(CONFIG, "bench")
        mlflow.set_tracking_uri(url)
        mlflow.set_experiment("bench-baseline")

        def ours(sha: str) -> None:
            register_commit(r, sha, cfg, tracking_uri=url, experiment="bench-ours")

        def baseline(name: str) -> None:
            m = mlflow.set_active_model(name=name)
            mlflow.log_model_params(PARAMS, model_id=m.model_id)

        ours(shas[-1])  # warm-up: experiment creation, connections
        baseline("warm-up")
        first_ours, first_base = [], []
        for i in range(args.runs):
            first_ours.append(timed(lambda i=i: ours(shas[i])))
            first_base.append(timed(lambda i=i: baseline(f"base-{i}")))
        rep_ours, rep_base = [], []
        for _ in range(args.repeats):
            rep_ours.append(timed(lambda: ours(shas[0])))
            rep_base.append(timed(lambda: mlflow.set_active_model(name="base-0")))

        def med(xs: list[float]) -> float:
            return statistics.median(xs)

        print(f"first-time, median of {args.runs}:")
        print(f"  baseline set_active_model+log_model_params  {med(first_base) * 1000:8.1f} ms")
        print(f"  mlflow-gitver register_commit               {med(first_ours) * 1000:8.1f} ms")
        ratio = med(first_ours) / med(first_base)
        print(f"  ratio ours/baseline                          {ratio:8.2f}")
        print(f"repeat, median of {args.repeats}:")
        print(f"  baseline set_active_model                   {med(rep_base) * 1000:8.1f} ms")
        print(f"  mlflow-gitver register_commit               {med(rep_ours) * 1000:8.1f} ms")
        ratio = med(rep_ours) / med(rep_base)
        print(f"  ratio ours/baseline                          {ratio:8.2f}")

        models, ids = race_baseline(url, "bench-race-baseline", "raced", args.racers)
        print(f"race, {args.racers} processes at once on one version:")
        print(f"  baseline set_active_model(name=...): {models} model(s), {ids} distinct id(s)")
        models, ids = race_ours(repo, url, "bench-race-ours", args.racers)
        print(f"  mlflow-gitver register:              {models} model(s), {ids} distinct id(s)")
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
