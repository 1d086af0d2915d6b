"""The detached flush: nothing of the hook's terminal or pipes reaches it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mlflow_gitver.background import LOG_LIMIT, child_env, spawn_flush
from mlflow_gitver.queue.store import Store
from tests.helpers import write


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


def test_the_flush_keeps_the_config_git_was_given_and_drops_the_repository_vars() -> None:
    hook_env = {
        "PATH": "/usr/bin",
        "GIT_CONFIG_PARAMETERS": "'remote.origin.url'='https://example.com/x.git'",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "GIT_CONFIG_GLOBAL": "/tmp/g",
        "GIT_INDEX_FILE": "/repo/.git/next-index.lock",
        "GIT_DIR": ".git",
        "GIT_PREFIX": "sub/",
    }
    env = child_env(hook_env)
    dropped = {"GIT_INDEX_FILE", "GIT_DIR", "GIT_PREFIX"}
    assert env == {k: v for k, v in hook_env.items() if k not in dropped}


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
