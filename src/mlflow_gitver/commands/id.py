"""``mlflow-gitver id``: the identifier of the working tree.

Speed matters here (hooks run it on every commit): ``main`` calls
:func:`prestart` before it even builds the argument parser, so that ``git
status``, most of the cost, runs while Python parses arguments and imports the
rest.  This module imports only ``git`` at the top for the same reason.
"""

from __future__ import annotations

import os

from mlflow_gitver import git, gitstatus
from mlflow_gitver.errors import GitverError
from mlflow_gitver.record import Record

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from pathlib import Path

_pending: list[gitstatus.PendingStatus] = []


class Args(Record):  # not a dataclass: `id` must not import dataclasses (record.py)
    __slots__ = ("as_json", "config", "repo")
    repo: Path | None
    config: Path | None
    as_json: bool

    def __init__(self, repo: Path | None, config: Path | None, as_json: bool) -> None:
        self._init(repo=repo, config=config, as_json=as_json)


def args_of(ns: argparse.Namespace) -> Args:
    return Args(ns.repo, ns.config, ns.format == "json")


def prestart(args: Sequence[str]) -> None:
    """Start ``git status`` for the current directory, if that is where ``id`` will look."""
    if any(a.startswith("--repo") or a in ("-h", "--help") for a in args):
        return  # the repository is elsewhere (or nothing runs): start nothing
    try:
        _pending.append(gitstatus.PendingStatus(os.getcwd(), keep_repo_env=True))
    except (OSError, GitverError):
        return  # no current directory, or no git: run() reports it, in one line


def run(args: Args) -> int:
    from mlflow_gitver.context import repo_start, untracked_setting
    from mlflow_gitver.gitstate import print_warnings, read_state

    start, keep_repo_env = repo_start(args.repo)

    def untracked(repo: git.Repo) -> bool:
        return untracked_setting(repo, args.config)

    state = read_state(
        start,
        untracked=untracked,
        keep_repo_env=keep_repo_env,
        pending=_pending.pop() if _pending else None,
    )
    print_warnings(state)
    if args.as_json:
        import json

        print(json.dumps(state.as_json(), indent=2))
    else:
        print(state.version_id)
    return 0
