"""The console entry point: ``mlflow-gitver`` and ``python -m mlflow_gitver``.

Kept tiny on purpose: two commands run in git hooks, on every commit.  For
``id``, ``git status`` (most of its cost) is started before argparse and the rest
of the CLI (``cli.py``) are even imported; ``hook post-commit`` with its usual
arguments skips them altogether (~20 ms each time).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlflow_gitver.commands.hook import Args as HookArgs


def main(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:2] == ["hook", "post-commit"]:
        # After every commit: no argparse and no CLI module (~18 ms) for the
        # usual arguments; anything else (--help, a typo) goes to argparse.
        fast = post_commit_args(raw[2:])
        if fast is not None:
            from mlflow_gitver.commands.hook import post_commit
            from mlflow_gitver.error_handler import run_guarded
            from mlflow_gitver.proc import debug_on

            code = run_guarded(lambda: post_commit.run(fast), debug=debug_on())
            # The background case has nothing to tear down; a registration in
            # the foreground (--sync) has MLflow's, so it exits normally.
            return _exit(code) if argv is None and not fast.sync else code
    if raw[:1] == ["id"]:
        from mlflow_gitver.commands import id as id_command

        id_command.prestart(raw[1:])
    from mlflow_gitver.cli import run

    code = run(argv)
    return _exit(code) if raw[:1] == ["id"] and argv is None else code


def post_commit_args(args: Sequence[str]) -> HookArgs | None:
    """``hook post-commit``'s arguments when they hold only --repo and --sync;
    None: let argparse read them (``--help``, a typo: argparse's messages)."""
    repo: str | None = None
    sync = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--sync":
            sync = True
        elif arg == "--repo" and rest:
            repo = rest.pop(0)
        elif arg.startswith("--repo="):
            repo = arg.removeprefix("--repo=")
        else:
            return None
    from mlflow_gitver.commands.hook import Args

    if repo is None:
        return Args("post-commit", None, sync=sync)
    from pathlib import Path

    return Args("post-commit", Path(repo), sync=sync)


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
