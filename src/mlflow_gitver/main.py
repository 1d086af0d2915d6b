"""The console entry point: ``mlflow-gitver`` and ``python -m mlflow_gitver``.

Kept tiny on purpose: two commands run in git hooks, on every commit.  For
``id``, ``git status`` (most of its cost) is started first; with their usual
arguments ``id``, ``hook post-commit`` and ``hook pre-push`` skip argparse and the
rest of the CLI (``cli.py``) altogether (~20 ms each time); anything else goes to
argparse.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from mlflow_gitver.commands.hook import Args as HookArgs
    from mlflow_gitver.commands.id import Args as IdArgs


def main(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:2] == ["hook", "post-commit"]:
        # After every commit: no argparse and no CLI module (~18 ms) for the
        # usual arguments; anything else (--help, a typo) goes to argparse.
        fast = post_commit_args(raw[2:])
        if fast is not None:
            from mlflow_gitver.commands.hook import post_commit

            code = _guarded(lambda: post_commit.run(fast))
            # The background case has nothing to tear down; a registration in
            # the foreground (--sync) has MLflow's, so it exits normally.
            return _exit(code) if argv is None and not fast.sync else code
    if raw[:2] == ["hook", "pre-push"]:
        # Before every push: a push whose versions are journaled imports neither
        # argparse nor MLflow (queue/registered.py).
        push_args = pre_push_args(raw[2:])
        if push_args is not None:
            from mlflow_gitver.commands.hook import pre_push

            code = _guarded(lambda: pre_push.run(push_args))
            # A registration (MLflow imported) has things to tear down: a normal exit.
            return _exit(code) if argv is None and "mlflow" not in sys.modules else code
    if raw[:1] == ["id"]:
        from mlflow_gitver.commands import id as id_command

        id_command.prestart(raw[1:])
        args = id_args(raw[1:])
        if args is not None:
            # The usual arguments skip argparse and the CLI too: their imports
            # (~10 ms of CPU) would run beside `git status`, on the cores it uses.
            code = _guarded(lambda: id_command.run(args))
            return _exit(code) if argv is None else code
    from mlflow_gitver.cli import run

    code = run(argv)
    return _exit(code) if raw[:1] == ["id"] and argv is None else code


def post_commit_args(args: Sequence[str]) -> HookArgs | None:
    """``hook post-commit``'s arguments when they hold only --repo and --sync;
    None: let argparse read them (``--help``, a typo: argparse's messages)."""
    given = _usual(args, values=("--repo",), flags=("--sync",))
    if given is None:
        return None
    from mlflow_gitver.commands.hook import Args

    opts = dict(given)
    return Args("post-commit", _path(opts.get("--repo")), sync="--sync" in opts)


def pre_push_args(args: Sequence[str]) -> HookArgs | None:
    """``hook pre-push``'s arguments when they are --repo and --all, then what git
    passes (words that do not look like options); None: argparse's to read."""
    words = list(args)
    split = 0
    while split < len(words) and words[split].startswith("-"):
        split += 2 if words[split] == "--repo" else 1  # --repo's value, not git's word
    opts, hook_args = words[:split], words[split:]
    if any(w.startswith("-") for w in hook_args):
        return None  # an option after git's words
    given = _usual(opts, values=("--repo",), flags=("--all",))
    if given is None:
        return None
    from mlflow_gitver.commands.hook import Args

    repo = dict(given).get("--repo")
    return Args(
        "pre-push",
        _path(repo),
        all_pushed=any(n == "--all" for n, _ in given),
        hook_args=tuple(hook_args),
    )


def id_args(args: Sequence[str]) -> IdArgs | None:
    """``id``'s arguments when they hold only --repo, --config, --app, --format, --json;
    None: let argparse read them."""
    given = _usual(args, values=("--repo", "--config", "--format", "--app"), flags=("--json",))
    if given is None:
        return None
    opts: dict[str, str | None] = {}
    fmt = "text"
    for name, value in given:
        if name == "--json":
            fmt = "json"  # --json and --format set one value: the last one wins
        elif name == "--format" and value is not None:
            fmt = value
        else:
            opts[name] = value
    if fmt not in ("text", "json"):
        return None  # argparse names the choices
    from mlflow_gitver.commands.id import Args

    repo, config = _path(opts.get("--repo")), _path(opts.get("--config"))
    return Args(repo, config, fmt == "json", opts.get("--app"))


def _usual(
    args: Sequence[str], *, values: Sequence[str], flags: Sequence[str]
) -> list[tuple[str, str | None]] | None:
    """The options of ``args``, in order, when each is one of ``values`` (``--opt X``
    or ``--opt=X``) or ``flags`` (value None); None for anything else, argparse's
    to judge: abbreviations, ``--help``, a value that looks like an option, a
    stray word."""
    given: list[tuple[str, str | None]] = []
    rest = list(args)
    while rest:
        name, eq, value = rest.pop(0).partition("=")
        if name in flags and not eq:
            given.append((name, None))
        elif name in values and eq:
            given.append((name, value))
        elif name in values and rest and not rest[0].startswith("-"):
            given.append((name, rest.pop(0)))
        else:
            return None
    return given


def _path(value: str | None) -> Path | None:
    if value is None:
        return None
    from pathlib import Path

    return Path(value)


def _guarded(func: Callable[[], int]) -> int:
    from mlflow_gitver.error_handler import run_guarded
    from mlflow_gitver.proc import debug_on

    return run_guarded(func, debug=debug_on())


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
