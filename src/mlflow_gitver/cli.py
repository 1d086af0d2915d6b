"""Command-line parsing, and dispatch to one module per command.

Command modules are imported only when their command runs: ``id`` must not pay
for importing MLflow.  The entry point is ``main.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlflow_gitver.error_handler import PROG, error_line, run_guarded
from mlflow_gitver.errors import EXIT_USAGE

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: `id` need not import typing
if TYPE_CHECKING:
    from typing import NoReturn

CI_CHOICES = ("auto", "github", "gitlab", "azure", "circleci", "buildkite", "jenkins", "none")


_WIDTH: list[int] = []


def _help_width() -> int:
    # argparse finds the terminal width with shutil, which imports zlib, bz2 and
    # lzma (~4 ms on every run, `id` in every hook included); os does it too.
    # Asked once: argparse makes a formatter for every add_argument().
    if not _WIDTH:
        try:
            width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            width = 80
        _WIDTH.append(max(width - 2, 20))
    return _WIDTH[0]


class _Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        return argparse.HelpFormatter(prog=self.prog, width=_help_width())

    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: see '--help' for that.
        error_line(f"{message}; see '{self.prog} --help'")
        raise SystemExit(EXIT_USAGE)


class _VersionAction(argparse.Action):
    """--version, importing importlib.metadata (~50 ms) only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("mlflow-gitver")
        except PackageNotFoundError:  # running from a source tree
            v = "unknown"
        print(f"{PROG} {v}")
        parser.exit(0)


def _add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="a directory inside the git working tree (default: the current directory)",
    )


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the config file (default: .mlflow-gitver.yaml at the repository root)",
    )


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (see README)")
    p.add_argument("--experiment", metavar="NAME_OR_ID", help="experiment name or numeric id")


def _add_register_options(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_config(p)
    p.add_argument(
        "--commit",
        metavar="REV",
        help="register this commit (clean), with the config as it is in that commit",
    )
    _add_target(p)
    p.add_argument("--dry-run", action="store_true", help="print what would be sent; touch nothing")
    p.add_argument(
        "--ci",
        choices=CI_CHOICES,
        default=None,
        help="write the CI system's export files (default: auto, from the environment)",
    )
    p.add_argument(
        "--dotenv",
        type=Path,
        metavar="FILE",
        help="dotenv file for --ci gitlab/buildkite/jenkins (default: mlflow-gitver.env)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Make every version of your code an MLflow LoggedModel.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("id", help="print the version identifier of the working tree")
    _add_repo(p)
    _add_config(p)
    p.add_argument("--json", action="store_true", help="print the state as JSON")

    p = sub.add_parser("check", help="validate the config; print what would be registered")
    _add_repo(p)
    _add_config(p)
    p.add_argument("--commit", metavar="REV", help="check the config as it is in this commit")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("register", help="find or create the LoggedModel of this version")
    _add_register_options(p)
    p.add_argument("--format", choices=("text", "json", "env"), default="text")

    p = sub.add_parser("env", help="register; print 'export MLFLOW_ACTIVE_MODEL_ID=...' lines")
    _add_register_options(p)

    p = sub.add_parser("exec", help="register, then run a command with MLFLOW_ACTIVE_MODEL_ID set")
    _add_register_options(p)
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")

    p = sub.add_parser("resolve", help="look a version up without creating it (exit 1: absent)")
    _add_repo(p)
    _add_config(p)
    _add_target(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--commit", metavar="REV", help="a commit (a full hash needs no checkout)")
    g.add_argument("--version-id", metavar="ID", help="a version identifier (needs no checkout)")
    p.add_argument("--name", help="the application's name, when there is no config to read")
    p.add_argument("--format", choices=("text", "json", "env"), default="text")

    p = sub.add_parser(
        "hook",
        help="run as a git hook (post-commit, post-merge, post-rewrite, post-applypatch, pre-push)",
    )
    p.add_argument(
        "hook_type",
        choices=("post-commit", "post-merge", "post-rewrite", "post-applypatch", "pre-push"),
    )
    p.add_argument("hook_args", nargs="*", help="what git passes to the hook")
    _add_repo(p)
    p.add_argument("--sync", action="store_true", help="register in the foreground")
    p.add_argument("--all", action="store_true", help="pre-push: every pushed commit, not tips")

    p = sub.add_parser("flush", help="register pending versions recorded by the hooks")
    _add_repo(p)
    p.add_argument(
        "--retry-failed", action="store_true", help="retry the failed ones too (cause fixed)"
    )
    # Internal: the descriptor of the flush lock a hook passes to the background flush.
    p.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)

    p = sub.add_parser("status", help="list pending and failed registrations")
    _add_repo(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--prune", action="store_true", help="delete the failed records (they can never register)"
    )

    p = sub.add_parser("init", help="write a commented .mlflow-gitver.yaml and .gitignore lines")
    _add_repo(p)
    p.add_argument("--name", help="the application's name (default: the repository's)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    # Each branch imports only its own command module.
    cmd = args.command
    if cmd == "id":
        from mlflow_gitver.commands import id_cmd

        return id_cmd.run(args.repo, args.config, as_json=args.json)
    if cmd == "check":
        from mlflow_gitver.commands import check

        return check.run(args.repo, args.config, commit=args.commit, fmt=args.format)
    if cmd in ("register", "env", "exec"):
        from mlflow_gitver.commands import register

        return register.run(args)
    if cmd == "resolve":
        from mlflow_gitver.commands import resolve

        return resolve.run(args)
    if cmd == "hook":
        from mlflow_gitver.commands import hook

        return hook.run(args)
    if cmd in ("flush", "status"):
        from mlflow_gitver.commands import queue_cmds

        return queue_cmds.run(args)
    if cmd == "init":
        from mlflow_gitver.commands import init

        return init.run(args.repo, name=args.name)
    raise AssertionError(cmd)


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = run_guarded(lambda: _dispatch(args), debug=args.debug)
    sys.stdout.flush()
    return code
