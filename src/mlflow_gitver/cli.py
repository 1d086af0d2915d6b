"""Command-line parsing, and generic dispatch to one module per command.

Each command is a module ``mlflow_gitver.commands.<module>`` with ``args_of(ns)``
(the only reader of the ``argparse.Namespace``) and ``run(args) -> int``; it is
imported only when its command runs: ``id`` must not pay for importing MLflow.
Only the command being run gets its options built (the others are listed by name
and summary): ``id`` runs in hooks, and every ``add_argument`` costs.  The entry
point is ``main.py``; the commands and their options are listed in
``cli_commands.py``, the parser and the shared options are in ``cli_options.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlflow_gitver import proc
from mlflow_gitver.cli_commands import COMMANDS
from mlflow_gitver.cli_options import Parser, VersionAction, close_match
from mlflow_gitver.error_handler import PROG, run_guarded
from mlflow_gitver.errors import EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def _command_of(argv: Sequence[str]) -> str | None:
    # No global option takes a value, so the command is the first non-option word.
    for a in argv:
        if not a.startswith("-"):
            return a
        if a == "--":
            return None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names gets its options built."""
    parser = Parser(
        prog=PROG,
        description="Make every version of your code an MLflow LoggedModel.",
        epilog="examples:\n  mlflow-gitver init\n  mlflow-gitver register\n"
        "  mlflow-gitver COMMAND --help",
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks on errors, and each command run (git, ...) with its time; "
        "MLFLOW_GITVER_DEBUG=1 does the same, for the hooks too",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    wanted = None if argv is None else _command_of(argv)
    for name, (summary, build, example) in COMMANDS.items():
        if argv is not None and name != wanted:
            sub.add_parser(name, help=summary)  # listed in --help; never parsed
            continue
        p = sub.add_parser(
            name, help=summary, description=summary[0].upper() + summary[1:] + ".",
            epilog="examples:\n" + example if "\n" in example else "example:\n" + example,
        )  # fmt: skip
        build(p)
    return parser


def hook_types() -> list[str]:
    """The hook types ``mlflow-gitver hook`` runs, as its parser knows them."""
    hook = _subparser(build_parser(["hook"]), "hook")
    return list(_subparsers_of(hook).choices)


# Commands that register need a commit; before the first one, they say so.
_NEED_A_COMMIT = frozenset(("register", "env", "exec"))


def dispatch(ns: argparse.Namespace) -> int:
    """Run the command ``ns`` names: its module's ``run(args_of(ns))``."""
    name = ns.command
    run = _typed(name)
    if name in _NEED_A_COMMIT:
        return _first_commit_hint(ns, lambda: run(ns))
    return run(ns)


# Commands run by another command's module (`env` is `register --format env`).
_MODULE_OF = {"env": "register"}


def _typed(name: str) -> Callable[[argparse.Namespace], int]:
    # __import__, not importlib: `id` then imports nothing more than its command.
    module = _MODULE_OF.get(name, name)
    mod = __import__(f"mlflow_gitver.commands.{module}", fromlist=["run"])
    return lambda ns: int(mod.run(mod.args_of(ns)))


def _first_commit_hint(args: argparse.Namespace, func: Callable[[], int]) -> int:
    """``register`` before the first commit: say what it needs and what to do."""
    try:
        return func()
    except GitverError as e:
        from mlflow_gitver.config import ConfigError

        if args.commit is not None or e.exit_code != EXIT_USAGE or isinstance(e, ConfigError):
            raise  # a config error says more than "no commit yet"
        from mlflow_gitver.commands.check import unborn_repo

        repo = unborn_repo(args.repo)
        if repo is None:
            raise
        raise GitverError(
            f"{args.command} needs a commit: {repo.root} has none yet; commit your code "
            "(git add -A && git commit -m 'first version'), then run "
            f"'mlflow-gitver {args.command}' again ('mlflow-gitver check' shows what the "
            "first commit will be registered as)",
            EXIT_USAGE,
        ) from e


_Subparsers = argparse._SubParsersAction  # argparse's own type for add_subparsers()


def _subparsers_of(parser: argparse.ArgumentParser) -> _Subparsers[argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    chosen = _subparsers_of(parser).choices[name]
    assert isinstance(chosen, argparse.ArgumentParser)
    return chosen


def _unrecognized(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extras: list[str]
) -> NoReturn:
    """Refuse what the command does not take, naming its help (and the option meant)."""
    chosen = _subparser(parser, args.command)
    if getattr(args, "hook_type", None):
        chosen = _subparser(chosen, args.hook_type)
    hint = ""
    if extras[0].startswith("--"):
        options = [o for a in chosen._actions for o in a.option_strings if o.startswith("--")]
        guess = close_match(extras[0].split("=", 1)[0], options, cutoff=0.75)
        hint = f" (did you mean {guess!r}?)" if guess else ""
    chosen.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def run(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(raw)
    args, extras = parser.parse_known_args(raw)
    if extras:
        _unrecognized(parser, args, extras)
    if args.debug:
        proc.set_debug(True)  # every child process traced, the detached flush's too
    code = run_guarded(lambda: dispatch(args), debug=proc.debug_on())
    sys.stdout.flush()
    return code
