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

    from mlflow_gitver.gitstate import GitState
    from mlflow_gitver.scopestate import ScopeRun

_pending: list[gitstatus.PendingStatus] = []


class Args(Record):  # not a dataclass: `id` must not import dataclasses (record.py)
    __slots__ = ("app", "as_json", "config", "repo")
    repo: Path | None
    config: Path | None
    as_json: bool
    app: str | None

    def __init__(
        self, repo: Path | None, config: Path | None, as_json: bool, app: str | None = None
    ) -> None:
        self._init(repo=repo, config=config, as_json=as_json, app=app)


def args_of(ns: argparse.Namespace) -> Args:
    return Args(ns.repo, ns.config, ns.format == "json", ns.app)


def prestart(args: Sequence[str]) -> None:
    """Start ``git status`` for the current directory, if that is where ``id`` will look."""
    if any(a.startswith(("--repo", "--app")) or a in ("-h", "--help") for a in args):
        # The repository is elsewhere, or one app's paths will be asked for (or
        # nothing runs): start nothing.
        return
    try:
        _pending.append(gitstatus.PendingStatus(os.getcwd(), keep_repo_env=True))
    except (OSError, GitverError):
        return  # no current directory, or no git: run() reports it, in one line


def run(args: Args) -> int:
    from mlflow_gitver.context import open_repo, repo_start, scoped_apps, untracked_setting
    from mlflow_gitver.gitstate import read_state

    if args.app is not None:
        repo = open_repo(args.repo)
        return _show_app(repo, args)

    start, keep_repo_env = repo_start(args.repo)
    found: list[git.Repo] = []

    def untracked(repo: git.Repo) -> bool:
        found.append(repo)
        return untracked_setting(repo, args.config)

    state = read_state(
        start,
        untracked=untracked,
        keep_repo_env=keep_repo_env,
        pending=_pending.pop() if _pending else None,
    )
    apps = scoped_apps(found[0], args.config, None)
    if apps is None:
        _print(state, args.as_json)
        return 0
    return _show(found[0], [(a.name, a.untracked, a.paths) for a in apps], state, args.as_json)


def _show_app(repo: git.Repo, args: Args) -> int:
    """One app's id, its git calls started from the last run's hint (scopehint.py):
    without a parse of the config when the hint is trusted for these bytes, else
    while the config is parsed (the parse would otherwise come first)."""
    from mlflow_gitver import scopehint
    from mlflow_gitver.config import load_config, parse_config
    from mlflow_gitver.configstamp import WatchedEnv
    from mlflow_gitver.context import config_path, select_apps
    from mlflow_gitver.scopestate import ScopeRun

    assert args.app is not None
    where = config_path(repo, args.config)
    try:
        data = where.read_bytes()
    except OSError:
        data = None  # the parse says what is wrong, in its words
    hint = scopehint.read(repo, where, args.app)
    if hint is not None and data is not None and hint.trusted(data):
        # Started before gitstate (and its imports) is even loaded.
        early = ScopeRun(repo, *hint.scope)
        untracked, paths = hint.scope
        return _show(repo, [(args.app, untracked, paths)], None, args.as_json, early)
    started = ScopeRun(repo, *hint.scope) if hint is not None else None
    env = WatchedEnv(os.environ)
    try:
        # Unreadable: load_config says why in one line (or reads it, if it came back).
        cfg = load_config(where, env) if data is None else parse_config(data, str(where), env)
        [app] = select_apps(cfg, args.app)
    except BaseException:
        if started is not None:
            started.discard()
        raise
    scope = (app.untracked, app.paths)
    if app.paths:
        trust = "" if env.read or data is None else scopehint.trust_key(data)
        if hint is None or (hint.scope, hint.trust) != (scope, trust):
            scopehint.write(repo, where, args.app, scopehint.Hint(scope, trust))
    return _show(repo, [(app.name, app.untracked, app.paths)], None, args.as_json, started)


def _show(
    repo: git.Repo,
    apps: Sequence[tuple[str, bool, tuple[str, ...]]],
    whole: GitState | None,
    as_json: bool,
    started: ScopeRun | None = None,
) -> int:
    """Each app's (name, untracked, paths) state: scoped to its paths, or ``whole``
    (the repository's).  ``started``: one app's git calls, begun early."""
    from mlflow_gitver.gitstate import print_warnings, state_of

    states = []
    for name, untracked, paths in apps:
        if paths:
            state = state_of(repo, untracked=untracked, scope=paths, started=started)
            started = None
        else:
            if started is not None:
                started.discard()
                started = None
            state = whole if whole is not None else state_of(repo, untracked=untracked)
        print_warnings(state, app=name)
        states.append((name, state))
    if as_json:
        import json

        items = [{"app": name, **state.as_json()} for name, state in states]
        print(json.dumps(items[0] if len(items) == 1 else items, indent=2))
    elif len(states) == 1:
        print(states[0][1].version_id)
    else:
        for name, state in states:
            print(f"{name}\t{state.version_id}")
    return 0


def _print(state: GitState, as_json: bool) -> None:
    from mlflow_gitver.gitstate import print_warnings

    print_warnings(state)
    if as_json:
        import json

        print(json.dumps(state.as_json(), indent=2))
    else:
        print(state.version_id)
