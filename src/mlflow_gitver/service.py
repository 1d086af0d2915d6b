"""High-level operations: register a version, look one up, plan a dry run.

Importing this module does not import MLflow (the hooks import it on every
commit); functions that talk to MLflow import it when called.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow_gitver import git, tracking
from mlflow_gitver.errors import EXIT_FAILURE, GitverError
from mlflow_gitver.gitstate import GitState, state_at_commit, state_of
from mlflow_gitver.naming import (
    GIT_REPO_URL,
    TAG_AUTHOR,
    TAG_DATE,
    TAG_PREFIX,
    TAG_SUBJECT,
    CommitInfo,
    VersionSpec,
    build_spec,
)
from mlflow_gitver.redact import redact_tags, redact_url
from mlflow_gitver.registry import AuthFailed, Conflict, ServerUnavailable

if TYPE_CHECKING:
    from mlflow.entities import LoggedModel

    from mlflow_gitver.config import Config
    from mlflow_gitver.patch import Patch
    from mlflow_gitver.registry import Edge

__all__ = [
    "AuthFailed",
    "Conflict",
    "Plan",
    "Registered",
    "ServerUnavailable",
    "lookup",
    "plan",
    "register_commit",
    "register_state",
    "register_worktree",
]

# The application's name as a tag, so `resolve --name` can find versions by
# app whatever name_template says.
TAG_APP = TAG_PREFIX + "app"


@dataclass(frozen=True)
class Registered:
    """A version's LoggedModel, as registration (or lookup) found it."""

    model_id: str
    model_name: str
    version_id: str
    commit: str
    dirty: bool
    branch: str | None
    experiment_id: str
    tracking_uri: str  # redacted: safe to print
    created: bool
    model_url: str | None = None
    experiment_name: str | None = None
    # True when this call finished a model an earlier, interrupted call left PENDING.
    completed: bool = False

    def as_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @property
    def status(self) -> str:
        """ "created", "completed" or "already registered"."""
        if self.created:
            return "created"
        return "completed" if self.completed else "already registered"


@dataclass(frozen=True)
class Plan:
    """What a registration would send (``--dry-run``), computed without MLflow."""

    spec: VersionSpec
    tracking_uri: str  # redacted
    experiment: tuple[str, str] | None  # ("id" | "name", value); None: the default
    patch: Patch | None

    def as_json(self) -> dict[str, object]:
        exp = None if self.experiment is None else {self.experiment[0]: self.experiment[1]}
        return {
            "model_name": self.spec.name,
            "version_id": self.spec.version_id,
            "commit": self.spec.commit,
            "dirty": self.spec.dirty,
            "branch": self.spec.branch,
            "tracking_uri": self.tracking_uri,
            "experiment": exp or "default",
            "model_type": self.spec.model_type,
            "params": self.spec.params,
            "tags": self.spec.tags,
            "patch": None
            if self.patch is None
            else {
                "bytes": len(self.patch.data),
                "included": list(self.patch.included),
                "omitted": [o.__dict__ for o in self.patch.omitted],
                "redactions": [r.as_json() for r in self.patch.redactions],
            },
        }


