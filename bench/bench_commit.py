"""Benchmark: ``git commit`` with our post-commit hook installed through pre-commit,
against the same commit with a do-nothing post-commit hook installed the same way.

Run as ``.venv/bin/python bench/bench_commit.py [--runs N]``.

Both hooks are ``language: python`` hooks that pre-commit installs from a local
git repository into its own virtualenv, and both are installed with
``pre-commit install -t post-commit``: the baseline pays for everything a
pre-commit post-commit hook costs (git starting the hook script, pre-commit
loading its config, a Python interpreter starting in the hook's virtualenv), so
the ratio is what mlflow-gitver adds on top: computing the version, writing the
durable record, starting the detached flush.

Each timed run is ``git commit`` of a one-line change (``git add`` is not timed),
to a source file (the target), then, in a second series, to the config file
(the hook then validates the new config before it returns),
alternating between the two repositories so both see the same machine load.
Before the next run, the benchmark waits until our background flush process
has exited (not only until the version is registered: the flush may still run,
and would steal CPU from the next timed commit, the baseline's included); it
reports the time until registration too: from the start of ``git commit``
until the version is registered on a local ``mlflow server`` the benchmark
starts (the record is deleted right after the server accepted the version; the
versions are checked on the server at the end).

Only ratios of medians taken in the same run are meaningful.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _server import start_server, stop_server  # bench/_server.py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "commit"
BIN = Path(sys.executable).parent
PRE_COMMIT = str(BIN / "pre-commit")
SOURCE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src", "hooks")

NOOP_MANIFEST = """\
- id: noop-post-commit
  name: do nothing
  entry: noop-hook
  language: python
  stages: [post-commit]
  always_run: true
  pass_filenames: false
"""
NOOP_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "noop-hook"
version = "0.0.0"

[project.scripts]
noop-hook = "noop_hook:main"
"""
NOOP_MODULE = "def main() -> int:\n    return 0\n"


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MLFLOW_", "PRE_"))}
    # As on a user's machine: hook environments keep their .pyc files.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_TEMPLATE_DIR="",
        PRE_COMMIT_HOME=str(WORK / "pre-commit-home"),
    )
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def snapshot(path: Path, files: dict[str, str] | None, env: dict[str, str]) -> str:
    """A git repository holding our working tree (or ``files``); its HEAD sha."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    if files is None:
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
        for name in SOURCE_FILES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, path / name, ignore=ignore)
            else:
                shutil.copy2(src, path / name)
    else:
        for name, text in files.items():
            (path / name).write_text(text)
    run(["git", "init", "-q", "-b", "main"], path, env)
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-q", "-m", "snapshot"], path, env)
    return run(["git", "rev-parse", "HEAD"], path, env)


def work_repo(
    path: Path, hook_repo: Path, sha: str, hook_id: str, cfg: str, env: dict[str, str]
) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], path, env)
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {sha}\n    hooks:\n      - id: {hook_id}\n"
    )
    (path / ".mlflow-gitver.yaml").write_text(cfg)
    (path / ".gitignore").write_text("mlflow.db\nmlruns/\nmlartifacts/\n")
    (path / "app.py").write_text("print('hello')\n")
    run([PRE_COMMIT, "install", "--install-hooks", "-t", "post-commit"], path, env)
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)


def timed_commit(
    repo: Path, i: int, env: dict[str, str], name: str = "app.py"
) -> tuple[float, float]:
    with open(repo / name, "a") as f:
        f.write(f"# change {i}\n")
    run(["git", "add", name], repo, env)
    t0 = time.perf_counter()
    subprocess.run(
        ["git", "commit", "-q", "-m", f"change {i}"],
        cwd=repo,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return t0, time.perf_counter() - t0


def wait_registered(repo: Path, env: dict[str, str], t0: float) -> float:
    """Seconds from ``t0`` until HEAD's pending record is gone (registered)."""
    sha = run(["git", "rev-parse", "HEAD"], repo, env)
    record = repo / ".git" / "mlflow-gitver" / "pending" / f"{sha}.json"
    deadline = time.monotonic() + 120
    while record.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{sha} not registered after 120 s: {repo}/.git/mlflow-gitver")
        time.sleep(0.01)
    visible = time.perf_counter() - t0
    # The flusher may still run after deleting the record (a release that tears
    # MLflow down at exit: ~1.3 s of CPU).  Timing the next commit meanwhile
    # would slow whichever side runs next, the baseline included (issue 12).
    while _flushers(repo):
        if time.monotonic() > deadline:
            raise SystemExit(f"the background flush of {repo} still runs after 120 s")
        time.sleep(0.01)
    return visible


