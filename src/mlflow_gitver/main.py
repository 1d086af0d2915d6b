"""The console entry point: ``mlflow-gitver`` and ``python -m mlflow_gitver``.

Kept tiny on purpose: ``id`` runs in hooks, and ``git status`` is most of its
cost, so for ``id`` that command is started before argparse and the rest of the
CLI (``cli.py``) are even imported (~20 ms on every run).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: no typing import at run time
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:1] == ["id"]:
        from mlflow_gitver.commands import id_cmd

        id_cmd.prestart(raw[1:])
    from mlflow_gitver.cli import run

    code = run(argv)
    if raw[:1] == ["id"] and argv is None:
        # A real `mlflow-gitver id` process: skip the interpreter's finalization
        # (module teardown, garbage collection: ~6 ms, 5% of `id` on a large repo).
        # Nothing is left to clean up: the stat cache was replaced atomically,
        # every child was waited for; only the standard streams need flushing.
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
