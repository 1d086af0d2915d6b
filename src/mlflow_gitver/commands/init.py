"""``mlflow-gitver init``: a commented config, .gitignore lines, the hook snippet.

The snippet must work when copied.  mlflow-gitver has no release on a package
index yet, so there is no ``rev: vX.Y.Z`` to point at: the snippet names where
*this* installation came from (pip records it in ``direct_url.json``): the git
URL and commit it was installed from, or the local checkout and its HEAD commit.
When neither is known, it uses a ``repo: local`` hook that runs the installed
``mlflow-gitver`` (``language: system``).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import git, gitstatus
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
MANIFEST = ".pre-commit-hooks.yaml"
# The hooks the snippet asks for, in this order, when the source has them.
WANTED_HOOKS = ("post-commit", "post-merge", "post-rewrite", "pre-push")
HOOK_ID = "mlflow-gitver-{}"

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

NO_RELEASE = (
    "mlflow-gitver has no release on a package index yet: install it from a path "
    "(pip install /path/to/mlflow-gitver) or from a git URL "
    "(pip install 'git+<URL>@<commit>')."
)


@dataclass(frozen=True)
class Source:
    """Where the hooks can install mlflow-gitver from; repo None: nowhere known."""

    repo: str | None  # a git URL or a local checkout, as pre-commit's `repo:` takes it
    rev: str | None  # a full commit hash
    hooks: tuple[str, ...]  # hook types that source has (post-commit, pre-push, ...)
    note: str  # one line on where it comes from, for the user


def _cli_hook_types() -> tuple[str, ...]:
    """The hook types this installation's CLI runs (`mlflow-gitver hook TYPE`)."""
    from mlflow_gitver.cli import hook_types

    return tuple(t for t in WANTED_HOOKS if t in hook_types())


def _manifest_hooks(data: bytes) -> tuple[str, ...]:
    import yaml

    try:
        hooks = yaml.safe_load(data)
    except yaml.YAMLError:
        return ()
    ids = {h.get("id") for h in hooks if isinstance(h, dict)} if isinstance(hooks, list) else set()
    return tuple(t for t in WANTED_HOOKS if HOOK_ID.format(t) in ids)


def _local_checkout(path: Path) -> Source | None:
    """A local directory mlflow-gitver was installed from, if it is a git checkout
    whose HEAD has our hook manifest at its top level."""
    try:
        repo = git.discover(path, keep_repo_env=False)
    except GitverError:
        return None
    if repo.root.resolve() != path.resolve():
        return None  # a subdirectory: pre-commit reads the manifest at the top level
    head = git.resolve_commit(repo, "HEAD")
    data = git.show_blob(repo, head, MANIFEST) if head else None
    hooks = _manifest_hooks(data) if data is not None else ()
    if head is None or not hooks:
        return None
    status = gitstatus.status_v2(repo, untracked=False)
    dirty = any(e and not e.startswith(b"#") for e in status.split(b"\0"))
    note = f"the checkout mlflow-gitver was installed from, at its HEAD commit {head[:12]}"
    if dirty:
        note += "; its uncommitted changes are not in that commit: commit them, and run init again"
    return Source(str(repo.root), head, hooks, note)


def source_of(direct_url: str | None) -> Source:
    """Where the snippet's ``repo:``/``rev:`` point, from pip's ``direct_url.json``
    (PEP 610) of the installed mlflow-gitver; None when it has none."""
    nowhere = Source(None, None, _cli_hook_types(), "no git source known for this installation")
    try:
        info = json.loads(direct_url) if direct_url else None
    except ValueError:
        return nowhere
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return nowhere
    url: str = info["url"]
    local = _file_path(url)
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        commit = str(vcs["commit_id"])
        where = url if local is None else str(local)  # pre-commit clones a path as well
        note = f"the git repository mlflow-gitver was installed from, at {commit[:12]}"
        return Source(where, commit, _cli_hook_types(), note)
    if isinstance(info.get("dir_info"), dict) and local is not None:
        found = _local_checkout(local)
        if found is not None:
            return found
    return nowhere


def _file_path(url: str) -> Path | None:
    if not url.startswith("file://"):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path))


def installed_source() -> Source:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("mlflow-gitver").read_text("direct_url.json")
    except PackageNotFoundError:  # running from a source tree, not installed
        text = None
    return source_of(text)


def _yaml_scalar(value: str) -> str:
    import re

    # Plain when YAML reads it back as the same string; JSON quoting is valid YAML.
    if re.fullmatch(r"[A-Za-z0-9_/.~][A-Za-z0-9_/.~:@+=%-]*", value) and ": " not in value:
        return value
    return json.dumps(value)


def snippet(src: Source) -> str:
    """The ``.pre-commit-config.yaml`` text for ``src`` (valid YAML)."""
    stages = ", ".join(("pre-commit", *src.hooks))
    lines = ["# .pre-commit-config.yaml", f"default_install_hook_types: [{stages}]", "repos:"]
    if src.repo is not None and src.rev is not None:
        lines += [f"  - repo: {_yaml_scalar(src.repo)}", f"    rev: {src.rev}", "    hooks:"]
        lines += [f"      - id: {HOOK_ID.format(t)}" for t in src.hooks]
        return "\n".join(lines) + "\n"
    # No source to clone: run the mlflow-gitver installed here (it must be on PATH).
    lines += ["  - repo: local", "    hooks:"]
    for t in src.hooks:
        lines += [
            f"      - id: {HOOK_ID.format(t)}",
            f"        name: mlflow-gitver {t}",
            f"        entry: mlflow-gitver hook {t}",
            "        language: system",
            f"        stages: [{t}]",
            "        always_run: true",
            "        pass_filenames: false",
        ]
    return "\n".join(lines) + "\n"


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
