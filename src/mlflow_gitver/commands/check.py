"""``mlflow-gitver check``: validate the config, show what a registration sends."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_gitver.context import load_commit_config, load_worktree_config, open_repo
from mlflow_gitver.gitstate import state_at_commit, state_of
from mlflow_gitver.naming import build_spec
from mlflow_gitver.patch import SecretsCheck, secrets_check


def run(repo_arg: Path | None, config_arg: Path | None, *, commit: str | None, fmt: str) -> int:
    repo = open_repo(repo_arg)
    if commit is not None:
        state = state_at_commit(repo, commit)
        cfg = load_commit_config(repo, state.commit, config_arg)
    else:
        cfg = load_worktree_config(repo, config_arg)
        state = state_of(repo, untracked=cfg.untracked)
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
