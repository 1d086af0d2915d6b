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
from mlflow_gitver.context import app_states, open_repo
from mlflow_gitver.errors import EXIT_USAGE, GitverError
from mlflow_gitver.redact import redact_url
from mlflow_gitver.versions import Options, Plan, Registered, plan, register_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlflow_gitver.gitstate import GitState


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
    app: str | None = None


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
    if reg.prompts:
        pinned = ", ".join(f"{name} {version}" for name, version in reg.prompts.items())
        lines.append(f"prompts:    {pinned}")
    if reg.model_url:
        lines.append(f"view:       {reg.model_url}")
    return lines


def _print_plans(plans: list[tuple[str | None, Plan]], fmt: str) -> None:
    if fmt == "json":
        items = [
            {"dry_run": True, **({"app": app} if app else {}), **p.as_json()} for app, p in plans
        ]
        out = items[0] if len(items) == 1 else items
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for i, (app, p) in enumerate(plans):
        if i:
            print()
        if app and len(plans) > 1:
            print(f"app: {app}")
        _print_plan(p)


def _print_plan(p: Plan) -> None:
    exp = "the default experiment" if p.experiment is None else f"experiment {p.experiment[1]}"
    print(f"dry run: nothing sent to {p.tracking_uri}")
    print(f"would find or create {p.spec.name} in {exp}")
    print(f"version id: {p.spec.version_id}")
    if p.spec.model_type:
        print(f"model type: {p.spec.model_type}")
    for title, items in (("params", p.spec.params), ("tags", p.spec.tags)):
        print("\n".join(item_lines(title, items)))
    if p.prompts:
        print("prompts: pinned at registration, not by a dry run ('mlflow-gitver check' shows")
        print("  them as they resolve now; their params prompt.<name> are not shown above):")
        for ref in p.prompts:
            print(f"  {ref.name} ({ref.source})")
    if p.patch is not None:
        print(f"patch artifact: {len(p.patch.data)} bytes, {len(p.patch.included)} file(s)")
        for o in p.patch.omitted:
            print(f"  omitted ({o.reason}): {o.path}" + (f" sha256:{o.sha256}" if o.sha256 else ""))
        for r in p.patch.redactions:
            print(
                f"  redacted ({r.kind}): {r.path}:{r.line}" + (" (HEAD)" if r.side == "old" else "")
            )


def _outputs(reg: Registered) -> dict[str, str]:
    return {
        "model-id": reg.model_id,
        "model-name": reg.model_name,
        "version-id": reg.version_id,
        "commit": reg.commit,
        "dirty": "true" if reg.dirty else "false",
        "experiment-id": reg.experiment_id,
        "model-url": reg.model_url or "",
    }


def _export(ctx: ci.CiContext, regs: list[tuple[str | None, Registered]], args: Args) -> None:
    if len(regs) == 1:
        reg = regs[0][1]
        outputs = _outputs(reg)
        # The experiment too: a process with only the model id writes its traces to
        # experiment 0, where the version's page does not show them (MLFLOW_NOTES.md).
        env_vars = {
            "MLFLOW_ACTIVE_MODEL_ID": reg.model_id,
            "MLFLOW_EXPERIMENT_ID": reg.experiment_id,
        }
        summary = ci.summary_markdown(outputs)
    else:
        # Several apps: no one active model; a map each, and a variable per app.
        outputs = {
            "model-ids": json.dumps({app: r.model_id for app, r in regs}, sort_keys=True),
            "version-ids": json.dumps({app: r.version_id for app, r in regs}, sort_keys=True),
            "experiment-ids": json.dumps({app: r.experiment_id for app, r in regs}, sort_keys=True),
            # What a deploy matrix runs over: the apps this commit changed.  A re-run
            # creates nothing, so it deploys nothing twice.
            "created-apps": json.dumps(sorted(str(app) for app, r in regs if r.created)),
        }
        env_vars = {}
        for app, r in regs:
            assert app is not None
            env_vars[app_variable("MLFLOW_GITVER_MODEL_ID", app)] = r.model_id
            env_vars[app_variable("MLFLOW_GITVER_EXPERIMENT_ID", app)] = r.experiment_id
        summary = "\n".join(ci.summary_markdown(_outputs(r), title=app) for app, r in regs)
    ci.export(
        ctx,
        outputs=outputs,
        env_vars=env_vars,
        # The ci package escapes every value: a model name cannot inject Markdown.
        summary=summary,
        dotenv=args.dotenv,
        environ=os.environ,
    )


