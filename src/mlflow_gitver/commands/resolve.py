"""``mlflow-gitver resolve``: look a version up; create nothing; exit 1 if absent.

Deploy jobs often have no ``.git``: with ``--version-id ID`` or a full commit
hash no repository is needed.  The application's name then comes from
``--name``, or from a config file if one is there (``--config``, or
``.mlflow-gitver.yaml`` in the current directory); without either, any model
tagged with the version id matches.  Without an experiment (``--experiment``,
``MLFLOW_EXPERIMENT_ID``/``_NAME``, the config) every active experiment is searched.

A scoped app (``paths:``, ``--app`` with several) is looked up by its scoped id,
computed from the clone: of ``--commit`` with that commit's config, so a later
commit that left the app's content alone finds the version an earlier one made.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo, open_repo_if_any, select_apps
from mlflow_gitver.errors import EXIT_USAGE, GitverError
from mlflow_gitver.identity import is_version_id, parse_version_id

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.gitstate import GitState
    from mlflow_gitver.pins import Lookup


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    config: Path | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    commit: str | None = None
    version_id: str | None = None
    name: str | None = None
    app: str | None = None
    format: str = "text"  # text, json or env


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def _full_hash(rev: str) -> str | None:
    """``rev`` lowercased when it is a full commit hash (a clean version id), else None."""
    parsed = parse_version_id(rev.lower())
    return parsed[0] if parsed is not None and parsed[1] is None else None


def _one_app(cfg: Config, args: Args) -> Config | None:
    """The app ``--app`` names, or the config's only one; None for several apps
    and a ``--version-id`` (then any model with that id matches, as ``--name`` says)."""
    apps = select_apps(cfg, args.app)
    if len(apps) == 1:
        return apps[0]
    if args.version_id is not None:
        return None
    names = ", ".join(a.name for a in apps)
    raise GitverError(
        f"{cfg.source} has several apps ({names}): pass --app NAME, or --version-id",
        EXIT_USAGE,
    )


def _from_platform(args: Args) -> Args:
    """``args`` with the commit a platform's variable names; nothing names the code:
    one line that says what would."""
    import dataclasses
    import os

    from mlflow_gitver.deployenv import deployed_commit, disagreeing

    found = deployed_commit(os.environ)
    if found is None:
        raise GitverError(
            f"{Path.cwd()} is not inside a git repository and nothing names the commit: "
            "pass --commit FULL_HASH or --version-id ID, run in a clone, or set a "
            "platform's commit variable (README: Deploy)",
            EXIT_USAGE,
        )
    for warning in disagreeing(os.environ, found):
        print(f"mlflow-gitver: warning: {warning}", file=sys.stderr)
    return dataclasses.replace(args, commit=found[1])


def _scoped_state(repo: git.Repo | None, app: Config, args: Args) -> GitState:
    """The version id of a scoped app: of ``--commit`` (with that commit's own
    paths, so an old commit is resolved as it was registered), else of the working
    tree.  Either is computed from the clone: a deploy without one passes --version-id."""
    from mlflow_gitver.context import app_states

    if repo is None:
        raise GitverError(
            f"app {app.name!r} is scoped ('paths:' in {app.source}): its version is computed "
            "from a clone of the repository; run resolve in one, or pass --version-id "
            f"(as 'mlflow-gitver id --app {app.name}' prints it)",
            EXIT_USAGE,
        )
    [(state, _)] = app_states(repo, args.commit, args.config, app.name)
    return state


def _prompt_files(
    repo: git.Repo | None, state: GitState | None, version_id: str, one: Config, cfg_path: Path
) -> Lookup:
    """Where the prompts kept in files are read, to pin them as ``register`` did: the
    code state looked up; a commit of the clone; else the files beside the config
    (a deploy bundle holds the code it deploys)."""
    from mlflow_gitver import pins

    if repo is not None and state is not None:
        return pins.Lookup(one.prompts, pins.reader(repo, state), state.commit)
    commit = _full_hash(version_id)
    if repo is not None and commit is not None and git.resolve_commit(repo, commit) == commit:
        return pins.Lookup(one.prompts, lambda p: git.show_blob(repo, commit, p), commit)
    return pins.Lookup(one.prompts, pins.from_dir(cfg_path.parent), version_id)


def run(args: Args) -> int:
    from mlflow_gitver.config import load_config
    from mlflow_gitver.lookup import lookup_place

    full_hash = _full_hash(args.commit) if args.commit is not None else None
    needs_git = args.version_id is None and full_hash is None
    repo = open_repo_if_any(args.repo) if needs_git and args.repo is None else None
    if needs_git and repo is None and args.repo is None and args.commit is None:
        # A deploy bundle: the commit the CI or deploy platform names (deployenv.py).
        args = _from_platform(args)
        full_hash = args.commit
    elif needs_git:
        repo = repo or open_repo(args.repo)
    else:
        repo = open_repo_if_any(args.repo)
    cfg: Config | None = None
    state: GitState | None = None  # the code state looked up, when it is computed here
    cfg_path = args.config
    if cfg_path is None:
        cfg_path = (repo.root if repo is not None else Path.cwd()) / CONFIG_NAME
        cfg_path = cfg_path if cfg_path.exists() else None
    if cfg_path is not None:
        cfg = load_config(cfg_path)
    elif args.app is not None:
        raise GitverError(
            f"--app {args.app} needs a config with 'apps:' (none at "
            f"{(repo.root if repo is not None else Path.cwd()) / CONFIG_NAME}); pass --config",
            EXIT_USAGE,
        )
    # The one app looked up: the one --app names, or the config's only one.  With
    # several and no --app, only a --version-id can be looked up (any app's).
    one = _one_app(cfg, args) if cfg is not None else None

    if args.version_id is not None:
        version_id = args.version_id.lower()
        if not is_version_id(version_id):
            raise GitverError(
                f"--version-id {args.version_id!r} is not a version id: a full commit hash, "
                "<32 hex>-dirty-<8 hex>, or scoped-... (as 'mlflow-gitver id' prints)"
            )
    elif one is not None and one.paths:
        state = _scoped_state(repo, one, args)
        version_id = state.version_id
    elif args.commit is not None:
        if full_hash is not None:
            version_id = full_hash
        else:
            assert repo is not None
            full = git.resolve_commit(repo, args.commit)
            if full is None:
                raise GitverError(f"{args.commit!r} does not name a commit in {repo.root}")
            version_id = full
    else:
        from mlflow_gitver.gitstate import state_of

        assert repo is not None
        state = state_of(repo, untracked=cfg.untracked if cfg else True)
        version_id = state.version_id

    root = repo.root if repo is not None else None
    uri, choice = lookup_place(args.tracking_uri, args.experiment, one or cfg, root)
    app = args.name or (one.name if one is not None else None)

    from mlflow_gitver.commands.register import env_lines
    from mlflow_gitver.lookup import lookup, not_registered
    from mlflow_gitver.mlflow_api import quiet as quiet_mlflow
    from mlflow_gitver.tracking import display

    quiet_mlflow()
    # The params register would send (the config's, after ${VAR} interpolation): a
    # version registered with others is a conflict, not this config's model.
    params = one.params if one is not None else None
    prompts = None
    if one is not None and one.prompts:
        assert cfg_path is not None
        prompts = _prompt_files(repo, state, version_id, one, cfg_path)
    found = lookup(version_id, uri, experiment=choice, app_name=app, params=params, prompts=prompts)
    if found is None:
        raise not_registered(version_id, display(uri))
    if args.format == "json":
        out = found.as_json()
        out.pop("created")
        print(json.dumps(out, indent=2))
    elif args.format == "env":
        print("\n".join(env_lines(found, uri)))
    else:
        print(found.model_id)
    return 0
