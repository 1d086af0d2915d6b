"""Command-line parsing, and dispatch to one module per command.

Command modules are imported only when their command runs: ``id`` must not pay
for importing MLflow.  Only the command being run gets its options built (the
others are listed by name and summary): ``id`` runs in hooks, and every
``add_argument`` costs.  The entry point is ``main.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlflow_gitver.error_handler import PROG, error_line, run_guarded
from mlflow_gitver.errors import EXIT_USAGE, GitverError

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: `id` need not import typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

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


def _close(word: str, choices: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The choice ``word`` was probably meant to be (a typo), if any."""
    import difflib  # only on an error: `id` need not pay for it

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


class _Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        # Raw description: the epilogs hold examples whose lines must stay as written.
        return argparse.RawDescriptionHelpFormatter(prog=self.prog, width=_help_width())

    def _check_value(self, action: argparse.Action, value: object) -> None:
        # argparse's own check, plus "did you mean" for a mistyped choice (the command
        # name above all).  Python 3.14 has suggest_on_error; we support 3.10.
        choices = action.choices
        if choices is not None and isinstance(value, str) and value not in choices:
            names = [str(c) for c in choices]
            guess = _close(value, names)
            hint = f" (did you mean {guess!r}?)" if guess else f" (choose from {', '.join(names)})"
            what = "command" if action.dest == "command" else "choice"
            raise argparse.ArgumentError(action, f"invalid {what} {value!r}{hint}")
        super()._check_value(action, value)

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


# --- options shared by several commands --------------------------------------------


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


def _add_format(p: argparse.ArgumentParser, *choices: str) -> None:
    listed = ", ".join(choices[1:])
    p.add_argument(
        "--format",
        choices=choices,
        default="text",
        help=f"output format: text (default, for people) or {listed}",
    )


TRACKING_URI_HELP = (
    "MLflow tracking URI (http(s)://host:port, databricks, sqlite:///path.db, ...); "
    "wins over MLFLOW_TRACKING_URI, which wins over the config's tracking_uri "
    "(default: sqlite:///<repository root>/mlflow.db)"
)
EXPERIMENT_HELP = (
    "experiment name (created if missing) or numeric id; wins over "
    "MLFLOW_EXPERIMENT_ID/MLFLOW_EXPERIMENT_NAME, which win over the config's "
    "experiment (default: MLflow's default experiment)"
)


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument("--experiment", metavar="NAME_OR_ID", help=EXPERIMENT_HELP)


def _add_register_options(p: argparse.ArgumentParser) -> None:
    from mlflow_gitver import ci  # the provider registry: only when these options are built

    _add_repo(p)
    _add_config(p)
    p.add_argument(
        "--commit",
        metavar="REV",
        help="register this commit (clean), with the config as it is in that commit",
    )
    _add_target(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be sent (name, params, tags, patch); contact nothing, write nothing",
    )
    p.add_argument(
        "--ci",
        choices=ci.choices(),
        default=None,
        help="write this CI system's export files (default: auto, detected from the environment; "
        "none: export nothing)",
    )
    p.add_argument(
        "--dotenv",
        type=Path,
        metavar="FILE",
        help="also write the outputs to this dotenv file (gitlab, buildkite and jenkins write "
        "mlflow-gitver.env by default)",
    )


# --- one builder per command ----------------------------------------------------------
# Each adds the options its command reads, and nothing else: an option a command
# would ignore is refused by argparse, not silently dropped.


def _id(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_config(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format: text (the identifier alone, default) or json (the whole state)",
    )
    p.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )


