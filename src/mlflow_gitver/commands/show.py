"""``mlflow-gitver show [VERSION]``: one version, its params, tags and links.

VERSION is a model id (``m-...``), a version id (as ``id`` prints it), a commit
(anything git resolves, in a checkout), or a model name; by default the working
tree's version.  Exit 1 when it is not registered.  Creates nothing.  For a
scoped app (``--app``, or the config's only one) a commit and the working tree
stand for the app's scoped version.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.context import open_repo_if_any, select_apps
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GitverError
from mlflow_gitver.identity import is_version_id

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.config import Config

_MODEL_ID = re.compile(r"m-[0-9a-f]{8,}")
TRACES_COUNTED = 100  # count linked traces up to this many: one cheap call


@dataclass(frozen=True)
class Args:
    version: str | None = None  # VERSION; None: the working tree's
    repo: Path | None = None
    config: Path | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    web: bool = False
    app: str | None = None
    format: str = "text"  # text or json


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def what_version(
    version: str | None, repo: git.Repo | None, scope: VersionScope
) -> tuple[str, str]:
    """("model_id" | "version_id" | "name", value) that VERSION stands for."""
    if version is None:
        if repo is None:
            raise GitverError(
                "show needs a VERSION outside a git checkout: a model id, version id or "
                "model name (or run it in the repository, or pass --repo DIR)"
            )
        return "version_id", scope.version_id(repo, None, "the working tree")
    if _MODEL_ID.fullmatch(version):
        return "model_id", version
    if is_version_id(version.lower()) and not scope.computed:
        return "version_id", version.lower()
    if repo is not None:
        full = git.resolve_commit(repo, version)
        if full is not None:
            return "version_id", scope.version_id(repo, full, f"commit {version}")
    if is_version_id(version.lower()):
        return "version_id", version.lower()
    return "name", version


@dataclass(frozen=True)
class VersionScope:
    """How a commit or the working tree maps to a version id: as the repository's
    (no config, or one unscoped app), as ``app``'s scoped id, or not at all (several
    apps, none chosen with --app: whose version would it be?)."""

    app: Config | None
    apps: tuple[Config, ...] = ()
    config_arg: Path | None = None

    @property
    def computed(self) -> bool:
        """Whether a commit's version id is not the commit: a 40-hex VERSION is then
        taken as a commit first."""
        return self.app is not None and bool(self.app.paths)

    def version_id(self, repo: git.Repo, commit: str | None, what: str) -> str:
        from mlflow_gitver.context import app_states
        from mlflow_gitver.gitstate import state_of

        if self.app is None and any(a.paths for a in self.apps):
            names = ", ".join(a.name for a in self.apps)
            raise GitverError(
                f"{self.apps[0].source} has several apps ({names}): pass --app NAME to "
                f"show {what}'s version of one of them",
                EXIT_USAGE,
            )
        if self.app is not None and self.app.paths:
            [(state, _)] = app_states(repo, commit, self.config_arg, self.app.name)
            return state.version_id
        if commit is not None:
            return commit
        untracked = self.app.untracked if self.app is not None else True
        return state_of(repo, untracked=untracked).version_id


class VersionFinder:
    """Finds registered versions the way ``diff`` and ``checkout`` take them (a model
    id, model name, commit or version id): with the config a look-up reads, its one
    app (or none), and the tracking URI and experiment that config and the options
    give.  Each :meth:`find` is one look-up; an absent version is exit 1."""

    def __init__(
        self,
        repo: git.Repo | None,
        config_arg: Path | None,
        app: str | None,
        tracking_uri: str | None,
        experiment: str | None,
    ) -> None:
        from mlflow_gitver import lookup, mlflow_api
        from mlflow_gitver.config import load_config
        from mlflow_gitver.context import lookup_config_path

        path = lookup_config_path(repo, config_arg, app)
        cfg = None if path is None else load_config(path)
        apps = select_apps(cfg, app) if cfg is not None else ()
        self.repo, self.app = repo, apps[0] if len(apps) == 1 else None
        self.scope = VersionScope(self.app, apps, config_arg)
        root = repo.root if repo is not None else None
        self.uri, self.choice = lookup.lookup_place(tracking_uri, experiment, self.app or cfg, root)
        mlflow_api.quiet()

    def lookup(self, given: str | None) -> tuple[str, str, dict[str, Any] | None]:
        """(kind, value, the version or None) for ``given`` (None: the working tree)."""
        kind, value = what_version(given, self.repo, self.scope)
        app = self.app.name if self.app is not None and kind == "version_id" else None
        info = fetch_version(kind, value, self.uri, self.choice, app)
        if info is None and kind == "model_id" and given is not None:
            # MLflow lets a model be *named* like an id ("m-0123abcd" from a
            # name_template): when no model has that id, the name is tried.
            info = fetch_version("name", given, self.uri, self.choice, None)
        return kind, value, info

    def find(self, given: str) -> dict[str, Any]:
        from mlflow_gitver.tracking import display

        _kind, _value, info = self.lookup(given)
        if info is None:
            raise GitverError(
                f"{given} is not a registered version at {display(self.uri)}; check it, "
                "--tracking-uri and --experiment",
                EXIT_FAILURE,
            )
        return info


def run(args: Args) -> int:
    from mlflow_gitver.tracking import display

    repo = open_repo_if_any(args.repo)
    finder = VersionFinder(repo, args.config, args.app, args.tracking_uri, args.experiment)
    kind, value, info = finder.lookup(args.version)
    uri = finder.uri
    if info is None:
        what = {"model_id": "model", "version_id": "version", "name": "model named"}[kind]
        raise GitverError(
            f"{what} {value} is not registered at {display(uri)}; check VERSION, "
            "--tracking-uri and --experiment ('mlflow-gitver register' registers the "
            "working tree)",
            EXIT_FAILURE,
        )
    if args.format == "json":
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print("\n".join(text_lines(info, uri)))
    if args.web:
        _open(info.get("model_url"))
    return EXIT_OK


def fetch_version(
    kind: str, value: str, uri: str, choice: tuple[str, str] | None, app: str | None
) -> dict[str, Any] | None:
    from mlflow_gitver import lookup, mlflow_api, tracking

    shown = tracking.display(uri)
    if kind == "version_id":
        # READY models of that version (of this app, when a config names it).
        found = lookup.lookup(value, uri, experiment=choice, app_name=app)
        if found is None:
            return None
        kind, value = "model_id", found.model_id
    with tracking.mlflow_env(uri), mlflow_api.failing(f"reading {value}", shown):
        edge = mlflow_api.connect(uri)
        model = _find_model(edge, kind, value, choice)
        if model is None:
            return None
        exp = mlflow_api.get_experiment(edge, str(model.experiment_id), "reading the experiment")
        traces = mlflow_api.count_traces(
            edge, str(model.experiment_id), model.model_id, TRACES_COUNTED
        )
    return _as_json(model, exp, traces, uri)


def _find_model(edge: Any, kind: str, value: str, choice: tuple[str, str] | None) -> Any:
    from mlflow_gitver import lookup, mlflow_api, registry

    if kind == "model_id":
        return mlflow_api.get_model(
            edge, value, ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        )
    eids = lookup.lookup_experiments(edge, choice)
    if not eids:
        return None
    if "'" in value:
        return None  # MLflow refuses quotes in model names: no model has this one
    models = mlflow_api.search_models(
        edge, f"searching models named {value}", eids, f"name = '{value}'"
    )
    return registry.pick(models) if models else None


def _as_json(model: Any, exp: Any, traces: int | None, uri: str) -> dict[str, Any]:
    from mlflow_gitver import tracking, versions
    from mlflow_gitver.naming import GIT_BRANCH, GIT_COMMIT, GIT_DIRTY, TAG_VERSION_ID

    tags = dict(model.tags or {})
    eid = str(model.experiment_id)
    return {
        "model_id": model.model_id,
        "model_name": model.name,
        "version_id": tags.get(TAG_VERSION_ID),
        "commit": tags.get(GIT_COMMIT),
        "dirty": tags.get(GIT_DIRTY) == "true",
        "branch": tags.get(GIT_BRANCH),
        "status": getattr(model.status, "name", str(model.status)),
        "experiment_id": eid,
        "experiment_name": getattr(exp, "name", None),
        "created": model.creation_timestamp,
        "model_type": model.model_type,
        "params": dict(model.params or {}),
        "tags": tags,
        "metrics": [
            {"key": m.key, "value": m.value, "run_id": getattr(m, "run_id", None)}
            for m in (model.metrics or [])
        ],
        "traces": traces,
        "tracking_uri": tracking.display(uri),
        "model_url": versions.model_url(uri, eid, model.model_id),
    }


def _when(ms: int | None) -> str:
    if not ms:
        return "unknown"
    import datetime

    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def text_lines(info: dict[str, Any], uri: str) -> list[str]:
    traces = info["traces"]
    shown_traces = (
        "unknown"
        if traces is None
        else (f"{traces}+" if traces >= TRACES_COUNTED else str(traces)) + " linked"
    )
    lines = [
        f"model id:   {info['model_id']}",
        f"model name: {info['model_name']}",
        f"version id: {info['version_id'] or '(none: not made by mlflow-gitver)'}",
        f"status:     {info['status']}",
        f"experiment: {info['experiment_name']} (id {info['experiment_id']}) at "
        f"{info['tracking_uri']}",
        f"created:    {_when(info['created'])}",
        f"traces:     {shown_traces}",
    ]
    if info["model_type"]:
        lines.append(f"model type: {info['model_type']}")
    for title, items in (("params", info["params"]), ("tags", info["tags"])):
        lines.append(f"{title}:" if items else f"{title}: (none)")
        for k, v in sorted(items.items()):
            shown = v if len(v) <= 120 else v[:117] + "..."
            lines.append(f"  {k} = {shown}".replace("\n", "\\n"))
    if info["metrics"]:
        lines.append("metrics:")
        for m in info["metrics"]:
            run = f" (run {m['run_id']})" if m["run_id"] else ""
            lines.append(f"  {m['key']} = {m['value']}{run}")
    if info["model_url"]:
        lines.append(f"view:       {info['model_url']}")
    else:
        lines.append(f"view:       {_ui_hint(info, uri)}")
    return lines


def _ui_hint(info: dict[str, Any], uri: str) -> str:
    """How to see a version of a local store: ``mlflow ui`` on it, then this page."""
    from mlflow_gitver.tracking import display

    page = f"#/experiments/{info['experiment_id']}/models/{info['model_id']}"
    return (
        f"run 'mlflow ui --backend-store-uri {display(uri)}' (the full mlflow package), "
        f"then open http://127.0.0.1:5000/{page}"
    )


def _open(url: str | None) -> None:
    if not url:
        print(
            "mlflow-gitver: this tracking URI has no web page to open; see 'view' above",
            file=sys.stderr,
        )
        return
    import webbrowser

    if not webbrowser.open(url):
        print(f"mlflow-gitver: no web browser found; open {url}", file=sys.stderr)
