"""``mlflow-gitver gc --older-than DURATION [--dry-run]``: delete old dirty versions
nothing links to.

A version (a LoggedModel of the config's app, in that app's experiment) is
deleted only when all of these hold, checked in this order (the first that
fails is the reason it is kept, counted in the last line):

- ``pending``: it is READY (a PENDING model is a registration in progress);
- ``not ours``: it carries our ``mlflow_gitver.version_id`` tag;
- ``clean``: it is dirty (``mlflow.source.git.dirty`` is ``true``): a commit's
  version is never deleted;
- ``verified``: ``verify`` never tagged it ``mlflow_gitver.verified`` (deployed);
- ``newer than DURATION``: it was created before now minus DURATION;
- ``evaluated``: no run logged metrics on it, and no run logged it
  (``source_run_id``);
- ``traced``: no trace links to it (a store that cannot count traces keeps it:
  ``traces unknown``).

What we promise, and why it is not more: MLflow has no conditional delete, so
a real run checks each version again just before deleting it (a fresh read of
the model, then the trace count): a trace, an evaluation or a ``verify`` that
arrived since the listing keeps it.  ``--dry-run`` lists exactly what a run at
that moment would delete, and saves its list (gcplan.py): the next real run with
the same arguments deletes only versions of that list (a version that became old
enough in between is kept, "not in the dry run"), so it never deletes more than
the dry run showed.  Outside a clone the list cannot be kept, and the dry run
says so.  ``--format json`` gives the cutoff used, and ``dry_run_of``.

A registration of the version racing gc (registry.py, step 5) finds the
deletion and creates the version again.  What is left is the moment between
gc's last check and its delete: a trace that lands there links to a deleted
model, and a ``verify`` there fails (exit 1: its tag write finds the model gone).

Each model is deleted on its own: a killed gc has deleted some, and the next
run finds the rest.  Nothing to delete is exit 0.  Without a config there is no
app to select: exit 2.
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
from mlflow_gitver.errors import EXIT_OK, EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.gcplan import Plan


@dataclass(frozen=True)
class Args:
    older_than: str
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    dry_run: bool = False
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


@dataclass(frozen=True)
class Deleted:
    app: str | None
    model_name: str
    model_id: str
    version_id: str | None
    created_ms: int
    age_seconds: int


def run(args: Args) -> int:
    from mlflow_gitver import duration, listing, lookup, mlflow_api, registry, tracking
    from mlflow_gitver.context import open_repo_if_any

    seconds = duration.parse(args.older_than)
    repo = open_repo_if_any(args.repo)
    apps = listing.config_apps(repo, args.config, args.app)
    if not apps:
        raise GitverError(
            "gc deletes one app's versions, and there is no config to name the app: run it "
            "in the app's clone, or pass --config FILE",
            EXIT_USAGE,
        )
    root = repo.root if repo is not None else None
    uri, _ = lookup.lookup_place(args.tracking_uri, args.experiment, apps[0], root)
    shown = tracking.display(uri)
    names = {a.name for a in apps}
    from mlflow_gitver import gcplan

    plan_path = gcplan.path_in(repo.common_dir) if repo is not None else None
    plan_key = gcplan.key_of(args.older_than, sorted(names), shown, args.experiment)
    plan = None
    if plan_path is not None and not args.dry_run:
        plan = gcplan.load(plan_path, plan_key)
    mlflow_api.quiet()
    deleted: list[Deleted] = []
    kept: dict[str, int] = {}
    with tracking.mlflow_env(uri), mlflow_api.failing("collecting old versions", shown):
        edge = mlflow_api.connect(uri)
        now_ms = int(time.time() * 1000)
        # Nothing was created before 1970: a longer DURATION keeps everything.
        cutoff_ms = max(0, now_ms - seconds * 1000)
        listed = listing.versions(edge, apps, args.experiment)
        registry._inject_fault("gc-listed")  # the race tests pause here
        for model in listed:
            reason = kept_for(model, names, cutoff_ms, args.older_than)
            if reason is None and not args.dry_run:
                # Read it again just before deleting it: a link or a verify that
                # arrived since the listing keeps it (module doc).
                model = mlflow_api.get_model(edge, model.model_id)
                if model is None:
                    continue  # deleted meanwhile, by someone else: not ours to count
                reason = kept_for(model, names, cutoff_ms, args.older_than)
            if reason is None:
                reason = _trace_reason(edge, model)
            if reason is None and plan is not None and model.model_id not in plan.model_ids:
                reason = "not in the dry run"  # last: each version keeps its own reason
            if reason is not None:
                kept[reason] = kept.get(reason, 0) + 1
                continue
            if not args.dry_run:
                mlflow_api.delete_model(edge, model.model_id, "old version")
            deleted.append(_deleted(model, now_ms))
    if plan_path is not None:
        if args.dry_run:
            why = gcplan.save(plan_path, plan_key, [d.model_id for d in deleted])
        else:
            why = None
            if plan is not None:
                gcplan.done(plan_path, plan_key)
    elif args.dry_run:
        why = "there is no clone to keep it in"
    if args.dry_run and why is not None:
        print(
            f"mlflow-gitver: warning: this list is not saved ({why}): the run after it may "
            "delete versions that became old enough since",
            file=sys.stderr,
        )
    _print(args, shown, cutoff_ms, deleted, kept, plan)
    return EXIT_OK


def kept_for(model: Any, apps: set[str], cutoff_ms: int, older_than: str) -> str | None:
    """Why ``model`` is kept, from what the model itself says (no call); None when
    only the trace count is left to check (module doc: the order of the rules)."""
    from mlflow_gitver.deploycheck import TAG_VERIFIED
    from mlflow_gitver.naming import GIT_DIRTY, TAG_APP, TAG_VERSION_ID
    from mlflow_gitver.registry import is_ready

    tags = dict(model.tags or {})
    if not is_ready(model):
        return "pending"
    if not tags.get(TAG_VERSION_ID) or tags.get(TAG_APP) not in apps:
        return "not ours"
    if tags.get(GIT_DIRTY) != "true":
        return "clean"
    if TAG_VERIFIED in tags:
        return "verified"
    # No timestamp reads as new: an unknown age is no reason to delete.
    if (model.creation_timestamp or cutoff_ms + 1) > cutoff_ms:
        return f"newer than {older_than}"
    if any(m.run_id for m in model.metrics or []) or getattr(model, "source_run_id", None):
        return "evaluated"
    return None


def _trace_reason(edge: Any, model: Any) -> str | None:
    from mlflow_gitver import listing

    count = listing.traces(edge, model, 1)
    if count is None:
        return "traces unknown"
    return "traced" if count else None


def _deleted(model: Any, now_ms: int) -> Deleted:
    from mlflow_gitver.naming import TAG_APP, TAG_VERSION_ID

    tags = dict(model.tags or {})
    created = int(model.creation_timestamp)
    return Deleted(
        app=tags.get(TAG_APP),
        model_name=model.name,
        model_id=model.model_id,
        version_id=tags.get(TAG_VERSION_ID),
        created_ms=created,
        age_seconds=max(0, (now_ms - created) // 1000),
    )


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def _print(
    args: Args,
    shown: str,
    cutoff_ms: int,
    deleted: list[Deleted],
    kept: dict[str, int],
    plan: Plan | None,
) -> None:
    from mlflow_gitver import duration

    if args.format == "json":
        out = {
            "dry_run": args.dry_run,
            "older_than": args.older_than,
            "cutoff": _utc(cutoff_ms),
            "tracking_uri": shown,
            "deleted": [
                {
                    "app": d.app,
                    "model_name": d.model_name,
                    "model_id": d.model_id,
                    "version_id": d.version_id,
                    "created": _utc(d.created_ms),
                    "age_seconds": d.age_seconds,
                }
                for d in deleted
            ],
            "kept": sum(kept.values()),
            "kept_by_reason": dict(sorted(kept.items())),
            "dry_run_of": plan.created if plan is not None else None,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    verb = "would delete" if args.dry_run else "deleted"
    if plan is not None:
        print(f"following the dry run of {plan.created}: only what it listed")
    for d in deleted:
        print(f"{verb} {d.model_name}  {d.model_id}  age {duration.show(d.age_seconds)}")
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(kept.items(), key=lambda kv: -kv[1]))
    total = sum(kept.values())
    summary = f"{verb} {len(deleted)}, {'would keep' if args.dry_run else 'kept'} {total}"
    print(summary + (f" ({reasons})" if reasons else ""))
