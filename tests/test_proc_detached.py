"""The detached spawn (proc_detached.py): its own session, the log as its only output and
its rotation, the flush lock passed on, and what reaches the child (--debug, the
environment's git config, the crash traceback).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from mlflow_gitver import proc
from mlflow_gitver.proc_detached import LOG_LIMIT, spawn_detached
from mlflow_gitver.queue.store import Store
from testing.cli import cli
from testing.hooks import configure, settle, versions
from testing.repos import commit_all, write


def spawn_flush(root: Path, log: Path, lock_fd: int | None = None) -> int:
    """The detached flush as the post-commit hook starts it."""
    args = [sys.executable, "-m", "mlflow_gitver", "flush", "--repo", str(root)]
    if lock_fd is not None:
        args += ["--lock-fd", str(lock_fd)]
    return spawn_detached(args, log, "flush", lock_fd)


def _stat(pid: int) -> list[str]:
    # Fields after the command name: state is [0], session id is [3].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def test_spawned_flush_has_its_own_session_and_only_the_log(repo: Path) -> None:
    log = repo / ".git" / "mlflow-gitver" / "hook.log"
    r, w = os.pipe()  # stands for the pipe git or pre-commit reads the hook's output from
    os.set_inheritable(w, True)
    pipe = os.readlink(f"/proc/self/fd/{w}")
    try:
        pid = spawn_flush(repo, log)
        fields = _stat(pid)
        fds = {}
        if fields[0] != "Z":  # still running (a flush takes far longer than this check)
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    fds[int(fd.name)] = os.readlink(fd)
                except OSError:
                    continue
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(w)
        os.close(r)
    assert int(fields[3]) == pid != os.getsid(0)  # a session leader of its own
    assert fds, "the flush exited before it could be inspected"
    assert fds[0] == os.devnull
    assert fds[1] == fds[2] == str(log)
    assert pipe not in fds.values()  # the hook's pipe did not leak into the child
    assert os.waitstatus_to_exitcode(status) == 0  # "nothing pending" in this repo
    text = log.read_text()
    assert text.startswith("--- ") and "nothing pending" in text


def test_log_is_rotated_past_its_limit(repo: Path) -> None:
    log = repo / ".git" / "mlflow-gitver" / "hook.log"
    write(log, "x" * (LOG_LIMIT + 1))
    pid = spawn_flush(repo, log)
    os.waitpid(pid, 0)
    assert (log.parent / "hook.log.1").stat().st_size == LOG_LIMIT + 1
    assert log.stat().st_size < 1000
    assert time.time() - log.stat().st_mtime < 600


def test_the_flush_lock_passes_to_the_child(repo: Path) -> None:
    store = Store(repo / ".git")
    store.root.mkdir()
    fd = store.try_flush_lock()
    assert fd is not None
    pid = spawn_flush(repo, store.log, fd)
    os.close(fd)  # the hook exits: the child holds the lock alone
    held_by_child = store.try_flush_lock()
    _, status = os.waitpid(pid, 0)
    # The child lists the queue, finds it empty, releases the lock and exits.
    assert os.waitstatus_to_exitcode(status) == 0
    after = store.try_flush_lock()
    assert after is not None
    os.close(after)
    if held_by_child is not None:  # the child was already done: nothing to check
        os.close(held_by_child)
        pytest.skip("the flush ended before the lock could be tried")


def test_debug_reaches_the_detached_flush_and_its_log(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = repo / ".git" / "mlflow-gitver" / "hook.log"
    monkeypatch.setattr(proc, "_debug", [True])
    _, status = os.waitpid(spawn_flush(repo, log), 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = log.read_text()
    assert re.search(r"debug: exit 0 in \d+\.\d ms: git -C \S+ --no-optional-locks rev-parse", text)


# Forces the crash: the one thing here not produced for real.  A flush has no
# input that makes it fail unexpectedly (every bad record or store is a reported
# fault), so this sitecustomize makes its dispatch raise, in the real child process.
_CRASH = """\
import mlflow_gitver.cli as cli
def dispatch(ns):
    raise RuntimeError("forced crash for the test")
cli.dispatch = dispatch
"""


def test_a_crashing_detached_flush_writes_its_traceback_to_its_log(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "inject" / "sitecustomize.py", _CRASH)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "inject"))
    log = repo / ".git" / "mlflow-gitver" / "hook.log"
    _, status = os.waitpid(spawn_flush(repo, log), 0)
    assert os.waitstatus_to_exitcode(status) == 3
    text = log.read_text()
    assert "Traceback (most recent call last):" in text
    assert "RuntimeError: forced crash for the test" in text
    crash = repo / ".git" / "mlflow-gitver" / "crash.log"
    assert f"this is a bug in mlflow-gitver: report it with {crash}" in text
    assert "RuntimeError: forced crash for the test" in crash.read_text()


@pytest.mark.server
def test_git_config_from_the_environment_reaches_the_detached_flush(
    repo: Path, server_url: str
) -> None:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n (set by a user, a CI runner, `git --config-env`)
    reach the detached flush as they reach a --sync one: both register the same
    repository URL."""
    experiment = configure(repo, server_url)
    url = "https://git.example.com/team/from-env.git"
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "remote.origin.url",
        "GIT_CONFIG_VALUE_0": url,
        "MLFLOW_GITVER_RETRY_SECONDS": "5",
    }
    seen = {}
    for how in ("background", "--sync"):
        commit = commit_all(repo, how)
        args = ["hook", "post-commit", *(["--sync"] if how == "--sync" else [])]
        done = cli(*args, cwd=repo, env=env)
        assert done.returncode == 0, done.stderr
        settle(repo)
        [model] = versions(server_url, experiment)[commit]
        seen[how] = model.tags.get("mlflow.source.git.repoURL")  # type: ignore[attr-defined]
    assert seen == {"background": url, "--sync": url}
