"""The one place that runs subprocesses."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlflow_gitver.errors import EXIT_FAILURE, GitverError
from mlflow_gitver.record import Record

DEFAULT_TIMEOUT = 120.0


class Completed(Record):  # not a dataclass: see record.py
    __slots__ = ("returncode", "stderr", "stdout")
    returncode: int
    stdout: bytes
    stderr: bytes

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self._init(returncode=returncode, stdout=stdout, stderr=stderr)


class CommandError(GitverError):
    """A command exited non-zero: shows the command, its exit code and stderr."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: bytes) -> None:
        err = stderr.decode("utf-8", "replace").strip().replace("\n", " | ")
        super().__init__(
            f"command failed (exit {returncode}): {' '.join(args)}: {err or 'no output'}",
            EXIT_FAILURE,
        )
        self.cmd = tuple(args)
        self.returncode = returncode
        self.stderr = stderr


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
        raise GitverError(
            f"{args[0]} not found on PATH; install it or fix PATH", exit_code=2
        ) from e
    except subprocess.TimeoutExpired as e:
        raise GitverError(
            f"command timed out after {timeout:.0f}s: {' '.join(args)}", EXIT_FAILURE
        ) from e
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode, proc.stderr)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def environ_without(prefixes: Sequence[str], names: Sequence[str] = ()) -> dict[str, str]:
    """A copy of the environment without the given variable names and name prefixes."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in names and not any(k.startswith(p) for p in prefixes)
    }