def app_variable(stem: str, app: str) -> str:
    """(``MLFLOW_GITVER_MODEL_ID``, ``support-agent``) -> ``..._MODEL_ID_SUPPORT_AGENT``."""
    from mlflow_gitver.config_apps import variable_suffix

    return f"{stem}_{variable_suffix(app)}"


def run(args: Args) -> int:
    done = registrations(args, one=args.fmt == "env")  # `env` exports one version
    if done is None:
        return 0
    regs, target = done
    if args.fmt == "json":
        items = [{"app": app, **reg.as_json()} if app else reg.as_json() for app, reg in regs]
        print(json.dumps(items[0] if len(items) == 1 else items, indent=2))
    elif args.fmt == "env":
        print("\n".join(env_lines(regs[0][1], target.uri)))
    else:
        blocks = []
        for app, reg in regs:
            head = [f"app:        {app}"] if app and len(regs) > 1 else []
            blocks.append("\n".join(head + text_lines(reg)))
        print("\n\n".join(blocks))
    return 0


def registered(args: Args) -> tuple[Registered, tracking.Target] | None:
    """The one version ``env`` and ``exec`` need (several apps need ``--app``)."""
    done = registrations(args, one=True)
    if done is None:
        return None
    regs, target = done
    return regs[0][1], target


def registrations(
    args: Args, *, one: bool = False
) -> tuple[list[tuple[str | None, Registered]], tracking.Target] | None:
    """Find or create each app's version (and export them to CI): (app name or None
    when unscoped, registration) each, and the tracking target; None after printing
    the plans of a dry run.  ``one``: refuse a config with several apps and no --app."""
    repo = open_repo(args.repo)
    ctx = ci.detect(args.ci, os.environ)
    pairs = app_states(repo, args.commit, args.config, args.app)
    if one and len(pairs) > 1:
        names = ", ".join(cfg.name for _state, cfg in pairs)
        raise GitverError(
            f"this config has {len(pairs)} apps ({names}); pass --app NAME to choose one",
            EXIT_USAGE,
        )
    scoped = len(pairs) > 1 or args.app is not None or any(s.scope for s, _c in pairs)
    # The one resolution of the tracking URI: registrations and exports share it.
    target = tracking.target(args.tracking_uri, os.environ, pairs[0][1].tracking_uri, repo.root)
    if args.dry_run:
        plans = []
        for state, cfg in pairs:
            opts = _options(ctx, state, target, args)
            plans.append((cfg.name if scoped else None, plan(repo, state, cfg, **opts)))
        _print_plans(plans, "json" if args.fmt == "json" else "text")
        return None
    from mlflow_gitver import mlflow_api

    mlflow_api.quiet()
    regs = []
    for state, cfg in pairs:
        reg = register_state(repo, state, cfg, **_options(ctx, state, target, args))
        regs.append((cfg.name if scoped else None, reg))
    _export(ctx, regs, args)
    return regs, target


def _options(ctx: ci.CiContext, state: GitState, target: tracking.Target, args: Args) -> Options:
    # CI checks out a detached HEAD; its variables know the branch.
    branch = ctx.branch if state.branch is None else None
    return Options(target=target, experiment=args.experiment, branch=branch, extra_tags=ctx.tags)
