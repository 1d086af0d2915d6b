"""``mlflow-gitver id``: the identifier of the working tree."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_gitver.context import open_repo, untracked_setting
from mlflow_gitver.gitstate import state_of


def run(repo_arg: Path | None, config_arg: Path | None, *, as_json: bool) -> int:
    repo = open_repo(repo_arg)
    state = state_of(repo, untracked=untracked_setting(repo, config_arg))
    if as_json:
        print(json.dumps(state.as_json(), indent=2))
    else:
        print(state.version_id)
    return 0
