"""``mlflow-gitver init``: a commented config, .gitignore lines, the hook snippet."""

from __future__ import annotations

from pathlib import Path

from mlflow_gitver.context import CONFIG_NAME, open_repo
from mlflow_gitver.errors import EXIT_OK, EXIT_USAGE, GitverError

# MLflow's local stores: registering a version writes them.
GITIGNORE_LINES = ("mlflow.db", "mlruns/", "mlartifacts/")
PROJECT_URL = "https://github.com/<owner>/mlflow-gitver"

TEMPLATE = """\
# mlflow-gitver: every version of this code becomes an MLflow LoggedModel.
# Every key is described in the mlflow-gitver README, "Configuration".
# Check what a registration would send with: mlflow-gitver check

# The application's name: the stem of every model name.
name: {name}

# Where versions go. Default: the embedded SQLite store mlflow.db at the
# repository root. MLFLOW_TRACKING_URI, when set, wins over this line.
# tracking_uri: http://127.0.0.1:5000

# Experiment name (created if missing) or numeric id; default: MLflow's default.
# experiment: {name}

# The configuration of this version, logged as params (nested keys flatten to
# "a.b"); ${{VAR}} and ${{VAR:-default}} read the environment, never secrets.
# params:
#   llm: gpt-4o-mini
#   temperature: 0.7

# Extra tags on every version.
# tags:
#   team: my-team

# Git hooks (installed with pre-commit, see the README).
# hooks:
#   post_commit: {{background: true}}        # register after the commit returns
#   pre_push: {{required: false, all: false}}  # block pushes when MLflow is down?
"""

SNIPPET = """\
# .pre-commit-config.yaml
default_install_hook_types: [pre-commit, post-commit, pre-push]
repos:
  - repo: {url}
    rev: v{version}
    hooks:
      - id: mlflow-gitver-post-commit
      - id: mlflow-gitver-pre-push
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow-gitver")
    except PackageNotFoundError:  # running from a source tree
        return "0.1.0"


def _add_gitignore(root: Path) -> list[str]:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if missing:
        sep = "" if not text or text.endswith("\n") else "\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(sep + "".join(line + "\n" for line in missing))
    return missing


def run(repo_arg: Path | None, *, name: str | None) -> int:
    from mlflow_gitver.config import ConfigError, parse_config
    from mlflow_gitver.naming import sanitize

    repo = open_repo(repo_arg)
    path = repo.root / CONFIG_NAME
    if path.exists():
        raise GitverError(
            f"{path} already exists and is left as it is; edit it, or delete it and "
            "run 'mlflow-gitver init' again",
            EXIT_USAGE,
        )
    app = name if name is not None else sanitize(repo.root.name)
    text = TEMPLATE.format(name=app)
    try:
        parse_config(text, "init", {})
    except ConfigError as e:
        # The template is valid: only the name can be wrong.
        why = e.message.split(": ", 1)[-1]
        raise GitverError(f"--name: {why}", EXIT_USAGE) from e
    try:
        with open(path, "x", encoding="utf-8") as f:  # never overwrite, even in a race
            f.write(text)
    except FileExistsError as e:
        raise GitverError(f"{path} already exists and is left as it is", EXIT_USAGE) from e
    print(f"wrote {path} (name: {app}); check it with 'mlflow-gitver check'")
    added = _add_gitignore(repo.root)
    if added:
        print(f"added to {repo.root / '.gitignore'}: {', '.join(added)}")
    print("\nTo register every commit and push, add to .pre-commit-config.yaml:\n")
    print(SNIPPET.format(url=PROJECT_URL, version=_version()))
    print("then run: pre-commit install")
    return EXIT_OK
