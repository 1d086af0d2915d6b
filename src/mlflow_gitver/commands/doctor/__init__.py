"""``mlflow-gitver doctor``: is everything in place for versions to be registered?

One line per check: ``ok``, ``warning`` or ``error``, with the fix.  Checks the
config, the tracking URI (its scheme, then the server or the embedded store), the
experiment, the git hooks actually installed (``core.hooksPath`` included: it
makes git ignore ``.git/hooks``), and the work the hooks left pending or failed.
Exit 0 when every check is ok, 1 otherwise.  Reads only: creates no store, no
experiment, no file.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.commands.doctor.checks import ERROR, OK, Check
from mlflow_gitver.commands.doctor.hooks import hooks, pending_work
from mlflow_gitver.commands.doctor.target import experiment, scheme_ok, store_edge, uri_source
from mlflow_gitver.context import config_path, open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    config: Path | None = None
    tracking_uri: str | None = None
    format: str = "text"  # text or json


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def run(args: Args) -> int:
    repo = open_repo(args.repo)
    checks: list[Check] = []
    cfg = _config(repo, args.config, checks)
    from mlflow_gitver.tracking import experiment_choice, resolve_uri

    source = uri_source(args.tracking_uri, cfg.tracking_uri if cfg else None)
    try:
        # resolve_uri refuses what can only fail (no scheme, a file store): the
        # same rule and message as every command that registers.
        uri: str | None = resolve_uri(
            args.tracking_uri, os.environ, cfg.tracking_uri if cfg else None, repo.root
        )
    except GitverError as e:
        checks.append(Check("tracking URI", ERROR, e.message))
        uri = None
    if uri is not None and scheme_ok(uri, source, checks):
        edge = store_edge(uri, source, checks)
        if edge is not None:
            experiment(
                edge, experiment_choice(None, os.environ, cfg.experiment if cfg else None), checks
            )
    hooks(repo, checks)
    pending_work(repo, checks)
    ok = all(c.level == OK for c in checks)
    if args.format == "json":
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for c in checks:
            print(c.line())
    return EXIT_OK if ok else EXIT_FAILURE


# --- config ---------------------------------------------------------------------------


def _config(repo: git.Repo, config_arg: Path | None, checks: list[Check]) -> Any:
    from mlflow_gitver.context import load_worktree_config

    path = config_path(repo, config_arg)
    try:
        cfg = load_worktree_config(repo, config_arg)
    except GitverError as e:
        fix = (
            "mlflow-gitver init"
            if not path.exists()
            else "edit the file (see 'mlflow-gitver check')"
        )
        checks.append(Check("config", ERROR, e.message, fix))
        return None
    checks.append(Check("config", OK, f"{cfg.source} is valid (name: {cfg.name})"))
    return cfg
