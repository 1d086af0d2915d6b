"""The detached flush: nothing of the hook's terminal or pipes reaches it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlflow_gitver.background import LOG_LIMIT, spawn_flush
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
