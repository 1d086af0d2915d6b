"""``mlflow-gitver check``: validate the config, show what a registration sends."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.context import load_commit_config, load_worktree_config, open_repo
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import GitState, print_warnings, state_at_commit, state_of
from mlflow_gitver.naming import build_spec
from mlflow_gitver.patch import SecretsCheck, secrets_check

# Stands for the commit in a name computed before there is one; no config
# value can hold it, so replacing it cannot touch what the user wrote.
_NO_SHA = "\x01" * 64


def unborn_repo(repo_arg: Path | None) -> git.Repo | None:
    """The repository of ``repo_arg`` if it has no commit yet, else None."""
    try:
        repo = open_repo(repo_arg)
    except GitverError:
        return None
    return repo if git.resolve_commit(repo, "HEAD") is None else None


def _before_first_commit(repo: git.Repo, config_arg: Path | None, fmt: str) -> int:
    """No commit yet: validate the config, say what the first commit becomes."""
    cfg = load_worktree_config(repo, config_arg)
    state = GitState(repo, _NO_SHA[:40], git.current_branch(repo))
    spec = build_spec(cfg, state)
    # The first commit's hash is not known: show where it goes in the name.
    name = spec.name.replace(_NO_SHA[:40], "<commit>").replace(_NO_SHA[:8], "<short sha>")
    if fmt == "json":
        out = {
            "config": cfg.source,
            "commit": None,
            "model_name": name,
            "model_type": spec.model_type,
            "params": spec.params,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"config: {cfg.source}: valid")
    print(f"no commit yet in {repo.root}: the first commit will be registered as")
    print(f"model name: {name} (<short sha>: the commit's first 8 hex digits)")
    if spec.model_type:
        print(f"model type: {spec.model_type}")
    print("params:" if spec.params else "params: (none)")
    for k, v in sorted(spec.params.items()):
        print(f"  {k} = {v}")
    print("commit, then run 'mlflow-gitver register' (or let the hooks do it)")
    return 0


def run(repo_arg: Path | None, config_arg: Path | None, *, commit: str | None, fmt: str) -> int:
    repo = open_repo(repo_arg)
    if commit is None and git.resolve_commit(repo, "HEAD") is None:
        return _before_first_commit(repo, config_arg, fmt)
    if commit is not None:
        state = state_at_commit(repo, commit)
        cfg = load_commit_config(repo, state.commit, config_arg)
    else:
        cfg = load_worktree_config(repo, config_arg)
        state = state_of(repo, untracked=cfg.untracked)
        print_warnings(state)
    spec = build_spec(cfg, state)
    found = secrets_check(repo, state, cfg) if state.dirty else None  # what the patch redacts
    if fmt == "json":
        out = {
            "config": cfg.source,
            "model_name": spec.name,
            "version_id": spec.version_id,
            "model_type": spec.model_type,
            "params": spec.params,
            "tags": spec.tags,
            "secrets": None if found is None else found.as_json(),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return _refused(found)
    print(f"config: {cfg.source}: valid")
    print(f"model name: {spec.name}")
    print(f"version id: {spec.version_id}")
    if spec.model_type:
        print(f"model type: {spec.model_type}")
    for title, items in (("params", spec.params), ("tags", spec.tags)):
        print(f"{title}:" if items else f"{title}: (none)")
        for k, v in sorted(items.items()):
            print(f"  {k} = {v}")
    for line in found.lines() if found is not None else []:
        print(line)
    return _refused(found)


def _refused(found: SecretsCheck | None) -> int:
    if found is not None and found.error is not None:
        raise found.error  # secrets: refuse: the registration would fail the same way
    return 0
