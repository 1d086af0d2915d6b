"""Start ``mlflow-gitver flush`` fully detached from the hook that asked for it.

git waits for a hook's stdout and stderr to close, and pre-commit reads them
through pipes: a child that inherits them would make every commit wait for the
network.  So the child gets its own session (no SIGHUP when the terminal goes,
no Ctrl-C from the commit's process group), /dev/null as stdin, and a log file in
the git directory as stdout and stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: no typing import at run time
if TYPE_CHECKING:
    from collections.abc import Mapping

LOG_LIMIT = 1_000_000  # bytes; the log is rotated once past it


def _rotate(log: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > LOG_LIMIT:
            os.replace(log, log.with_name(log.name + ".1"))


def _no_inherit() -> None:
    # Only 0-2 may reach the child: a pipe of git's or pre-commit's that leaked into
    # this process would otherwise keep them waiting for the background run.
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2:
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, False)


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The flush's environment: the hook's, without git's per-hook variables.

    The repository is named by --repo, so variables that locate it must not
    leak into the child (GIT_INDEX_FILE of a commit in progress, for one); the
    configuration git was given (``git -c``: GIT_CONFIG_PARAMETERS, and
    GIT_CONFIG_COUNT/KEY_n/VALUE_n) must, or a background flush would see
    another config than a --sync one."""
    return {
        k: v
        for k, v in environ.items()
        if not k.startswith("GIT_") or k in _KEEP or k.startswith(_KEEP_PREFIXES)
    }


def spawn_flush(root: Path, log: Path, lock_fd: int | None = None) -> int:
    """Start ``python -m mlflow_gitver flush --repo root`` in the background; its pid.

    ``lock_fd``: a descriptor holding the repository's flush lock (Store.try_flush_lock).
    The child inherits it, so the lock passes to it with no gap another hook
    could start a second flusher in; the child drains the queue and releases it.

    ``posix_spawn`` rather than ``subprocess.Popen``: nobody waits for this child,
    and a Popen object would warn about that when collected.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log)
    env = child_env(os.environ)
    args = [sys.executable, "-m", "mlflow_gitver", "flush", "--repo", str(root)]
    if lock_fd is not None:
        args += ["--lock-fd", str(lock_fd)]
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        # The log's header only: a full disk must not stop the flush from starting.
        with contextlib.suppress(OSError):
            os.write(out, f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} flush\n".encode())
        _no_inherit()
        if lock_fd is not None:
            os.set_inheritable(lock_fd, True)
        actions = [
            (os.POSIX_SPAWN_DUP2, null, 0),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, out, 2),
        ]
        # cwd is not a posix_spawn option before Python 3.13: the flush takes --repo.
        return os.posix_spawn(sys.executable, args, env, file_actions=actions, setsid=True)
    finally:
        os.close(out)
        os.close(null)


# git configuration that is not about the repository location: keep it.
_KEEP = frozenset(
    (
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    )
)
_KEEP_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
