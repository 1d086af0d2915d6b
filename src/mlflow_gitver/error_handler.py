"""The one writer of error lines: every way a command can end becomes one line and an exit code.

An unexpected exception (a bug: exit 3) also writes a crash log, the file to attach
to a bug report: tool, git and Python versions, platform, argv and traceback, all
scrubbed of credentials.  It goes under the repository's ``.git/mlflow-gitver/``,
or the temporary directory outside a repository.
"""

from __future__ import annotations

import os
import sys

from mlflow_gitver.errors import EXIT_BUG, EXIT_FAILURE, EXIT_INTERRUPTED, GitverError
from mlflow_gitver.redact import scrub

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

PROG = "mlflow-gitver"
CRASH_LOG = "crash.log"


def error_line(message: str) -> None:
    print(f"{PROG}: error: {scrub(message)}", file=sys.stderr)


def _traceback() -> str:
    import traceback  # only on a bug or with --debug: ~3 ms that `id` need not pay

    return scrub(traceback.format_exc())  # values in it may be secrets


def run_guarded(func: Callable[[], int], *, debug: bool) -> int:
    try:
        return func()
    except GitverError as e:
        if debug:
            print(_traceback(), end="", file=sys.stderr)
        error_line(e.message)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head`: nothing more to say, and not a failure of ours.
        return 0
    except ModuleNotFoundError as e:
        package = _our_dependency(e)
        if package is None:
            return _bug(e, debug)
        if debug:
            print(_traceback(), end="", file=sys.stderr)
        error_line(
            f"the package {package} that mlflow-gitver needs is not installed in "
            f"{sys.prefix} (module {e.name!r} is missing); reinstall mlflow-gitver there "
            "(pip install --force-reinstall mlflow-gitver; for a hook environment: "
            "pre-commit clean, or prek clean, then commit again)"
        )
        return EXIT_FAILURE
    except Exception as e:
        return _bug(e, debug)


# The import names of our runtime dependencies (pyproject's [project] dependencies)
# and the packages that provide them: one missing is an installation to repair.
_DEPENDENCIES = {
    "mlflow": "mlflow-skinny",
    "yaml": "pyyaml",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic",
    "detect_secrets": "detect-secrets",
}


def _our_dependency(e: ModuleNotFoundError) -> str | None:
    """The package of ours whose module is missing; None for anything else (an
    MLflow submodule missing is MLflow's optional part, not a broken install)."""
    name = e.name or ""
    top = name.split(".", 1)[0]
    if top == "mlflow" and name != "mlflow":
        return None
    return _DEPENDENCIES.get(top)


def _bug(e: Exception, debug: bool) -> int:
    """An unexpected exception: one line, the crash log, exit 3."""
    tb = _traceback()
    from mlflow_gitver.proc_detached import DETACHED_VAR

    # The detached flush's stderr is its log, read after the fact: the traceback
    # goes there whole, as with --debug.
    if debug or os.environ.get(DETACHED_VAR) == "1":
        print(tb, end="", file=sys.stderr)
    where = write_crash_log(tb, sys.argv)
    how = f"report it with {where}" if where else "rerun with --debug and report it"
    error_line(f"unexpected {type(e).__name__}: {e}; this is a bug in mlflow-gitver: {how}")
    return EXIT_BUG


def write_crash_log(tb: str, argv: Sequence[str]) -> Path | None:
    """Write the crash log; its path, or None when no file could be written."""
    import platform
    import tempfile
    from pathlib import Path

    text = (
        f"{PROG} {tool_version()}\n"
        f"{_git_version()}\n"
        f"Python {platform.python_version()} ({sys.executable})\n"
        f"platform: {platform.platform()}\n"
        f"argv: {' '.join(scrub(a) for a in argv)}\n\n"
        f"{tb}"
    )
    for where in (_store_dir(argv), Path(tempfile.gettempdir()) / PROG):
        if where is None:
            continue
        path = where / CRASH_LOG
        try:
            where.mkdir(parents=True, exist_ok=True)
            # Not world-readable: an argv or a traceback may hold what scrub missed.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
                f.write(text)
        except OSError:
            continue
        return path
    return None


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow-gitver")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


def _git_version() -> str:
    from mlflow_gitver import proc

    try:
        return proc.run(["git", "--version"], timeout=10).stdout.decode().strip()
    except GitverError as e:
        return f"git: {e.message}"


def _store_dir(argv: Sequence[str]) -> Path | None:
    """``.git/mlflow-gitver`` of the repository the command ran in (``--repo`` or the
    current directory), where the hooks keep their logs too."""
    from pathlib import Path

    from mlflow_gitver import proc

    start = "."
    for i, a in enumerate(argv):
        if a == "--repo" and i + 1 < len(argv):
            start = argv[i + 1]
        elif a.startswith("--repo="):
            start = a.split("=", 1)[1]
    try:
        out = proc.run(
            ["git", "-C", start, "rev-parse", "--path-format=absolute", "--git-common-dir"],
            env=proc.git_env(keep_repo_env=start == "."),
            timeout=10,
        )
    except GitverError:
        return None  # not a repository (or no git): the temporary directory
    return Path(out.stdout.decode("utf-8", "surrogateescape").strip()) / PROG
