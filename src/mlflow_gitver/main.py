"""The console entry point: ``mlflow-gitver`` and ``python -m mlflow_gitver``.

Kept tiny on purpose: two commands run in git hooks, on every commit.  For
``id``, ``git status`` (most of its cost) is started before argparse and the rest
of the CLI (``cli.py``) are even imported; ``hook post-commit`` with its usual
arguments skips them altogether (~20 ms each time).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: no typing import at run time
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:2] == ["hook", "post-commit"]:
        # After every commit: no argparse and no CLI module (~18 ms) for the
        # usual arguments; anything else (--help, a typo) goes to argparse.
        from mlflow_gitver.commands import post_commit
        from mlflow_gitver.error_handler import run_guarded
        from mlflow_gitver.proc import debug_on

        fast = post_commit.fast_args(raw[2:])
        if fast is not None:
            repo, sync = fast
            code = run_guarded(lambda: post_commit.run(repo, sync=sync), debug=debug_on())
            # The background case has nothing to tear down; a registration in
            # the foreground (--sync) has MLflow's, so it exits normally.
            return _exit(code) if argv is None and not sync else code
    if raw[:1] == ["id"]:
        from mlflow_gitver.commands import id as id_command

        id_command.prestart(raw[1:])
    from mlflow_gitver.cli import run

    code = run(argv)
    return _exit(code) if raw[:1] == ["id"] and argv is None else code


def _exit(code: int) -> int:
    """End a real process now: skip the interpreter's finalization (module teardown,
    garbage collection: ~6 ms).  Only for runs with nothing left to clean up:
    files were replaced atomically, every child was waited for or detached; only
    the standard streams need flushing."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
