"""``mlflow-gitver verify [MODEL_ID]``: is this the version a deploy should link to?

For the deploy step and a container's entrypoint: the id (default
``MLFLOW_ACTIVE_MODEL_ID``) names a LoggedModel that exists, is READY, is this
app's (when a config or ``--name`` names one) and in the experiment traces
will go to (when one is given), and, with ``--commit`` or a platform's commit
variable (deployenv.py), is the version of that commit.  MLflow accepts any
string as ``MLFLOW_ACTIVE_MODEL_ID``: a model *name* there links every trace
to nothing, so a name is refused with the id it names (exit 2).  A version
that passes is tagged ``mlflow_gitver.verified`` (``gc`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import deploycheck as check
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.context import lookup_config_path, open_repo_if_any, select_apps
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver import git
    from mlflow_gitver.config import Config

PROG = "mlflow-gitver"


@dataclass(frozen=True)
class Args:
    model_id: str | None = None  # MODEL_ID; None: MLFLOW_ACTIVE_MODEL_ID
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    name: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    commit: str | None = None
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def run(args: Args) -> int:
    from mlflow_gitver import lookup, mlflow_api, tracking

    if args.model_id is not None and not args.model_id.strip():
        # `verify "$ID"` with an unset ID: checking MLFLOW_ACTIVE_MODEL_ID instead
        # would pass for a model nobody named.
        raise GitverError(
            "MODEL_ID is empty (an unset variable?): pass a model id, or omit it to "
            "verify MLFLOW_ACTIVE_MODEL_ID",
            EXIT_USAGE,
        )
    given = args.model_id or os.environ.get("MLFLOW_ACTIVE_MODEL_ID") or None
    if given is None:
        raise GitverError(
            "no model id to verify: pass MODEL_ID, or set MLFLOW_ACTIVE_MODEL_ID "
            f"(what '{PROG} register' exports)",
            EXIT_USAGE,
        )
    repo = open_repo_if_any(args.repo)
    cfg = _config(repo, args)
    want = _expected(repo, cfg, args)
    root = repo.root if repo is not None else None
    uri, choice = lookup.lookup_place(args.tracking_uri, args.experiment, cfg, root)
    want.experiment = choice if args.experiment else None
    want.env_experiments = check.env_experiments(os.environ)
    shown = tracking.display(uri)
    mlflow_api.quiet()
    with tracking.mlflow_env(uri), mlflow_api.failing(f"verifying {given}", shown):
        edge = mlflow_api.connect(uri)
        if not check.is_model_id(given):
            raise check.not_an_id(edge, given, choice)
        model = mlflow_api.get_model(
            edge, given, ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        )
        if model is None:
            raise GitverError(
                f"model {given} does not exist at {shown}; check MLFLOW_ACTIVE_MODEL_ID "
                f"and the tracking URI ('{PROG} resolve' prints the id of a version)",
                EXIT_FAILURE,
            )
        exp = mlflow_api.get_experiment(edge, str(model.experiment_id), "reading the experiment")
        if args.model_id is None and not want.env_experiments and str(exp.experiment_id) != "0":
            # The deploy's own environment: MLflow would send its traces to experiment 0.
            want.notes.append(
                "MLFLOW_EXPERIMENT_ID is not set: traces go to the default experiment, where the "
                f"version's page does not show them; set MLFLOW_EXPERIMENT_ID={exp.experiment_id}"
            )
        problem = check.problem_of(model, exp, want)
        out = _report(model, exp, want, problem)
        if problem is None:
            check.mark_verified(edge, model.model_id)
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    for note in want.notes:
        print(f"{PROG}: warning: {note}", file=sys.stderr)
    if problem is not None:
        if args.format != "json":
            print(f"{PROG}: error: {problem}", file=sys.stderr)
        return EXIT_FAILURE
    if args.format != "json":
        print(
            f"ok: {model.model_id} is {model.name} (READY) in experiment {exp.name} "
            f"({exp.experiment_id})"
            + (f", the version of {want.commit}" if want.version_id is not None else "")
        )
    return EXIT_OK


def _config(repo: git.Repo | None, args: Args) -> Config | None:
    """The app's config: ``--config``, else the repository's or the current
    directory's file if there is one (a deploy bundle may carry it)."""
    path = lookup_config_path(repo, args.config, args.app)
    if path is None:
        return None
    cfg = check.lenient_config(path)
    apps = select_apps(cfg, args.app)
    if len(apps) > 1:
        names = ", ".join(a.name for a in apps)
        raise GitverError(f"{cfg.source} has several apps ({names}): pass --app NAME", EXIT_USAGE)
    return apps[0]


