"""Turns every way a command can end into one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlflow_gitver.errors import EXIT_BUG, EXIT_INTERRUPTED, GitverError
from mlflow_gitver.redact import scrub

PROG = "mlflow-gitver"


def error_line(message: str) -> None:
    print(f"{PROG}: error: {scrub(message)}", file=sys.stderr)


def _print_traceback() -> None:
    import traceback  # only with --debug: ~3 ms that `id` need not pay

    print(scrub(traceback.format_exc()), end="", file=sys.stderr)  # values in it may be secrets


def run_guarded(func: Callable[[], int], *, debug: bool) -> int:
    try:
        return func()
    except GitverError as e:
        if debug:
            _print_traceback()
        error_line(e.message)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head`: nothing more to say, and not a failure of ours.
        return 0
    except Exception as e:
        if debug:
            _print_traceback()
        error_line(
            f"unexpected {type(e).__name__}: {e}; this is a bug in mlflow-gitver: "
            "rerun with --debug for the traceback and report it"
        )
        return EXIT_BUG
