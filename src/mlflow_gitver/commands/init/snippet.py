"""The ``.pre-commit-config.yaml`` snippet ``init`` prints, and where it installs from.

The snippet must work when copied.  mlflow-gitver has no release on a package
index yet, so there is no ``rev: vX.Y.Z`` to point at: the snippet names where
*this* installation came from (pip records it in ``direct_url.json``): the git
URL and commit it was installed from, or the local checkout and its HEAD commit.
When neither is known, it uses a ``repo: local`` hook that runs the installed
``mlflow-gitver`` (``language: system``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import git, gitstatus
from mlflow_gitver.commands.hook import PRE_COMMIT_STAGES
from mlflow_gitver.errors import GitverError

MANIFEST = ".pre-commit-hooks.yaml"
# The hooks the snippet asks for, in this order, when the source has them.
HOOK_ID = "mlflow-gitver-{}"

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

    return tuple(t for t in PRE_COMMIT_STAGES if t in hook_types())


def _manifest_hooks(data: bytes) -> tuple[str, ...]:
    import yaml

    try:
        hooks = yaml.safe_load(data)
    except yaml.YAMLError:
        return ()
    ids = {h.get("id") for h in hooks if isinstance(h, dict)} if isinstance(hooks, list) else set()
    return tuple(t for t in PRE_COMMIT_STAGES if HOOK_ID.format(t) in ids)


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
    """``value`` plain when YAML reads it back as the same string (not ``yes``,
    ``~``, ``1.0`` or a hash of digits only), else JSON-quoted (valid YAML)."""
    import yaml

    try:
        if "\n" not in value and yaml.safe_load(value) == value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def snippet(src: Source) -> str:
    """The ``.pre-commit-config.yaml`` text for ``src`` (valid YAML)."""
    stages = ", ".join(("pre-commit", *src.hooks))
    lines = ["# .pre-commit-config.yaml", f"default_install_hook_types: [{stages}]", "repos:"]
    if src.repo is not None and src.rev is not None:
        lines += [
            f"  - repo: {_yaml_scalar(src.repo)}",
            f"    rev: {_yaml_scalar(src.rev)}",
            "    hooks:",
        ]
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
