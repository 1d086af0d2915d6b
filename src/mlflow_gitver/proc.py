"""Every child process: run, spawn and exec, under one environment policy, traced.

Each call takes an argument list (never a shell) and, except for exec, a timeout.
With ``--debug`` (or ``MLFLOW_GITVER_DEBUG=1``) each call logs its argv,
credentials scrubbed, its exit code and its time to stderr.  The detached spawn
(the background flush, whose stderr is its log) is proc_detached.py, under the
same policy and tracing.
"""

from __future__ import annotations

import os
import sys
import time

from mlflow_gitver.errors import (
    EXIT_FAILURE,
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    CommandError,
    GitverError,
)
from mlflow_gitver.record import Record

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import NoReturn

DEFAULT_TIMEOUT = 120.0
# Same as --debug; the detached flush gets it from a --debug run, and a user
# sets it for the hooks git runs (MLFLOW_GITVER_DEBUG=1 git commit ...).
DEBUG_VAR = "MLFLOW_GITVER_DEBUG"

_debug = [os.environ.get(DEBUG_VAR, "") not in ("", "0")]


def debug_on() -> bool:
    return _debug[0]


def set_debug(on: bool) -> None:
    _debug[0] = on


def trace(args: Sequence[str], started: float, outcome: str) -> None:
    if not _debug[0]:
        return
    from mlflow_gitver.redact import scrub  # its patterns compile only when tracing

    ms = (time.perf_counter() - started) * 1000
    argv = " ".join(scrub(a) for a in args)
    print(f"mlflow-gitver: debug: {outcome} in {ms:.1f} ms: {argv}", file=sys.stderr, flush=True)


# --- the environment policy -----------------------------------------------------------
# One rule for every child: git's per-invocation variables never pass; the
# variables that locate a repository pass only to a git run in the repository the
# hook was started for; everything else (the config git was given: `git -c`,
# GIT_CONFIG_COUNT/KEY_n/VALUE_n, GIT_CONFIG_GLOBAL, ...; ssh, proxies, identity)
# passes, so a detached flush sees what a --sync one does.

# What git sets for one command (a commit's temporary index, the hook's subdirectory).
HOOK_VARS = ("GIT_INDEX_FILE", "GIT_OPTIONAL_LOCKS", "GIT_NAMESPACE", "GIT_PREFIX")
# Variables that point at the repository; kept unless the caller names a repository
# explicitly (pre_commit/git.py: no_git_env).  The rest of `git rev-parse
# --local-env-vars` goes too: a submodule must not inherit its superproject's
# object directory or shallow file.
REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_GRAFT_FILE",
    "GIT_SHALLOW_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_INTERNAL_SUPER_PREFIX",
)


# How git reads pathspecs, for one command (git(1)); ours must mean one thing.
PATHSPEC_VARS = (
    "GIT_LITERAL_PATHSPECS",
    "GIT_GLOB_PATHSPECS",
    "GIT_NOGLOB_PATHSPECS",
    "GIT_ICASE_PATHSPECS",
)


def child_env(environ: Mapping[str, str], *, keep_repo_env: bool) -> dict[str, str]:
    """``environ`` without git's per-command variables (and, unless kept, those that
    locate a repository)."""
    drop = HOOK_VARS if keep_repo_env else HOOK_VARS + REPO_VARS
    return {k: v for k, v in environ.items() if k not in drop}


def git_env(*, keep_repo_env: bool) -> dict[str, str]:
    """The environment of a git command: the policy, plus messages that do not depend
    on the locale, no ``GIT_TRACE*`` output mixed into what we parse, and pathspecs
    read as git documents them whatever the user's GIT_*_PATHSPECS say (a scope's
    ``:!docs`` must not turn into a literal file name)."""
    env = child_env(os.environ, keep_repo_env=keep_repo_env)
    for k in [k for k in env if k.startswith("GIT_TRACE") or k in PATHSPEC_VARS]:
        del env[k]
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    return env


