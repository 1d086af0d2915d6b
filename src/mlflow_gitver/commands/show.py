"""``mlflow-gitver show [VERSION]``: one version, its params, tags and links.

VERSION is a model id (``m-...``), a version id (as ``id`` prints it), a commit
(anything git resolves, in a checkout), or a model name; by default the working
tree's version.  Exit 1 when it is not registered.  Creates nothing.
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
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo_if_any, unscoped
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.identity import is_version_id

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
    format: str = "text"  # text or json


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def _what(version: str | None, repo: git.Repo | None, untracked: bool) -> tuple[str, str]:
    """("model_id" | "version_id" | "name", value) that VERSION stands for."""
    from mlflow_gitver.gitstate import state_of

    if version is None:
        if repo is None:
            raise GitverError(
                "show needs a VERSION outside a git checkout: a model id, version id or "
                "model name (or run it in the repository, or pass --repo DIR)"
            )
        return "version_id", state_of(repo, untracked=untracked).version_id
    if _MODEL_ID.fullmatch(version):
        return "model_id", version
    if is_version_id(version.lower()):
        return "version_id", version.lower()
    if repo is not None:
        full = git.resolve_commit(repo, version)
        if full is not None:
            return "version_id", full
    return "name", version


def run(args: Args) -> int:
    from mlflow_gitver.config import Config, load_config
    from mlflow_gitver.lookup import lookup_place
    from mlflow_gitver.tracking import display

    repo = open_repo_if_any(args.repo)
    cfg: Config | None = None
    cfg_path = args.config
    if cfg_path is None and repo is not None:
        cfg_path = repo.root / CONFIG_NAME
        cfg_path = cfg_path if cfg_path.exists() else None
    if cfg_path is not None:
        cfg = load_config(cfg_path)
        if args.version is None:
            cfg = unscoped(cfg, "show without VERSION")
    kind, value = _what(args.version, repo, cfg.untracked if cfg else True)
    root = repo.root if repo is not None else None
    uri, choice = lookup_place(args.tracking_uri, args.experiment, cfg, root)
    app = cfg.name if cfg is not None and not cfg.apps and kind == "version_id" else None

    from mlflow_gitver.mlflow_api import quiet as quiet_mlflow

    quiet_mlflow()
    info = _fetch(kind, value, uri, choice, app)
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


def _fetch(
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
