"""Benchmark: ``git push`` with our pre-push hook installed through pre-commit,
against the same push with a do-nothing pre-push hook installed the same way.

Run as ``.venv/bin/python bench/bench_push.py [--runs N]``.

Both hooks are ``language: python`` hooks that pre-commit installs from a local
git repository into its own virtualenv (``pre-commit install -t pre-push``), so
the baseline pays for everything a pre-commit pre-push hook costs (git starting
the hook script, pre-commit loading its config, a Python interpreter starting in
the hook's virtualenv) and the ratio is what mlflow-gitver adds on top.

Each round makes a commit in each repository (not timed); in ours the
post-commit hook registers it in the background on a local ``mlflow server``,
and the benchmark waits until that flush has exited.  Then it times
``git push`` of that commit to a local bare remote, alternating the two
repositories.  Every pushed commit was registered by this clone for the same
target, so our hook should find it in its journal (queue/registered.py) and
neither import MLflow nor call the server.  A second series pushes commits the
post-commit hook did not register (made with ``core.hooksPath=/dev/null``), the
case where the pre-push hook does the work, for the record.

Only ratios of medians taken in the same run are meaningful.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from _server import start_server, stop_server  # bench/_server.py
from bench_commit import PRE_COMMIT, check_server, hook_sources, run, wait_registered

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "push"

NOOP_MANIFEST = """\
- id: noop-pre-push
  name: do nothing
  entry: noop-hook
  language: python
  stages: [pre-push]
  always_run: true
  pass_filenames: false
"""


def work_repo(
    path: Path, hook_repo: Path, sha: str, hook_ids: list[str], cfg: str, env: dict[str, str]
) -> None:
    for p in (path, path.with_suffix(".git")):
        if p.exists():
            shutil.rmtree(p)
    path.mkdir(parents=True)
    run(["git", "init", "-q", "--bare", str(path.with_suffix(".git"))], path, env)
    run(["git", "init", "-q", "-b", "main"], path, env)
    run(["git", "remote", "add", "origin", str(path.with_suffix(".git"))], path, env)
    hooks = "".join(f"      - id: {h}\n" for h in hook_ids)
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {sha}\n    hooks:\n{hooks}"
    )
    (path / ".mlflow-gitver.yaml").write_text(cfg)
    (path / ".gitignore").write_text("mlflow.db\nmlruns/\nmlartifacts/\n")
    (path / "app.py").write_text("print('hello')\n")
    stages = ["-t", "pre-push"] + (["-t", "post-commit"] if len(hook_ids) > 1 else [])
    run([PRE_COMMIT, "install", "--install-hooks", *stages], path, env)
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)


def commit(repo: Path, i: int, env: dict[str, str], *, verify: bool = True) -> None:
    with open(repo / "app.py", "a") as f:
        f.write(f"# change {i}\n")
    run(["git", "add", "app.py"], repo, env)
    # No hook at all (--no-verify would still run post-commit).
    extra = [] if verify else ["-c", "core.hooksPath=/dev/null"]
    run(["git", *extra, "commit", "-q", "-m", f"change {i}"], repo, env)


def timed_push(repo: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(
        ["git", "push", "-q", "origin", "main"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - t0, out.stdout + out.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11, help="timed pushes per side and series")
    args = ap.parse_args()
    env, ours_sha, noop_sha = hook_sources(WORK, NOOP_MANIFEST)
    shutil.rmtree(WORK / "server", ignore_errors=True)
    server, url = start_server(WORK / "server", env)
    try:
        cfg = f"name: bench\nexperiment: bench-commit\ntracking_uri: {url}\nparams: {{llm: x}}\n"
        ours, noop = WORK / "ours", WORK / "noop"
        ids = ["mlflow-gitver-post-commit", "mlflow-gitver-pre-push"]
        work_repo(ours, WORK / "src-ours", ours_sha, ids, cfg, env)
        work_repo(noop, WORK / "src-noop", noop_sha, ["noop-pre-push"], cfg, env)
        wait_registered(ours, env, time.perf_counter())
        for repo in (noop, ours):  # untimed warm-up: the first push, .pyc files
            timed_push(repo, env)
        t_ours, t_noop = [], []
        said = ""
        for i in range(1, args.runs + 1):
            commit(noop, i, env)
            commit(ours, i, env)
            wait_registered(ours, env, time.perf_counter())
            t, _ = timed_push(noop, env)
            t_noop.append(t)
            t, said = timed_push(ours, env)
            t_ours.append(t)
        # Commits no hook recorded: the pre-push hook registers them itself.
        w_ours, w_noop = [], []
        for i in range(args.runs + 1, 2 * args.runs + 1):
            commit(noop, i, env, verify=False)
            commit(ours, i, env, verify=False)
            t, _ = timed_push(noop, env)
            w_noop.append(t)
            t, _ = timed_push(ours, env)
            w_ours.append(t)
        check_server(url, ours, env)
    finally:
        stop_server(server)
    m_ours, m_noop = statistics.median(t_ours), statistics.median(t_noop)
    mw_ours, mw_noop = statistics.median(w_ours), statistics.median(w_noop)
    print(f"our hook's output on the last journaled push: {said.strip()!r}")
    print(f"git push, do-nothing pre-push hook (pre-commit): median {m_noop * 1000:.0f} ms")
    print(f"git push, mlflow-gitver pre-push hook, versions journaled: {m_ours * 1000:.0f} ms")
    print(f"ratio: {m_ours / m_noop:.2f}x (target <= 1.3x), {args.runs} alternating runs each")
    print(
        f"pushes of commits no hook registered: {mw_ours * 1000:.0f} ms against "
        f"{mw_noop * 1000:.0f} ms, ratio {mw_ours / mw_noop:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
