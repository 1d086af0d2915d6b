"""Benchmark: the resources our hooks take during a long ``git rebase``.

Run as ``.venv/bin/python bench/bench_rebase.py [--commits N]`` (default 100).

git runs post-commit for every commit a rebase makes, and post-rewrite once at
the end.  The hooks are installed as a user installs them: through pre-commit,
with every stage ``init`` prints (post-commit, post-merge, post-rewrite,
pre-push), from a snapshot of this working tree.  N commits are made with the
hooks off, then rebased onto a new base commit with the hooks on, against a
local ``mlflow server`` the benchmark starts.  A sampler reads /proc every 20 ms
and reports, while the rebase runs and until the background registration is
done:

- the peak number of our processes (hook processes and background flushes:
  any process whose command line names mlflow-gitver / mlflow_gitver);
- the peak number of background flushes at once (the promise: one);
- the peak number of our processes holding more than 60 MB resident, i.e. with
  MLflow imported (the promise: at most two);
- the peak of their summed resident memory.

At the end every rebased commit must be a version on the server exactly once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _server import start_server, stop_server  # bench/_server.py
from bench_commit import env_for, run, snapshot

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "rebase"
BIN = Path(sys.executable).parent
PRE_COMMIT = str(BIN / "pre-commit")
STAGES = ("post-commit", "post-merge", "post-rewrite", "pre-push")
HEAVY_KB = 60_000  # resident set above which a process has MLflow imported


def ours(repo: Path) -> list[tuple[int, bool, int]]:
    """(pid, is a background flush, resident kB) of our live processes working on
    ``repo`` (by --repo or working directory: other repositories' do not count)."""
    out = []
    mark = str(repo).encode()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0")
            status = (p / "status").read_text()
        except OSError:
            continue
        if not any(b"mlflow-gitver" in a or b"mlflow_gitver" in a for a in argv):
            continue
        try:
            cwd = os.readlink(p / "cwd").encode()
        except OSError:
            cwd = b""
        if mark not in argv and not cwd.startswith(mark):
            continue
        if "State:\tZ" in status:
            continue
        rss = 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        out.append((int(p.name), b"flush" in argv, rss))
    return out


class Sampler(threading.Thread):
    def __init__(self, repo: Path) -> None:
        super().__init__(daemon=True)
        self.repo = repo
        self.stop = threading.Event()
        self.procs = self.flushes = self.heavy = self.rss_kb = self.samples = 0

    def run(self) -> None:
        while not self.stop.is_set():
            found = ours(self.repo)
            self.procs = max(self.procs, len(found))
            self.flushes = max(self.flushes, sum(1 for _, f, _ in found if f))
            self.heavy = max(self.heavy, sum(1 for _, _, r in found if r > HEAVY_KB))
            self.rss_kb = max(self.rss_kb, sum(r for _, _, r in found))
            self.samples += 1
            time.sleep(0.02)


def flushing(repo: Path) -> bool:
    return any(f for _, f, _ in ours(repo)) or any(
        (repo / ".git/mlflow-gitver/pending").glob("*.json")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=100, help="commits to rebase")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    env = env_for(home)
    env.update(
        PRE_COMMIT_HOME=str(WORK / "pre-commit-home"),
        MLFLOW_GITVER_RETRY_SECONDS="5",
        GIT_EDITOR="true",
        GIT_SEQUENCE_EDITOR="true",
    )
    print("building the hook environment (cached in bench/.work/rebase/pre-commit-home)...")
    sha = snapshot(WORK / "src", None, env)
    shutil.rmtree(WORK / "server", ignore_errors=True)
    server, url = start_server(WORK / "server", env)
    repo = WORK / "repo"
    try:
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        run(["git", "init", "-q", "-b", "main"], repo, env)
        hooks = "".join(f"      - id: mlflow-gitver-{s}\n" for s in STAGES)
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {WORK / 'src'}\n    rev: {sha}\n    hooks:\n{hooks}"
        )
        (repo / ".mlflow-gitver.yaml").write_text(
            f"name: bench\nexperiment: bench-rebase\ntracking_uri: {url}\nparams: {{llm: x}}\n"
        )
        (repo / ".gitignore").write_text("mlflow.db\nmlruns/\nmlartifacts/\n")
        types = [a for s in STAGES for a in ("-t", s)]
        run([PRE_COMMIT, "install", "--install-hooks", *types], repo, env)
        run(["git", "add", "-A"], repo, env)
        run(["git", "commit", "-q", "-m", "initial"], repo, env)
        base = run(["git", "rev-parse", "HEAD"], repo, env)
        off = ["git", "-c", "core.hooksPath=/dev/null"]
        for i in range(args.commits):
            (repo / f"f{i}.txt").write_text(f"{i}\n")
            run(["git", "add", "-A"], repo, env)
            run([*off, "commit", "-q", "-m", f"c{i}"], repo, env)
        run([*off, "checkout", "-q", "-b", "onto", base], repo, env)
        (repo / "onto.txt").write_text("onto\n")
        run(["git", "add", "-A"], repo, env)
        run([*off, "commit", "-q", "-m", "onto"], repo, env)
        onto = run(["git", "rev-parse", "HEAD"], repo, env)
        run([*off, "checkout", "-q", "main"], repo, env)
        while flushing(repo):  # the initial commit's registration
            time.sleep(0.1)

        sampler = Sampler(repo)
        sampler.start()
        t0 = time.perf_counter()
        subprocess.run(
            ["git", "rebase", "-i", onto], cwd=repo, env=env, check=True, capture_output=True
        )
        t_rebase = time.perf_counter() - t0
        deadline = time.monotonic() + 1800
        while flushing(repo):
            if time.monotonic() > deadline:
                raise SystemExit("registration not done after 30 min")
            time.sleep(0.1)
        t_all = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        rebased = run(["git", "rev-list", f"{onto}..HEAD"], repo, env).split()
        counts = registered(url, rebased)
    finally:
        stop_server(server)
    print(f"rebase of {args.commits} commits with the hooks: {t_rebase:.1f} s")
    print(f"rebase start -> every version registered: {t_all:.1f} s")
    print(f"peak processes of ours at once: {sampler.procs} ({sampler.samples} samples)")
    print(f"peak background flushes at once: {sampler.flushes} (promise: 1)")
    print(f"peak processes with MLflow imported (> 60 MB): {sampler.heavy} (promise: <= 2)")
    print(f"peak resident memory of our processes: {sampler.rss_kb / 1024:.0f} MB")
    bad = {c[:12]: n for c, n in counts.items() if n != 1}
    print(f"rebased commits registered exactly once: {len(counts) - len(bad)}/{len(counts)}")
    if bad:
        print(f"not registered exactly once: {bad}")
        return 1
    return 0


def registered(url: str, commits: list[str]) -> dict[str, int]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("bench-rebase")
    assert exp is not None
    models = client.search_logged_models(experiment_ids=[exp.experiment_id], max_results=5000)
    ids = [m.tags.get("mlflow_gitver.version_id") for m in models]
    return {c: ids.count(c) for c in commits}


if __name__ == "__main__":
    os.chdir(HERE)
    raise SystemExit(main())
