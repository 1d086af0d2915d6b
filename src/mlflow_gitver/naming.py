"""The model name and every tag of a version: the one plan check, --dry-run and register use.

:func:`build_spec` is pure (a code state and a config in, a :class:`VersionSpec`
out); :class:`VersionPlan` adds what costs git calls (the commit's facts, the
remote's URL, the diff), each computed once and only when asked for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflow_gitver import git
from mlflow_gitver.config import FORBIDDEN_NAME_CHARS, MAX_TAG_LEN, Config
from mlflow_gitver.description import TAG_NOTE
from mlflow_gitver.gitstate import GitState
from mlflow_gitver.redact import redact_secrets, redact_tags, redact_url

if TYPE_CHECKING:
    from mlflow_gitver.patch import Patch

TAG_PREFIX = "mlflow_gitver."
TAG_VERSION_ID = TAG_PREFIX + "version_id"
TAG_DIGEST = TAG_PREFIX + "digest"
TAG_PARAMS_DIGEST = TAG_PREFIX + "params_digest"
TAG_AUTHOR = TAG_PREFIX + "commit.author"
TAG_DATE = TAG_PREFIX + "commit.date"
TAG_SUBJECT = TAG_PREFIX + "commit.subject"
# The application's name as a tag, so `resolve --name` can find versions by
# app whatever name_template says.
TAG_APP = TAG_PREFIX + "app"
# A scoped version (paths:): its pathspecs (JSON list) and its full scope digest.
TAG_SCOPE = TAG_PREFIX + "scope"
TAG_SCOPE_DIGEST = TAG_PREFIX + "scope_digest"
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
    if state.scope_digest is not None:
        import json

        tags[TAG_SCOPE] = json.dumps(list(state.scope), ensure_ascii=False)
        tags[TAG_SCOPE_DIGEST] = state.scope_digest
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


class VersionPlan:
    """A version's spec: cheap for lookups, full (git calls) for creation and display.

    ``check``, ``register --dry-run`` and ``register`` all print or send
    :meth:`full`; the exactly-once protocol (registry.py) looks models up by
    :meth:`cheap` and tops READY ones up with :meth:`topped_up`.
    """

    def __init__(
        self,
        repo: git.Repo,
        state: GitState,
        cfg: Config,
        branch: str | None = None,
        extra_tags: Mapping[str, str] | None = None,
        *,
        refuse: bool = True,
    ) -> None:
        """``refuse=False``: under ``secrets: refuse`` a credential in the patch is
        redacted instead of raised (``check`` shows the plan, then refuses)."""
        self.repo, self.state, self.cfg, self.branch = repo, state, cfg, branch
        self.refuse = refuse
        self.tags = {TAG_APP: cfg.name, **(extra_tags or {})}
        self._patch: tuple[Patch | None] | None = None
        self._info: CommitInfo | None = None
        self._origin: tuple[str | None] | None = None

    @property
    def patch(self) -> Patch | None:
        """The patch artifact of a dirty state (None when clean or ``diff: none``)."""
        if self._patch is None:
            patch = None
            if self.state.dirty:
                from mlflow_gitver.patch import build_patch

                mode = self.cfg.secrets
                if mode == "refuse" and not self.refuse:
                    mode = "redact"
                patch = build_patch(self.repo, self.state, self.cfg.diff, mode)
            self._patch = (patch,)
        return self._patch[0]

    def cheap(self, sha_len: int = 8) -> VersionSpec:
        """The name, params and the tags that cost no git call."""
        return build_spec(
            self.cfg, self.state, branch=self.branch, extra_tags=self.tags, sha_len=sha_len
        )

    def _repo_url(self) -> str | None:
        if self._origin is None:
            origin = git.remote_url(self.repo)  # one `git config` call
            self._origin = (redact_url(origin) if origin else None,)
        return self._origin[0]

    def _commit_info(self) -> CommitInfo:
        if self._info is None:
            self._info = CommitInfo(*git.commit_info(self.repo, self.state.commit))
        return self._info

    def full(self, sha_len: int = 8) -> VersionSpec:
        """Every tag a new version gets: the commit's facts, the remote, the diff."""
        spec = build_spec(
            self.cfg,
            self.state,
            branch=self.branch,
            commit_info=self._commit_info(),
            repo_url=self._repo_url(),
            extra_tags=self.tags,
            sha_len=sha_len,
        )
        tags = spec.tags if self.cfg.secrets == "off" else redact_tags(spec.tags)
        patch_tags = self.patch.tags() if self.patch is not None else {}  # diff, redacted
        tags = {**tags, **patch_tags}
        return dataclasses.replace(spec, tags={**tags, TAG_NOTE: self._note(tags, spec.params)})

    def _note(self, tags: Mapping[str, str], params: Mapping[str, str]) -> str:
        """The version's Markdown description, from tags as stored (so redacted)."""
        from mlflow_gitver import description

        changes = [(c.display_path, c.status) for c in self.state.changes]
        # The patch's omitted files when it was built; the repeat path does not build it.
        patch = self._patch[0] if self._patch else None
        omitted = [(o.path, o.reason) for o in patch.omitted] if patch else []
        note = description.render(tags, params, changes, omitted)
        # File names are not redacted anywhere else: a token can be a name too.
        return note if self.cfg.secrets == "off" else description.cap(redact_secrets(note))

    def topped_up(self, spec: VersionSpec, have: Mapping[str, str]) -> VersionSpec:
        """``spec`` (cheap) plus the git-derived tags a READY model lacks.

        The repeat path: only what is missing is computed (the remote's URL, one
        git call; the commit's facts, one more), so a model made before
        `git remote add origin` gets its repoURL later.  The diff tag is left out:
        it is part of what its creator uploaded.
        """
        extra: dict[str, str] = {}
        if GIT_REPO_URL not in have:
            url = self._repo_url()
            if url:
                extra[GIT_REPO_URL] = url
        if any(t not in have for t in (TAG_AUTHOR, TAG_DATE, TAG_SUBJECT)):
            info = self._commit_info()
            facts = {TAG_AUTHOR: info.author, TAG_DATE: info.date, TAG_SUBJECT: info.subject}
            extra.update({k: v for k, v in facts.items() if k not in have})
        if not extra and TAG_NOTE in have:
            return spec
        full = build_spec(
            self.cfg,
            self.state,
            branch=self.branch,
            commit_info=self._info,
            repo_url=extra.get(GIT_REPO_URL),
            extra_tags=self.tags,
            sha_len=8,
        )
        # build_spec caps tag values: take the capped ones (a commit subject may
        # hold a secret too: the same redaction as at creation).
        added = {k: full.tags[k] for k in extra if k in full.tags}
        if self.cfg.secrets != "off":
            added = redact_tags(added)
        if TAG_NOTE not in have:
            # A version made before descriptions existed (or by another tool) gets
            # one; a description someone edited in the UI is theirs and stays.
            stored = {**have, **spec.tags, **added}
            stored.pop(TAG_NOTE, None)
            added[TAG_NOTE] = self._note(stored, spec.params)
        return dataclasses.replace(spec, tags={**spec.tags, **added})
