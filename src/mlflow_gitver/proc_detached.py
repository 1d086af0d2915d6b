"""The detached spawn: a child in its own session, a log file as its only output, unwaited.

The post-commit hook starts the background flush this way (proc.py has the
environment policy it shares with every other child, and the --debug tracing).
"""

from __future__ import annotations

import os
import time

from mlflow_gitver.proc import DEBUG_VAR, child_env, debug_on, trace

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# Set in the detached flush: its stderr is a log nobody watches as it runs, so
# an unexpected error writes its whole traceback there (error_handler).
DETACHED_VAR = "MLFLOW_GITVER_DETACHED"
LOG_LIMIT = 1_000_000  # bytes; a detached child's log is rotated once past it

# git waits for a hook's stdout and stderr to close, and pre-commit reads them
# through pipes: a child that inherits them would make every commit wait for the
# network.  So a detached child gets its own session (no SIGHUP when the terminal
# goes, no Ctrl-C from the commit's process group), /dev/null as stdin, and a log
# file as stdout and stderr.


def spawn_detached(args: Sequence[str], log: Path, title: str, pass_fd: int | None = None) -> int:
    """Start ``args`` fully detached, writing to ``log`` after a line with the time and
    ``title``; its pid.  Nobody waits for it.

    ``pass_fd``: the one descriptor the child inherits besides 0-2 (the flush lock,
    which so passes to the child with no gap another hook could take it in).
    ``posix_spawn`` rather than ``subprocess.Popen``: a Popen object nobody waits
    for warns when collected.  The child is named by its arguments: cwd is not a
    posix_spawn option before Python 3.13.
    """
    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log)
    env = child_env(os.environ, keep_repo_env=False)
    env[DETACHED_VAR] = "1"
    if debug_on():
        env[DEBUG_VAR] = "1"
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        # The log's header only: a full disk must not stop the child from starting.
        try:
            os.write(out, f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {title}\n".encode())
        except OSError:
            pass
        _no_inherit()
        if pass_fd is not None:
            os.set_inheritable(pass_fd, True)
        actions = [
            (os.POSIX_SPAWN_DUP2, null, 0),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, out, 2),
        ]
        pid = os.posix_spawn(args[0], list(args), env, file_actions=actions, setsid=True)
    finally:
        os.close(out)
        os.close(null)
    trace(args, started, f"detached pid {pid}")
    return pid


def _rotate(log: Path) -> None:
    try:
        if log.stat().st_size > LOG_LIMIT:
            os.replace(log, log.with_name(log.name + ".1"))
    except FileNotFoundError:
        pass


def _no_inherit() -> None:
    # Only 0-2 may reach the child: a pipe of git's or pre-commit's that leaked into
    # this process would otherwise keep them waiting for the background run.
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass
