"""``register`` and ``env``: find or create the version's LoggedModel."""

from __future__ import annotations

import argparse
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import ci, tracking
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.commands.check import item_lines
from mlflow_gitver.context import open_repo, state_and_config
from mlflow_gitver.redact import redact_url
from mlflow_gitver.versions import Options, Plan, Registered, plan, register_state


@dataclass(frozen=True)
class Args:
    """``register``'s (and ``env``'s, and ``exec``'s) options."""

    repo: Path | None = None
    config: Path | None = None
    commit: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    dry_run: bool = False
    ci: str | None = None
    dotenv: Path | None = None
    fmt: str = "text"  # text | json | env (`env` is register --format env)


def args_of(ns: argparse.Namespace) -> Args:
    fmt = "env" if ns.command == "env" else getattr(ns, "format", "text")  # exec: no --format
    return from_namespace(Args, ns, fmt=fmt)


def env_lines(reg: Registered, uri: str) -> list[str]:
    """``export`` lines for ``eval``; the tracking URI only when it holds no credential."""
    lines = [
        f"export MLFLOW_ACTIVE_MODEL_ID={shlex.quote(reg.model_id)}",
        f"export MLFLOW_EXPERIMENT_ID={shlex.quote(reg.experiment_id)}",
    ]
    if redact_url(uri) == uri:
        lines.append(f"export MLFLOW_TRACKING_URI={shlex.quote(uri)}")
    return lines


def _experiment(reg: Registered) -> str:
    if reg.experiment_name is None:
        return reg.experiment_id
    return f"{reg.experiment_name} (id {reg.experiment_id})"


def _status(reg: Registered) -> str:
    if reg.status == "completed":
        return "completed (an earlier, interrupted registration had left it unfinished)"
    return reg.status


def text_lines(reg: Registered) -> list[str]:
    lines = [
        f"model id:   {reg.model_id}",
        f"model name: {reg.model_name}",
        f"version id: {reg.version_id}",
        f"experiment: {_experiment(reg)} at {reg.tracking_uri}",
        f"status:     {_status(reg)}",
    ]
    if reg.model_url:
        lines.append(f"view:       {reg.model_url}")
    return lines


def _print_plan(p: Plan, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"dry_run": True, **p.as_json()}, indent=2, ensure_ascii=False))
        return
    exp = "the default experiment" if p.experiment is None else f"experiment {p.experiment[1]}"
    print(f"dry run: nothing sent to {p.tracking_uri}")
    print(f"would find or create {p.spec.name} in {exp}")
    print(f"version id: {p.spec.version_id}")
    if p.spec.model_type:
        print(f"model type: {p.spec.model_type}")
    for title, items in (("params", p.spec.params), ("tags", p.spec.tags)):
        print("\n".join(item_lines(title, items)))
    if p.patch is not None:
        print(f"patch artifact: {len(p.patch.data)} bytes, {len(p.patch.included)} file(s)")
        for o in p.patch.omitted:
            print(f"  omitted ({o.reason}): {o.path}" + (f" sha256:{o.sha256}" if o.sha256 else ""))
        for r in p.patch.redactions:
            print(
                f"  redacted ({r.kind}): {r.path}:{r.line}" + (" (HEAD)" if r.side == "old" else "")
            )


def _export(ctx: ci.CiContext, reg: Registered, args: Args) -> None:
    outputs = {
        "model-id": reg.model_id,
        "model-name": reg.model_name,
        "version-id": reg.version_id,
        "commit": reg.commit,
        "dirty": "true" if reg.dirty else "false",
        "experiment-id": reg.experiment_id,
        "model-url": reg.model_url or "",
    }
    ci.export(
        ctx,
        outputs=outputs,
        # The experiment too: a process with only the model id writes its traces to
        # experiment 0, where the version's page does not show them (MLFLOW_NOTES.md).
        env_vars={
            "MLFLOW_ACTIVE_MODEL_ID": reg.model_id,
            "MLFLOW_EXPERIMENT_ID": reg.experiment_id,
        },
        # The ci package escapes every value: a model name cannot inject Markdown.
        summary=ci.summary_markdown(outputs),
        dotenv=args.dotenv,
        environ=os.environ,
    )


def run(args: Args) -> int:
    done = registered(args)
    if done is None:
        return 0
    reg, target = done
    if args.fmt == "json":
        print(json.dumps(reg.as_json(), indent=2))
    elif args.fmt == "env":
        print("\n".join(env_lines(reg, target.uri)))
    else:
        print("\n".join(text_lines(reg)))
    return 0


def registered(args: Args) -> tuple[Registered, tracking.Target] | None:
    """Find or create the version (and export it to CI): it and the tracking target;
    None after printing the plan of a dry run."""
    repo = open_repo(args.repo)
    ctx = ci.detect(args.ci, os.environ)
    state, cfg = state_and_config(repo, args.commit, args.config)
    # The one resolution of the tracking URI: registration and exports share it.
    target = tracking.target(args.tracking_uri, os.environ, cfg.tracking_uri, repo.root)
    # CI checks out a detached HEAD; its variables know the branch.
    branch = ctx.branch if state.branch is None else None
    opts = Options(target=target, experiment=args.experiment, branch=branch, extra_tags=ctx.tags)
    if args.dry_run:
        _print_plan(plan(repo, state, cfg, **opts), "json" if args.fmt == "json" else "text")
        return None
    from mlflow_gitver import mlflow_api

    mlflow_api.quiet()
    reg = register_state(repo, state, cfg, **opts)
    _export(ctx, reg, args)
    return reg, target