def _check(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_config(p)
    p.add_argument("--commit", metavar="REV", help="check the config as it is in this commit")
    _add_format(p, "text", "json")


def _register(p: argparse.ArgumentParser) -> None:
    _add_register_options(p)
    _add_format(p, "text", "json", "env")


def _exec(p: argparse.ArgumentParser) -> None:
    _add_register_options(p)
    p.add_argument(
        "cmd",
        nargs=argparse.REMAINDER,
        metavar="-- CMD [ARGS...]",
        help="the command to run, after '--'",
    )


def _resolve(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_config(p)
    _add_target(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--commit", metavar="REV", help="a commit (a full hash needs no checkout; default: HEAD)"
    )
    g.add_argument(
        "--version-id",
        metavar="ID",
        help="a version identifier, as 'mlflow-gitver id' prints it (needs no checkout)",
    )
    p.add_argument(
        "--name",
        metavar="APP",
        help="the application's name, when there is no config to read it from",
    )
    _add_format(p, "text", "json", "env")


def _hook(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="hook_type", metavar="HOOK", parser_class=_Parser)
    sub.required = True
    h = sub.add_parser(
        "post-commit",
        help="record the new commit; register it in the background",
        description="Record HEAD's registration and register it in the background; never "
        "fails a commit (exit 1 only when that commit's config is invalid).",
        epilog="example:\n  mlflow-gitver hook post-commit          # in .git/hooks/post-commit",
    )
    _add_repo(h)
    h.add_argument(
        "--sync", action="store_true", help="register in the foreground (MLFLOW_GITVER_SYNC=1)"
    )
    # git runs these, not post-commit, for the commits merge, rebase/amend and am
    # make; each records every commit HEAD's reflog shows since the last hook ran.
    for stage, made_by, args_help in (
        ("post-merge", "git merge and git pull", "git's squash flag (ignored)"),
        ("post-rewrite", "git rebase and git commit --amend", "'amend' or 'rebase' (ignored)"),
        ("post-applypatch", "git am", "none"),
    ):
        h = sub.add_parser(
            stage,
            help=f"record the commits {made_by} made; register them in the background",
            description=f"Record the registration of every commit {made_by} made (and any "
            "commit an earlier hook missed), and register them in the background; never "
            "fails git.",
            epilog=f'example:\n  mlflow-gitver hook {stage} "$@"         # in .git/hooks/{stage}',
        )
        _add_repo(h)
        h.add_argument(
            "--sync", action="store_true", help="register in the foreground (MLFLOW_GITVER_SYNC=1)"
        )
        h.add_argument("hook_args", nargs="*", metavar="ARG", help=f"what git passes: {args_help}")
    h = sub.add_parser(
        "pre-push",
        help="register pending versions and the pushed tips; block on an invalid config",
        description="Register what post-commit left pending, then each pushed ref's tip "
        "(refs read from stdin when git passes REMOTE and URL).",
        epilog='example:\n  mlflow-gitver hook pre-push "$@"         # in .git/hooks/pre-push',
    )
    _add_repo(h)
    h.add_argument(
        "--all",
        action="store_true",
        help="register every pushed commit the remote lacks, not only the tips",
    )
    h.add_argument("hook_args", nargs="*", metavar="REMOTE URL", help="what git passes to the hook")


def _flush(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="move failed registrations back to pending first (once their cause is fixed)",
    )
    # Internal: the descriptor of the flush lock a hook hands to the background flush.
    p.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)


def _status(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_format(p, "text", "json")
    p.add_argument(
        "--prune",
        action="store_true",
        help="delete the failed records (they can never register as committed)",
    )


def _init(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    p.add_argument(
        "--name", metavar="APP", help="the application's name (default: the repository's)"
    )


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "version",
        nargs="?",
        metavar="VERSION",
        help="a model id (m-...), a model name, a commit, or a version id "
        "(default: the working tree's version)",
    )
    _add_repo(p)
    _add_config(p)
    _add_target(p)
    p.add_argument(
        "--web", action="store_true", help="open the version's page in a web browser, if it has one"
    )
    _add_format(p, "text", "json")


def _doctor(p: argparse.ArgumentParser) -> None:
    _add_repo(p)
    _add_config(p)
    p.add_argument("--tracking-uri", metavar="URI", help=TRACKING_URI_HELP)
    _add_format(p, "text", "json")


# name -> (summary, builder, example epilog)
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "id": (
        "print the version identifier of the working tree",
        _id,
        "  mlflow-gitver id\n  mlflow-gitver id --format json --repo path/to/repo",
    ),
    "check": (
        "validate the config; print what would be registered",
        _check,
        "  mlflow-gitver check\n  mlflow-gitver check --commit HEAD~1 --format json",
    ),
    "register": (
        "find or create the LoggedModel of this version",
        _register,
        "  mlflow-gitver register\n"
        "  mlflow-gitver register --tracking-uri http://127.0.0.1:5000 --format json\n"
        "  mlflow-gitver register --dry-run",
    ),
    "env": (
        "register; print 'export MLFLOW_ACTIVE_MODEL_ID=...' lines",
        _add_register_options,
        '  eval "$(mlflow-gitver env)" && python app.py',
    ),
    "exec": (
        "register, then run a command with MLFLOW_ACTIVE_MODEL_ID set",
        _exec,
        "  mlflow-gitver exec -- python app.py",
    ),
    "resolve": (
        "look a version up without creating it (exit 1: absent)",
        _resolve,
        '  mlflow-gitver resolve --commit "$GIT_SHA" --name my-app --tracking-uri '
        '"$MLFLOW_TRACKING_URI"',
    ),
    "show": (
        "print one version: params, tags, link (exit 1: absent)",
        _show,
        "  mlflow-gitver show\n  mlflow-gitver show HEAD~2 --format json\n"
        "  mlflow-gitver show m-0123456789abcdef --web",
    ),
    "hook": (
        "run as a git hook (post-commit, post-merge, post-rewrite, post-applypatch, pre-push)",
        _hook,
        '  mlflow-gitver hook post-commit\n  mlflow-gitver hook post-merge "$@"\n'
        '  mlflow-gitver hook pre-push "$@"',
    ),
    "flush": (
        "register pending versions recorded by the hooks",
        _flush,
        "  mlflow-gitver flush\n  mlflow-gitver flush --retry-failed",
    ),
    "status": (
        "list pending and failed registrations",
        _status,
        "  mlflow-gitver status --format json\n  mlflow-gitver status --prune",
    ),
    "doctor": (
        "check the tracking URI, store, config, hooks and pending work",
        _doctor,
        "  mlflow-gitver doctor\n  mlflow-gitver doctor --format json",
    ),
    "init": (
        "write a commented .mlflow-gitver.yaml and .gitignore lines",
        _init,
        "  mlflow-gitver init --name my-app",
    ),
}


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
    parser = _Parser(
        prog=PROG,
        description="Make every version of your code an MLflow LoggedModel.",
        epilog="examples:\n  mlflow-gitver init\n  mlflow-gitver register\n"
        "  mlflow-gitver COMMAND --help",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    wanted = None if argv is None else _command_of(argv)
    for name, (summary, build, example) in _COMMANDS.items():
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


def _dispatch(args: argparse.Namespace) -> int:
    # Each branch imports only its own command module.
    cmd = args.command
    if cmd == "id":
        from mlflow_gitver.commands import id_cmd

        return id_cmd.run(args.repo, args.config, as_json=args.format == "json")
    if cmd == "check":
        from mlflow_gitver.commands import check

        return check.run(args.repo, args.config, commit=args.commit, fmt=args.format)
    if cmd in ("register", "env", "exec"):
        from mlflow_gitver.commands import register

        return _first_commit_hint(args, lambda: register.run(args))
    if cmd == "resolve":
        from mlflow_gitver.commands import resolve

        return resolve.run(args)
    if cmd == "show":
        from mlflow_gitver.commands import show

        return show.run(args)
    if cmd == "hook":
        from mlflow_gitver.commands import hook

        return hook.run(args)
    if cmd in ("flush", "status"):
        from mlflow_gitver.commands import queue_cmds

        return queue_cmds.run(args)
    if cmd == "doctor":
        from mlflow_gitver.commands import doctor

        return doctor.run(args)
    if cmd == "init":
        from mlflow_gitver.commands import init

        return init.run(args.repo, name=args.name)
    raise AssertionError(cmd)


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
        guess = _close(extras[0].split("=", 1)[0], options, cutoff=0.75)
        hint = f" (did you mean {guess!r}?)" if guess else ""
    chosen.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def run(argv: Sequence[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(raw)
    args, extras = parser.parse_known_args(raw)
    if extras:
        _unrecognized(parser, args, extras)
    code = run_guarded(lambda: _dispatch(args), debug=args.debug)
    sys.stdout.flush()
    return code