def _flushers(repo: Path) -> list[int]:
    """Our background flush processes for ``repo`` (by their command line)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mlflow_gitver" in argv and b"flush" in argv and str(repo).encode() in argv:
            found.append(int(pid))
    return found


def hook_sources(work: Path, noop_manifest: str) -> tuple[dict[str, str], str, str]:
    """The benchmark's environment, and snapshot repositories of our tree and of a
    do-nothing hook with ``noop_manifest``: (env, our sha, the do-nothing's sha)."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = env_for(home)
    env["MLFLOW_GITVER_RETRY_SECONDS"] = "5"
    print("building hook environments (cached in bench/.work/commit/pre-commit-home)...")
    ours_sha = snapshot(work / "src-ours", None, env)
    noop_files = {
        ".pre-commit-hooks.yaml": noop_manifest,
        "pyproject.toml": NOOP_PYPROJECT,
        "noop_hook.py": NOOP_MODULE,
    }
    return env, ours_sha, snapshot(work / "src-noop", noop_files, env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11, help="timed commits per side")
    args = ap.parse_args()
    env, ours_sha, noop_sha = hook_sources(WORK, NOOP_MANIFEST)
    shutil.rmtree(WORK / "server", ignore_errors=True)  # a fresh store: versions are counted
    server, url = start_server(WORK / "server", env)
    try:
        cfg = f"name: bench\nexperiment: bench-commit\ntracking_uri: {url}\nparams: {{llm: x}}\n"
        ours, noop = WORK / "ours", WORK / "noop"
        work_repo(ours, WORK / "src-ours", ours_sha, "mlflow-gitver-post-commit", cfg, env)
        work_repo(noop, WORK / "src-noop", noop_sha, "noop-post-commit", cfg, env)
        wait_registered(ours, env, time.perf_counter())
        # One untimed warm-up each (file caches, the hook environments' .pyc files).
        for repo in (noop, ours):
            timed_commit(repo, 0, env)
        wait_registered(ours, env, time.perf_counter())
        t_ours, t_noop, visible = [], [], []
        for i in range(1, args.runs + 1):
            _, t = timed_commit(noop, i, env)
            t_noop.append(t)
            t0, t = timed_commit(ours, i, env)
            t_ours.append(t)
            visible.append(wait_registered(ours, env, t0))
        # The same, when each commit changes the config: the hook validates it
        # before it returns (an unchanged config is known valid, and not re-read).
        c_ours, c_noop = [], []
        for i in range(1, args.runs + 1):
            _, t = timed_commit(noop, i, env, ".mlflow-gitver.yaml")
            c_noop.append(t)
            t0, t = timed_commit(ours, i, env, ".mlflow-gitver.yaml")
            c_ours.append(t)
            wait_registered(ours, env, t0)
        check_server(url, ours, env)
    finally:
        stop_server(server)
    m_ours, m_noop, m_vis = (statistics.median(x) for x in (t_ours, t_noop, visible))
    mc_ours, mc_noop = statistics.median(c_ours), statistics.median(c_noop)
    print(f"git commit, do-nothing post-commit hook (pre-commit): median {m_noop * 1000:.0f} ms")
    print(f"git commit, mlflow-gitver post-commit hook (pre-commit): median {m_ours * 1000:.0f} ms")
    print(f"ratio: {m_ours / m_noop:.2f}x (target <= 1.3x), {args.runs} alternating runs each")
    print(f"commit start -> version registered on a local server: median {m_vis:.2f} s")
    print(
        f"commits that change the config: {mc_ours * 1000:.0f} ms against "
        f"{mc_noop * 1000:.0f} ms, ratio {mc_ours / mc_noop:.2f}x"
    )
    return 0


def check_server(url: str, repo: Path, env: dict[str, str]) -> None:
    """Every commit of ``repo`` is a version on the server, exactly once."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("bench-commit")
    models = client.search_logged_models(experiment_ids=[exp.experiment_id], max_results=1000)
    got = sorted(m.tags["mlflow_gitver.version_id"] for m in models)
    want = sorted(run(["git", "rev-list", "HEAD"], repo, env).split())
    if not set(want) <= set(got) or len(got) != len(set(got)):
        raise SystemExit(f"versions on the server do not match the commits: {got} vs {want}")


if __name__ == "__main__":
    raise SystemExit(main())