def model_url(
    uri: str, experiment_id: str, model_id: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The model's page in the MLflow UI, for an HTTP tracking server or Databricks."""
    if uri == "databricks" or uri.startswith("databricks://"):
        host = _databricks_host(uri, os.environ if environ is None else environ)
        base = redact_url(host).rstrip("/") if host else ""
        if not base.startswith("https://"):
            return None
        # Databricks serves the MLflow UI under /ml (as MLflow's own run links show).
        return f"{base}/ml/experiments/{experiment_id}/models/{model_id}"
    shown = redact_url(uri)
    if not shown.startswith(("http://", "https://")):
        return None
    return f"{shown.rstrip('/')}/#/experiments/{experiment_id}/models/{model_id}"


def _databricks_host(uri: str, environ: Mapping[str, str]) -> str | None:
    if uri == "databricks" and environ.get("DATABRICKS_HOST"):
        return environ["DATABRICKS_HOST"]
    # A profile (databricks://name, or ~/.databrickscfg): MLflow's own resolution.
    from mlflow.exceptions import MlflowException
    from mlflow.utils.databricks_utils import get_databricks_host_creds

    try:
        return str(get_databricks_host_creds(uri).host)
    except MlflowException:
        return None  # not configured: no link; registering would have failed first


class _Specs:
    """The version's spec: cheap for lookups, enriched (git calls) for creation."""

    def __init__(
        self,
        repo: git.Repo,
        state: GitState,
        cfg: Config,
        branch: str | None,
        extra_tags: Mapping[str, str] | None,
    ) -> None:
        self.repo, self.state, self.cfg, self.branch = repo, state, cfg, branch
        self.tags = {TAG_APP: cfg.name, **(extra_tags or {})}
        self._patch: tuple[Patch | None] | None = None
        self._info: CommitInfo | None = None
        self._origin: tuple[str | None] | None = None

    @property
    def patch(self) -> Patch | None:
        if self._patch is None:
            self._patch = (_patch_for(self.repo, self.state, self.cfg),)
        return self._patch[0]

    def cheap(self, sha_len: int) -> VersionSpec:
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

    def full(self, sha_len: int) -> VersionSpec:
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
        return dataclasses.replace(spec, tags={**tags, **patch_tags})

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
            extra.update({TAG_AUTHOR: info.author, TAG_DATE: info.date, TAG_SUBJECT: info.subject})
        if not extra:
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
        return dataclasses.replace(spec, tags={**spec.tags, **added})


def _patch_for(repo: git.Repo, state: GitState, cfg: Config) -> Patch | None:
    if not state.dirty:
        return None
    from mlflow_gitver.patch import build_patch

    return build_patch(repo, state, cfg.diff, cfg.secrets)


def plan(
    repo: git.Repo,
    state: GitState,
    cfg: Config,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    environ: Mapping[str, str] | None = None,
    branch: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> Plan:
    """What :func:`register_state` would send; touches nothing."""
    env = os.environ if environ is None else environ
    specs = _Specs(repo, state, cfg, branch, extra_tags)
    uri = tracking.resolve_uri(tracking_uri, env, cfg.tracking_uri, repo.root)
    choice = tracking.experiment_choice(experiment, env, cfg.experiment)
    return Plan(specs.full(8), tracking.display(uri), choice, specs.patch)


def register_worktree(
    repo: git.Repo,
    cfg: Config,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    environ: Mapping[str, str] | None = None,
    branch: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> Registered:
    """Register the working tree of ``repo`` as it is now (dirty or clean)."""
    state = state_of(repo, untracked=cfg.untracked)
    return register_state(
        repo,
        state,
        cfg,
        tracking_uri=tracking_uri,
        experiment=experiment,
        environ=environ,
        branch=branch,
        extra_tags=extra_tags,
    )


def register_commit(
    repo: git.Repo,
    commit: str,
    cfg: Config,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    environ: Mapping[str, str] | None = None,
    branch: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> Registered:
    """Register ``commit`` (clean; it need not be checked out) under ``cfg``.

    Raises :class:`ServerUnavailable` when the server cannot be reached (worth
    retrying later), :class:`AuthFailed`, :class:`Conflict`, or another
    :class:`GitverError` (invalid config or input: retrying will not help).
    """
    state = state_at_commit(repo, commit)
    return register_state(
        repo,
        state,
        cfg,
        tracking_uri=tracking_uri,
        experiment=experiment,
        environ=environ,
        branch=branch,
        extra_tags=extra_tags,
    )


def register_state(
    repo: git.Repo,
    state: GitState,
    cfg: Config,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    environ: Mapping[str, str] | None = None,
    branch: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> Registered:
    """Find or create the LoggedModel of ``state``: exactly once (see registry.py)."""
    env = os.environ if environ is None else environ
    uri = tracking.resolve_uri(tracking_uri, env, cfg.tracking_uri, repo.root)
    shown = tracking.display(uri)
    choice = tracking.experiment_choice(experiment, env, cfg.experiment)
    specs = _Specs(repo, state, cfg, branch, extra_tags)
    if cfg.secrets == "refuse":
        _ = specs.patch  # a credential in it fails here, before any server contact
    with tracking.mlflow_env(uri, env):
        edge = connect(uri)
        what = "registering"
        from mlflow.exceptions import MlflowException

        from mlflow_gitver import registry

        try:
            what = "resolving the experiment"
            eid, ename = tracking.resolve_experiment_named(edge, choice)
            what = "registering the version"
            found = registry.find_or_create(
                edge, eid, specs.cheap, _completer(specs), len(state.commit), specs.full
            )
        except MlflowException as e:
            raise registry.mlflow_error(e, what, shown) from e
    return Registered(
        model_id=found.model.model_id,
        model_name=found.model.name,
        version_id=found.spec.version_id,
        commit=state.commit,
        dirty=state.dirty,
        branch=found.spec.branch,
        experiment_id=eid,
        tracking_uri=shown,
        created=found.created,
        model_url=model_url(uri, eid, found.model.model_id),
        experiment_name=ename,
        completed=found.completed,
    )


def connect(uri: str) -> Edge:
    """An :class:`Edge` to ``uri`` (call inside :func:`tracking.mlflow_env`).

    A bad URI (a scheme no MLflow store serves) is bad input (exit 2); a missing
    SQLite store is created atomically and a half-made one repaired (embedded.py).
    """
    from mlflow import MlflowClient
    from mlflow.tracking.registry import UnsupportedModelRegistryStoreURIException

    from mlflow_gitver import embedded
    from mlflow_gitver.registry import Edge

    db = embedded.db_file(uri)
    root = tracking.sqlite_artifact_root(uri)
    with tracking.store_lock(uri):
        try:
            if db is not None:
                embedded.ensure_created(db, root)
            try:
                client = MlflowClient(tracking_uri=uri)
            except UnsupportedModelRegistryStoreURIException:
                raise
            except Exception as e:
                # Only a SQLite file MLflow cannot open is ours to judge; anything
                # else is MLflow's to report.
                if db is None or not db.exists() or not embedded.repair(db, uri, root, e):
                    raise
                client = MlflowClient(tracking_uri=uri)
        except UnsupportedModelRegistryStoreURIException as e:
            raise tracking.unsupported_scheme(uri) from e
    return Edge(client, tracking.display(uri))


def _completer(specs: _Specs) -> Callable[[Edge, LoggedModel, VersionSpec], None]:
    from mlflow_gitver import registry

    def complete(edge: Edge, model: LoggedModel, spec: VersionSpec) -> None:
        if registry.is_ready(model):
            # READY means complete: its creator (or a healer) finished it.  Tags we
            # own that it lacks (a remote added since) are added, none rewritten.
            registry.ensure_tags(edge, model, specs.topped_up(spec, model.tags or {}))
            return
        registry.ensure_tags(edge, model, spec)
        if specs.patch is not None:
            _upload_patch(edge, model, spec, specs.patch)
        registry.finalize(edge, model)

    return complete


def _upload_patch(edge: Edge, model: LoggedModel, spec: VersionSpec, patch: Patch) -> None:
    from mlflow_gitver.patch import ARTIFACT_DIR, MANIFEST_NAME

    listed = edge.call(
        f"listing artifacts of {model.model_id}",
        edge.client.list_logged_model_artifacts,
        model.model_id,
        ARTIFACT_DIR,
    )
    if any(f.path == f"{ARTIFACT_DIR}/{MANIFEST_NAME}" for f in listed):
        return  # uploaded before an interruption: the manifest goes last
    with tempfile.TemporaryDirectory(prefix="mlflow-gitver-") as tmp:
        d = patch.write(Path(tmp) / ARTIFACT_DIR, spec.version_id, spec.commit)
        # The patch first, the manifest last: the manifest marks a complete upload.
        for name in (d / "changes.patch", d / MANIFEST_NAME):
            edge.call(
                f"uploading {name.name} to {model.model_id}",
                edge.client.log_model_artifact,
                model.model_id,
                str(name),
                ARTIFACT_DIR,
            )


def lookup(
    version_id: str,
    uri: str,
    *,
    experiment: tuple[str, str] | None,
    app_name: str | None,
    environ: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Registered | None:
    """The READY model of ``version_id`` at ``uri``, or None; creates nothing.

    With no experiment, every active experiment is searched.  ``app_name`` (from
    ``--name`` or a config) restricts the search to that application's models.
    ``params`` (the config's, resolved as ``register`` would) must match the
    model's: a version registered with other params raises :class:`Conflict`, as
    ``register`` would.
    """
    from mlflow_gitver import registry

    shown = tracking.display(uri)
    with tracking.mlflow_env(uri, environ):
        from mlflow.exceptions import MlflowException

        edge = connect(uri)
        try:
            eids = lookup_experiments(edge, experiment)
            if not eids:
                return None
            found = _find(edge, eids, version_id, app_name, params)
            ename = (
                None if found is None else tracking.experiment_name(edge, str(found.experiment_id))
            )
        except MlflowException as e:
            raise registry.mlflow_error(e, f"looking up {version_id}", shown) from e
    if found is None:
        return None
    tags = found.tags or {}
    return Registered(
        model_id=found.model_id,
        model_name=found.name,
        version_id=version_id,
        commit=tags.get("mlflow.source.git.commit", ""),
        dirty=tags.get("mlflow.source.git.dirty") == "true",
        branch=tags.get("mlflow.source.git.branch"),
        experiment_id=str(found.experiment_id),
        tracking_uri=shown,
        created=False,
        model_url=model_url(uri, str(found.experiment_id), found.model_id),
        experiment_name=ename,
    )


def _find(
    edge: Edge,
    eids: list[str],
    version_id: str,
    app_name: str | None,
    params: Mapping[str, str] | None,
) -> Any:
    from mlflow_gitver import registry

    models = registry.search_version(edge, eids, version_id)
    if app_name is not None:
        models = [m for m in models if (m.tags or {}).get(TAG_APP) == app_name]
    ready = [m for m in models if registry.is_ready(m)]
    if not ready:
        return None
    if params is None:
        return registry.pick(ready)
    # {params_digest} in name_template gives each set of params its own model.
    same = [m for m in ready if dict(m.params or {}) == dict(params)]
    if not same:
        raise Conflict(registry.params_conflict(registry.pick(ready), version_id, params))
    return registry.pick(same)


def lookup_experiments(edge: Edge, choice: tuple[str, str] | None) -> list[str]:
    """The experiments a lookup searches: the chosen one, or every active one."""
    from mlflow_gitver import registry

    if choice is None:
        return registry.all_experiment_ids(edge)
    kind, value = choice
    if kind == "id":
        return [value]
    exp = edge.call(f"reading experiment {value!r}", edge.client.get_experiment_by_name, value)
    return [] if exp is None else [str(exp.experiment_id)]


def not_registered(version_id: str, shown_uri: str) -> GitverError:
    return GitverError(
        f"version {version_id} is not registered at {shown_uri}; register it with "
        "'mlflow-gitver register' (or check --tracking-uri / --experiment)",
        EXIT_FAILURE,
    )
