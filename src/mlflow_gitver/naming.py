"""Pure: from a code state and a config to what a version is called and holds."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlflow_gitver.config import FORBIDDEN_NAME_CHARS, MAX_TAG_LEN, Config
from mlflow_gitver.gitstate import GitState

TAG_PREFIX = "mlflow_gitver."
TAG_VERSION_ID = TAG_PREFIX + "version_id"
TAG_DIGEST = TAG_PREFIX + "digest"
TAG_PARAMS_DIGEST = TAG_PREFIX + "params_digest"
TAG_AUTHOR = TAG_PREFIX + "commit.author"
TAG_DATE = TAG_PREFIX + "commit.date"
TAG_SUBJECT = TAG_PREFIX + "commit.subject"
# Tags MLflow itself knows (mlflow.genai.enable_git_model_versioning, the UI).
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_DIRTY = "mlflow.source.git.dirty"
GIT_REPO_URL = "mlflow.source.git.repoURL"
GIT_DIFF = "mlflow.source.git.diff"

_UNSAFE = re.compile("[" + re.escape(FORBIDDEN_NAME_CHARS) + r"\s]+")


@dataclass(frozen=True)
class CommitInfo:
    author: str
    date: str
    subject: str


@dataclass(frozen=True)
class VersionSpec:
    """Everything a registration sends, computed without touching MLflow."""

    name: str
    version_id: str
    commit: str
    dirty: bool
    digest: str | None
    branch: str | None
    params: dict[str, str]
    tags: dict[str, str]
    params_digest: str
    model_type: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def sanitize(text: str) -> str:
    """Replace what MLflow refuses in a model name (and white space) with '-'."""
    return _UNSAFE.sub("-", text).strip("-") or "x"


def params_digest(params: Mapping[str, str]) -> str:
    canon = json.dumps(dict(sorted(params.items())), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:8]


def model_name(cfg: Config, state: GitState, branch: str | None, sha_len: int = 8) -> str:
    """The model's name; ``sha_len`` grows when a shorter name is taken by another commit."""
    short = state.commit[:sha_len]
    if cfg.name_template is None:
        name = f"{cfg.name}-git-{short}"
        if state.short_digest:
            name += f"-dirty-{state.short_digest}"
        return name
    fields = {
        "name": cfg.name,
        "short_sha": short,
        "sha": state.commit,
        "digest": state.short_digest or "",
        "version_id": state.version_id,
        "branch": branch or "detached",
        "params_digest": params_digest(cfg.params),
    }
    # Sanitize each field, not the literal text the user wrote around them.
    safe = {k: sanitize(v) if v else "" for k, v in fields.items()}
    return cfg.name_template.format(**safe)


def _cap(value: str) -> str:
    return value if len(value) <= MAX_TAG_LEN else value[: MAX_TAG_LEN - 1] + "…"


def build_spec(
    cfg: Config,
    state: GitState,
    *,
    branch: str | None = None,
    commit_info: CommitInfo | None = None,
    repo_url: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    sha_len: int = 8,
) -> VersionSpec:
    """The name, params and tags of the version of ``state`` under ``cfg``.

    ``branch`` overrides the state's (CI knows it when HEAD is detached);
    ``repo_url`` must already be redacted.
    """
    branch = branch or state.branch
    pdig = params_digest(cfg.params)
    tags: dict[str, str] = dict(cfg.tags)
    tags.update(extra_tags or {})
    tags.update(
        {
            GIT_COMMIT: state.commit,
            GIT_DIRTY: "true" if state.dirty else "false",
            TAG_VERSION_ID: state.version_id,
            TAG_PARAMS_DIGEST: pdig,
        }
    )
    if branch:
        tags[GIT_BRANCH] = branch
    if repo_url:
        tags[GIT_REPO_URL] = repo_url
    if state.digest:
        tags[TAG_DIGEST] = state.digest
    if commit_info:
        tags[TAG_AUTHOR] = commit_info.author
        tags[TAG_DATE] = commit_info.date
        tags[TAG_SUBJECT] = commit_info.subject
    return VersionSpec(
        name=model_name(cfg, state, branch, sha_len),
        version_id=state.version_id,
        commit=state.commit,
        dirty=state.dirty,
        digest=state.digest,
        branch=branch,
        params=dict(cfg.params),
        tags={k: _cap(v) for k, v in tags.items()},
        params_digest=pdig,
        model_type=cfg.model_type,
    )
