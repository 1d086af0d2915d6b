"""The CLI's argparse parser, and the options several commands share.

``id`` runs in hooks and parses its arguments with this module: nothing here
imports more than argparse (help width, typo suggestions and --version import
what they need when used).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from mlflow_gitver.error_handler import PROG, error_line
from mlflow_gitver.errors import EXIT_USAGE

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
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


def close_match(word: str, choices: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The choice ``word`` was probably meant to be (a typo), if any."""
    import difflib  # only on an error: `id` need not pay for it

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


class Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        # Raw description: the epilogs hold examples whose lines must stay as written.
        return argparse.RawDescriptionHelpFormatter(prog=self.prog, width=_help_width())

    def _check_value(self, action: argparse.Action, value: object) -> None:
        # argparse's own check, plus "did you mean" for a mistyped choice (the command
        # name above all).  Python 3.14 has suggest_on_error; we support 3.10.
        choices = action.choices
        if choices is not None and isinstance(value, str) and value not in choices:
            names = [str(c) for c in choices]
            guess = close_match(value, names)
            hint = f" (did you mean {guess!r}?)" if guess else f" (choose from {', '.join(names)})"
            what = "command" if action.dest == "command" else "choice"
            raise argparse.ArgumentError(action, f"invalid {what} {value!r}{hint}")
        super()._check_value(action, value)

    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: see '--help' for that.
        error_line(f"{message}; see '{self.prog} --help'")
        raise SystemExit(EXIT_USAGE)


class VersionAction(argparse.Action):
    """--version, importing importlib.metadata (~50 ms) only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        from mlflow_gitver.error_handler import tool_version

        print(f"{PROG} {tool_version()}")
        parser.exit(0)


# --- options shared by several commands --------------------------------------------


def add_repo(p: argparse.ArgumentParser) -> None:
    text = "a directory inside the git working tree (default: the current directory)"
    p.add_argument("--repo", type=Path, metavar="DIR", help=text)


def add_app(p: argparse.ArgumentParser) -> None:
    text = "one app of a config with 'apps:' (default: every app)"
    p.add_argument("--app", metavar="NAME", help=text)


def add_config(p: argparse.ArgumentParser) -> None:
    text = "the config file (default: .mlflow-gitver.yaml at the repository root)"
    p.add_argument("--config", type=Path, metavar="FILE", help=text)


def add_format(p: argparse.ArgumentParser, *choices: str) -> None:
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


def add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument("--experiment", metavar="NAME_OR_ID", help=EXPERIMENT_HELP)


def add_register_options(p: argparse.ArgumentParser) -> None:
    from mlflow_gitver import ci  # the provider registry: only when these options are built

    add_repo(p)
    add_config(p)
    add_app(p)
    p.add_argument(
        "--commit",
        metavar="REV",
        help="register this commit (clean), with the config as it is in that commit",
    )
    add_target(p)
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
