"""Register a version (find or create its LoggedModel), and plan a dry run.

Importing this module does not import MLflow (the hooks import it on every
commit); functions that talk to MLflow import it when called (mlflow_api.py).
Looking a version up without creating it is lookup.py's job.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from mlflow_gitver import git, tracking
from mlflow_gitver.gitstate import GitState, state_at_commit, state_of
from mlflow_gitver.naming import VersionPlan, VersionSpec
from mlflow_gitver.redact import redact_url

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

    from mlflow_gitver.config import Config
    from mlflow_gitver.config_prompts import PromptRef
    from mlflow_gitver.patch import Patch


class Options(TypedDict, total=False):
    """Where and how a version is registered (or planned); every key may be left out."""

    target: tracking.Target | None  # the tracking target the caller resolved
    tracking_uri: str | None  # else this URI, through the usual precedence
    experiment: str | None
    environ: Mapping[str, str] | None  # default: os.environ
    branch: str | None  # the branch to tag (CI checks out a detached HEAD)
    extra_tags: Mapping[str, str] | None


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
    # The prompt versions the version pins (prompts:), name -> version number.
    prompts: dict[str, int] = field(default_factory=dict)

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
    prompts: tuple[PromptRef, ...] = ()  # pinned at registration, not by a plan

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
            **(
                {"prompts_unresolved": {r.name: r.source for r in self.prompts}}
                if self.prompts
                else {}
            ),
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
    from mlflow_gitver import mlflow_api

    return mlflow_api.databricks_host(uri)


# The experiment each (URI, choice) resolved to in this process: an application
# that registers again (activate() at each start of a worker, a repeat in CI)
# makes one call, the model search, as MLflow's own set_active_model does once
# set_experiment has run.  Dropped when a registration fails.
_EXPERIMENTS: dict[tuple[str, tuple[str, str] | None], tuple[str, str]] = {}


def _environ(opts: Options) -> Mapping[str, str]:
    environ = opts.get("environ")
    return os.environ if environ is None else environ  # an empty one is a choice too


def _target_of(
    opts: Options, env: Mapping[str, str], cfg: Config, repo: git.Repo
) -> tracking.Target:
    chosen = opts.get("target")
    return chosen or tracking.target(opts.get("tracking_uri"), env, cfg.tracking_uri, repo.root)


def plan(repo: git.Repo, state: GitState, cfg: Config, **opts: Unpack[Options]) -> Plan:
    """What :func:`register_state` would send; touches nothing."""
    env = _environ(opts)
    chosen = _target_of(opts, env, cfg, repo)
    vplan = VersionPlan(repo, state, cfg, opts.get("branch"), opts.get("extra_tags"))
    choice = tracking.experiment_choice(opts.get("experiment"), env, cfg.experiment)
    return Plan(vplan.full(8), chosen.display, choice, vplan.patch, cfg.prompts)


def register_worktree(repo: git.Repo, cfg: Config, **opts: Unpack[Options]) -> Registered:
    """Register the working tree of ``repo`` as it is now (dirty or clean)."""
    return register_state(repo, state_of(repo, untracked=cfg.untracked), cfg, **opts)


def register_commit(
    repo: git.Repo, commit: str, cfg: Config, **opts: Unpack[Options]
) -> Registered:
    """Register ``commit`` (clean; it need not be checked out) under ``cfg`` (one
    app's, when scoped: the version of what its paths cover in ``commit``).

    Raises :class:`~mlflow_gitver.errors.ServerUnavailable` when the server cannot be
    reached (worth retrying later), ``AuthFailed``, ``Conflict``, or another
    :class:`GitverError` (invalid config or input: retrying will not help).
    """
    return register_state(repo, state_at_commit(repo, commit, cfg.paths), cfg, **opts)


def register_state(
    repo: git.Repo, state: GitState, cfg: Config, **opts: Unpack[Options]
) -> Registered:
    """Find or create the LoggedModel of ``state``: exactly once (see registry.py)."""
    env = _environ(opts)
    chosen = _target_of(opts, env, cfg, repo)
    uri, shown = chosen.uri, chosen.display
    choice = tracking.experiment_choice(opts.get("experiment"), env, cfg.experiment)
    vplan = VersionPlan(repo, state, cfg, opts.get("branch"), opts.get("extra_tags"))
    if cfg.secrets == "refuse":
        _ = vplan.patch  # a credential in it fails here, before any server contact
    from mlflow_gitver import mlflow_api, registry
    from mlflow_gitver.errors import GitverError

    key = (uri, choice)
    with tracking.mlflow_env(uri, env):
        edge = mlflow_api.connect(uri)
        known = _EXPERIMENTS.get(key)
        if known is None:
            with mlflow_api.failing("resolving the experiment", shown):
                known = tracking.resolve_experiment_named(edge, choice)
        eid, ename = known
        pins: tuple[Any, ...] = ()
        try:
            if cfg.prompts:
                from mlflow_gitver import pins as pinning

                pinning.check_scope(repo, state, cfg.prompts)
                with mlflow_api.failing("pinning the prompts", shown):
                    pins = pinning.pin_all(
                        edge,
                        cfg.prompts,
                        pinning.reader(repo, state),
                        commit=state.commit,
                        create=True,
                        secrets=cfg.secrets,
                    )
                # The pins are params: part of the version (pins.py).
                vplan = VersionPlan(
                    repo,
                    state,
                    pinning.pinned(cfg, pins),
                    opts.get("branch"),
                    opts.get("extra_tags"),
                )
            with mlflow_api.failing("registering the version", shown):
                found = registry.find_or_create(edge, eid, vplan)
            if pins:
                with mlflow_api.failing("linking the prompts", shown):
                    pinning.link(edge, found.model, pins)
        except GitverError:
            # Resolved again next time: the experiment may have been deleted or
            # renamed since, and its own error is the one to show then.
            _EXPERIMENTS.pop(key, None)
            raise
        _EXPERIMENTS[key] = known
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
        prompts={p.ref.name: p.version for p in pins if p.version is not None},
    )
