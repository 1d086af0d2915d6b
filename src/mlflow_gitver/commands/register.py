"""``register``, ``env`` and ``exec``: find or create the version's LoggedModel."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import Mapping

from mlflow_gitver import ci
from mlflow_gitver.context import load_commit_config, load_worktree_config, open_repo
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import print_warnings, state_at_commit, state_of
from mlflow_gitver.redact import redact_url
from mlflow_gitver.service import Plan, Registered, plan, register_state
from mlflow_gitver.tracking import resolve_uri

# What a POSIX shell exits with for a command it cannot find, or cannot run.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def quiet_mlflow() -> None:
    """MLflow logs INFO lines (database migrations, ...) on stderr: not ours to show."""
    import mlflow  # noqa: F401  (it sets its loggers' level when imported: set ours after)

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


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
        print(f"{title}:" if items else f"{title}: (none)")
        for k, v in sorted(items.items()):
            shown = v if len(v) <= 120 else v[:117] + "..."
            print(f"  {k} = {shown}".replace("\n", "\\n"))
    if p.patch is not None:
        print(f"patch artifact: {len(p.patch.data)} bytes, {len(p.patch.included)} file(s)")
        for o in p.patch.omitted:
            print(f"  omitted ({o.reason}): {o.path}" + (f" sha256:{o.sha256}" if o.sha256 else ""))
        for r in p.patch.redactions:
            print(
                f"  redacted ({r.kind}): {r.path}:{r.line}" + (" (HEAD)" if r.side == "old" else "")
            )


def _export(ctx: ci.CiContext, reg: Registered, args: argparse.Namespace) -> None:
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


def _command(args: argparse.Namespace) -> list[str]:
    cmd = list(args.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise GitverError("exec needs a command: mlflow-gitver exec [options] -- CMD [ARGS...]")
    return cmd


def run(args: argparse.Namespace) -> int:
    command = args.command
    fmt = "env" if command == "env" else getattr(args, "format", "text")
    cmd = _command(args) if command == "exec" else None
    repo = open_repo(args.repo)
    ctx = ci.detect(args.ci, os.environ)
    if args.commit is not None:
        state = state_at_commit(repo, args.commit)
        cfg = load_commit_config(repo, state.commit, args.config)
    else:
        cfg = load_worktree_config(repo, args.config)
        state = state_of(repo, untracked=cfg.untracked)
        print_warnings(state)
    # CI checks out a detached HEAD; its variables know the branch.
    branch = ctx.branch if state.branch is None else None
    if args.dry_run:
        p = plan(
            repo,
            state,
            cfg,
            tracking_uri=args.tracking_uri,
            experiment=args.experiment,
            branch=branch,
            extra_tags=ctx.tags,
        )
        _print_plan(p, "json" if fmt == "json" else "text")
        return 0
    quiet_mlflow()
    reg = register_state(
        repo,
        state,
        cfg,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        branch=branch,
        extra_tags=ctx.tags,
    )
    uri = resolve_uri(args.tracking_uri, os.environ, cfg.tracking_uri, repo.root)
    _export(ctx, reg, args)
    if cmd is not None:
        return _exec(cmd, reg, uri)
    if fmt == "json":
        print(json.dumps(reg.as_json(), indent=2))
    elif fmt == "env":
        print("\n".join(env_lines(reg, uri)))
    else:
        print("\n".join(text_lines(reg)))
    return 0


def child_env(reg: Registered, uri: str, base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env["MLFLOW_ACTIVE_MODEL_ID"] = reg.model_id
    env["MLFLOW_TRACKING_URI"] = uri
    env["MLFLOW_EXPERIMENT_ID"] = reg.experiment_id
    env.pop("MLFLOW_EXPERIMENT_NAME", None)  # it would contradict the id
    return env


def _exec(cmd: list[str], reg: Registered, uri: str) -> int:
    print(f"mlflow-gitver: {reg.model_name} ({reg.model_id})", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # Replace this process: CMD gets our PID, signals and exit code unchanged.
        os.execvpe(cmd[0], cmd, child_env(reg, uri, os.environ))
    except FileNotFoundError as e:
        raise GitverError(
            f"cannot run {cmd[0]!r}: command not found; check its name and PATH",
            EXIT_NOT_FOUND,
        ) from e
    except OSError as e:
        raise GitverError(
            f"cannot run {cmd[0]!r}: {e.strerror}; check that it is an executable file "
            "(chmod +x) or name its interpreter",
            EXIT_NOT_EXECUTABLE,
        ) from e
    raise AssertionError("unreachable")  # pragma: no cover
