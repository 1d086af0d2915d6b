"""The one error type for problems the user can fix, and the exit codes."""

from __future__ import annotations

# Exit codes, documented in the README ("Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1  # operational: server unreachable, conflict, version not registered
EXIT_USAGE = 2  # bad input: config, arguments, not a repository
EXIT_BUG = 3  # an unexpected exception: a bug in mlflow-gitver
EXIT_INTERRUPTED = 130


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
