"""Exit codes, and the error types for problems the user can fix."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

# Exit codes, documented in the README ("Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1  # operational: server unreachable, conflict, version not registered
EXIT_USAGE = 2  # bad input: config, arguments, not a repository
EXIT_BUG = 3  # an unexpected exception: a bug in mlflow-gitver
EXIT_NO_BASELINE = 4  # compare: no baseline, or no evaluation, to compare
EXIT_INTERRUPTED = 130
# What a POSIX shell exits with for a command it cannot find, or cannot run (exec).
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


class GitverError(Exception):
    """An error the user can fix: one line of text and an exit code.

    The message says what is wrong, where, and how to fix it.  It must never
    contain a credential: callers redact URIs before they build the message.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


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


class ServerUnavailable(GitverError):
    """The tracking server could not be reached or kept failing (connection, 5xx,
    timeouts) for the whole retry budget.  Worth retrying later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


class AuthFailed(GitverError):
    """The server refused our credentials (401/403).  Not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


class Conflict(GitverError):
    """The version is registered already, with different params."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)