# --- run and spawn ----------------------------------------------------------------------


class Completed(Record):  # not a dataclass: see record.py
    __slots__ = ("returncode", "stderr", "stdout")
    returncode: int
    stdout: bytes
    stderr: bytes

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self._init(returncode=returncode, stdout=stdout, stderr=stderr)


def _not_found(name: str) -> GitverError:
    return GitverError(f"{name} not found on PATH; install it or fix PATH", EXIT_USAGE)


def _timed_out(args: Sequence[str], timeout: float) -> GitverError:
    return GitverError(f"command timed out after {timeout:.0f}s: {' '.join(args)}", EXIT_FAILURE)


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> Completed:
    """Run ``args`` (never through a shell) and capture stdout and stderr apart."""
    import subprocess  # not at the top: `id` starts its one hot command with Spawned

    started = time.perf_counter()
    try:
        proc = subprocess.run(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        trace(args, started, "not found")
        raise _not_found(args[0]) from e
    except subprocess.TimeoutExpired as e:
        trace(args, started, "timed out")
        raise _timed_out(args, timeout) from e
    trace(args, started, f"exit {proc.returncode}")
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode, proc.stderr)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


class Spawned:
    """A command started with ``posix_spawn``, its output collected by :meth:`wait`.

    For the one command on ``mlflow-gitver id``'s critical path (``git status``):
    starting it needs no import of ``subprocess`` (which pulls in ``signal`` and
    ``enum``, ~5 ms), so it can start as the very first thing the process does.
    stderr is drained by a thread, so a chatty child cannot block on a full pipe.
    """

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        import threading

        self.args = tuple(args)
        self._started = time.perf_counter()
        out_r, out_w = os.pipe()  # non-inheritable; dup2 makes the child's copies inheritable
        err_r, err_w = os.pipe()
        try:
            self.pid = os.posix_spawnp(
                self.args[0],
                self.args,
                dict(env),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, err_w, 2),
                ],
            )
        except FileNotFoundError as e:
            os.close(out_r)
            os.close(err_r)
            trace(self.args, self._started, "not found")
            raise _not_found(args[0]) from e
        finally:
            os.close(out_w)
            os.close(err_w)
        self._out = out_r
        self._err = bytearray()
        self._drain = threading.Thread(target=_read_into, args=(err_r, self._err), daemon=True)
        self._drain.start()

    def wait(self, timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> Completed:
        import threading

        timed_out: list[bool] = []

        def kill() -> None:
            timed_out.append(True)
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            out = bytearray()
            _read_into(self._out, out)
            _pid, status = os.waitpid(self.pid, 0)
            self._drain.join()
        finally:
            timer.cancel()
        if timed_out:
            trace(self.args, self._started, "timed out")
            raise _timed_out(self.args, timeout)
        code = os.waitstatus_to_exitcode(status)
        trace(self.args, self._started, f"exit {code}")
        if check and code != 0:
            raise CommandError(self.args, code, bytes(self._err))
        return Completed(code, bytes(out), bytes(self._err))


def _read_into(fd: int, buf: bytearray) -> None:
    try:
        while chunk := os.read(fd, 1 << 16):
            buf += chunk
    finally:
        os.close(fd)


def exec_replace(args: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with ``args``: it gets our pid, signals and exit code."""
    trace(args, time.perf_counter(), "exec")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(args[0], list(args), dict(env))
    except FileNotFoundError as e:
        raise GitverError(
            f"cannot run {args[0]!r}: command not found; check its name and PATH",
            EXIT_NOT_FOUND,
        ) from e
    except OSError as e:
        raise GitverError(
            f"cannot run {args[0]!r}: {e.strerror}; check that it is an executable file "
            "(chmod +x) or name its interpreter",
            EXIT_NOT_EXECUTABLE,
        ) from e
