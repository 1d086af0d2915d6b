"""``mlflow-gitver log``: the versions of this app, newest first, without the UI.

Each line: the model's name and id, its commit and subject, branch, whether it
is dirty, when it was created, its status, and how many traces (up to
``listing.TRACES_COUNTED``) and evaluation runs link to it.  An evaluation run links
by the metrics it logs on the model (MLFLOW_NOTES.md): those are counted by
run id, with no extra call; traces take one call per version.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver.commands import from_namespace
from mlflow_gitver.context import open_repo_if_any
from mlflow_gitver.errors import EXIT_OK, EXIT_USAGE, GitverError

MAX_LIMIT = 1000  # one search; each version then costs a trace count


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    limit: int = 20
    branch: str | None = None
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def run(args: Args) -> int:
    from mlflow_gitver import listing, lookup, mlflow_api, tracking

    if not 1 <= args.limit <= MAX_LIMIT:
        raise GitverError(f"--limit {args.limit}: give a number of versions, 1 to {MAX_LIMIT}")
    if args.branch is not None and "'" in args.branch:
        raise GitverError(f"--branch {args.branch!r}: a quote cannot be searched for", EXIT_USAGE)
    repo = open_repo_if_any(args.repo)
    apps = listing.config_apps(repo, args.config, args.app)
    root = repo.root if repo is not None else None
    names = [a.name for a in apps]
    first = apps[0] if apps else None  # the URI is the repository's, not an app's
    uri, _ = lookup.lookup_place(args.tracking_uri, args.experiment, first, root)
    shown = tracking.display(uri)
    mlflow_api.quiet()
    with tracking.mlflow_env(uri), mlflow_api.failing("listing versions", shown):
        edge = mlflow_api.connect(uri)
        newest = listing.versions(edge, apps, args.experiment, args.branch, args.limit)
        rows = [_row(model, listing.traces(edge, model)) for model in newest]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        who = ", ".join(names) if names else "any app"
        print(f"no versions of {who} at {shown}", file=sys.stderr)
    else:
        print("\n".join(_lines(rows)))
    return EXIT_OK


def _row(model: Any, traces: int | None) -> dict[str, Any]:
    from mlflow_gitver import listing
    from mlflow_gitver.naming import (
        GIT_BRANCH,
        GIT_COMMIT,
        GIT_DIRTY,
        TAG_APP,
        TAG_SUBJECT,
        TAG_VERSION_ID,
    )

    tags = dict(model.tags or {})
    created = model.creation_timestamp
    return {
        "app": tags.get(TAG_APP),
        "model_name": model.name,
        "model_id": model.model_id,
        "version_id": tags.get(TAG_VERSION_ID),
        "commit": tags.get(GIT_COMMIT),
        "subject": tags.get(TAG_SUBJECT),
        "branch": tags.get(GIT_BRANCH),
        "dirty": tags.get(GIT_DIRTY) == "true",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created / 1000))
        if created
        else None,
        "status": str(getattr(model.status, "name", model.status)).split(".")[-1],
        "traces": traces,
        "evaluation_runs": listing.evaluation_runs(model),
    }


def _lines(rows: list[dict[str, Any]]) -> list[str]:
    from mlflow_gitver import listing

    out = []
    for r in rows:
        traces = "?" if r["traces"] is None else r["traces"]
        if r["traces"] == listing.TRACES_COUNTED:
            traces = f"{listing.TRACES_COUNTED}+"
        head = f"{r['model_name']}  {r['model_id']}  {r['status']}"
        head += "  dirty" if r["dirty"] else ""
        commit = (r["commit"] or "?")[:12]
        out.append(head)
        out.append(
            f"    {commit} {r['subject'] or ''}".rstrip()
            + f"  [{r['branch'] or 'no branch'}]  {r['created'] or ''}"
            + f"  traces: {traces}  evaluation runs: {r['evaluation_runs']}"
        )
    return out
