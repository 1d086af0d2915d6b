"""The one place that runs subprocesses."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from mlflow_gitver.errors import EXIT_FAILURE, GitverError
from mlflow_gitver.record import Record

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True
if TYPE_CHECKING:
    from pathlib import Path

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
    import subprocess  # not at the top: `id` starts its one hot command with spawn()

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
            raise GitverError(
                f"{args[0]} not found on PATH; install it or fix PATH", exit_code=2
            ) from e
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
            raise GitverError(
                f"command timed out after {timeout:.0f}s: {' '.join(self.args)}", EXIT_FAILURE
            )
        code = os.waitstatus_to_exitcode(status)
        if check and code != 0:
            raise CommandError(self.args, code, bytes(self._err))
        return Completed(code, bytes(out), bytes(self._err))


def _read_into(fd: int, buf: bytearray) -> None:
    try:
        while chunk := os.read(fd, 1 << 16):
            buf += chunk
    finally:
        os.close(fd)


def environ_without(prefixes: Sequence[str], names: Sequence[str] = ()) -> dict[str, str]:
    """A copy of the environment without the given variable names and name prefixes."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in names and not any(k.startswith(p) for p in prefixes)
    }
