"""``mlflow-gitver init``: a commented config, .gitignore lines, the hook snippet.

The snippet, and where it points pre-commit to install from, is ``snippet.py``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.commands.init.snippet import NO_RELEASE, installed_source, snippet
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GitverError

GITIGNORE_HEADER = "# mlflow-gitver init: MLflow's local stores, environments and caches"
# MLflow's local stores (registering a version writes them), then environments and
# tool caches: untracked, they would make every version dirty (a .venv is
# thousands of files).  Not `env/` or `build/`: too often real source directories.
GITIGNORE_LINES = (
    "mlflow.db",
    "mlruns/",
    "mlartifacts/",
    ".venv/",
    "venv/",
    "__pycache__/",
    "*.egg-info/",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    ".ipynb_checkpoints/",
    "node_modules/",
)
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


def _same_pattern(line: str) -> str:
    # ".venv", ".venv/" and "/.venv/" all keep a root .venv out: one of them is enough.
    return line.strip().strip("/")


def gitignore_text(text: str) -> tuple[str, list[str]]:
    """``text`` with our lines that are missing appended; (new text, lines added)."""
    present = {_same_pattern(line) for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if _same_pattern(line) not in present]
    if not missing:
        return text, []
    sep = "" if not text or text.endswith("\n") else "\n"
    block = [] if GITIGNORE_HEADER in text.splitlines() else [GITIGNORE_HEADER]
    return text + sep + "".join(line + "\n" for line in [*block, *missing]), missing


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` (its target, for a symlink) in one step, keeping its mode."""
    target = path.resolve()
    tmp = target.with_name(f".{target.name}.mlflow-gitver-{os.getpid()}")
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise


def _add_gitignore(root: Path) -> list[str]:
    path = root / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new, added = gitignore_text(text)
        if added:
            _write_atomic(path, new)
    except (OSError, UnicodeDecodeError) as e:
        raise GitverError(
            f"cannot update {path}: {e}; add these lines to it yourself: "
            + " ".join(GITIGNORE_LINES),
            EXIT_FAILURE,
        ) from e
    return added


@dataclass(frozen=True)
class Args:
    repo: Path | None
    name: str | None


def args_of(ns: argparse.Namespace) -> Args:
    return Args(repo=ns.repo, name=ns.name)


def run(args: Args) -> int:
    from mlflow_gitver.config import ConfigError, parse_config
    from mlflow_gitver.naming import sanitize

    name = args.name
    repo = open_repo(args.repo)
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
    src = installed_source()
    try:
        with open(path, "x", encoding="utf-8") as f:  # never overwrite, even in a race
            f.write(text)
    except FileExistsError as e:
        raise GitverError(f"{path} already exists and is left as it is", EXIT_USAGE) from e
    print(f"wrote {path} (name: {app}); check it with 'mlflow-gitver check'")
    added = _add_gitignore(repo.root)
    if added:
        print(f"added to {repo.root / '.gitignore'}: {' '.join(added)}")
    print(f"\n{NO_RELEASE}")
    print("\nTo register every commit and push, add this to .pre-commit-config.yaml.")
    if src.repo is not None:
        print(f"Its repo: and rev: are {src.note}.\n")
    else:
        print(
            f"There is {src.note}, so these hooks run the mlflow-gitver on PATH: install it "
            "where git runs. Installed from a git URL or checkout, init prints a repo: and "
            "rev: that pre-commit installs by itself.\n"
        )
    print(snippet(src))
    print("then run: pre-commit install")
    return EXIT_OK