def _expected(repo: git.Repo | None, cfg: Config | None, args: Args) -> check.Expected:
    from mlflow_gitver import git
    from mlflow_gitver.deployenv import deployed_commit, disagreeing

    want = check.Expected(app=args.name or (cfg.name if cfg is not None else None))
    if args.commit is not None:
        want.commit, want.commit_from = args.commit, "--commit"
    else:
        found = deployed_commit(os.environ)
        if found is None:
            return want
        want.commit_from, want.commit = found
        want.notes.extend(disagreeing(os.environ, found))
        head = git.resolve_commit(repo, "HEAD") if repo is not None else None
        if head is not None and head != want.commit:
            want.notes.append(
                f"{found[0]} names commit {want.commit[:12]} but this clone's HEAD is "
                f"{head[:12]}; the commit {found[0]} names is checked"
            )
    want.version_id = _version_of(repo, cfg, args, want)
    return want


def _version_of(
    repo: git.Repo | None, cfg: Config | None, args: Args, want: check.Expected
) -> str | None:
    """The version id of the commit being deployed; None (with a note) when it cannot
    be known here and nobody asked explicitly."""
    from mlflow_gitver import git
    from mlflow_gitver.identity import parse_version_id

    assert want.commit is not None
    explicit = want.commit_from == "--commit"
    if cfg is not None and cfg.paths:
        if repo is None:
            why = (
                f"app {cfg.name!r} is scoped ('paths:'): the version of commit "
                f"{want.commit[:12]} is computed from a clone"
            )
            if explicit:
                raise GitverError(f"{why}; run verify in one, or leave out --commit", EXIT_USAGE)
            want.notes.append(f"{why}; the commit ({want.commit_from}) was not checked")
            return None
        from mlflow_gitver.context import app_states

        if not explicit and git.resolve_commit(repo, want.commit) is None:
            raise GitverError(
                f"{want.commit_from} names commit {want.commit[:12]}, which is not in this "
                f"clone: app {cfg.name!r}'s version of it is computed from its files; fetch "
                f"it (git fetch origin {want.commit}) or pass --commit",
                EXIT_USAGE,
            )
        [(state, _)] = app_states(repo, want.commit, args.config, cfg.name)
        return state.version_id
    parsed = parse_version_id(want.commit.lower())
    if parsed is not None and parsed[1] is None:
        return want.commit.lower()
    if repo is not None:
        full = git.resolve_commit(repo, want.commit)
        if full is not None:
            return full
    raise GitverError(
        f"--commit {want.commit!r} does not name a commit"
        + (f" in {repo.root}" if repo is not None else ": without a clone, give the full hash"),
        EXIT_USAGE,
    )


def _report(model: Any, exp: Any, want: check.Expected, problem: str | None) -> dict[str, Any]:
    from mlflow_gitver.naming import GIT_COMMIT, TAG_VERSION_ID

    tags = dict(model.tags or {})
    return {
        "ok": problem is None,
        "problem": problem,
        "model_id": model.model_id,
        "model_name": model.name,
        "status": str(getattr(model.status, "name", model.status)).split(".")[-1],
        "experiment_id": str(exp.experiment_id),
        "experiment_name": exp.name,
        "version_id": tags.get(TAG_VERSION_ID),
        "commit": tags.get(GIT_COMMIT),
        "expected": {
            "app": want.app,
            "experiment": None if want.experiment is None else want.experiment[1],
            "version_id": want.version_id,
            "commit": want.commit,
            "commit_from": want.commit_from,
        },
        "not_checked": want.notes,
    }
