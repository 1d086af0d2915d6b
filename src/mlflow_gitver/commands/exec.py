"""``mlflow-gitver exec -- CMD``: register the version, then become CMD with it in its env."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from mlflow_gitver import proc
from mlflow_gitver.commands import register
from mlflow_gitver.errors import GitverError
from mlflow_gitver.versions import Registered


@dataclass(frozen=True)
class Args:
    register: register.Args  # register's options
    cmd: tuple[str, ...]


def args_of(ns: argparse.Namespace) -> Args:
    cmd = list(ns.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    return Args(register=register.args_of(ns), cmd=tuple(cmd))


def version_env(reg: Registered, uri: str, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the version, its experiment and its tracking URI set for MLflow."""
    env = dict(base)
    env["MLFLOW_ACTIVE_MODEL_ID"] = reg.model_id
    env["MLFLOW_TRACKING_URI"] = uri
    env["MLFLOW_EXPERIMENT_ID"] = reg.experiment_id
    env.pop("MLFLOW_EXPERIMENT_NAME", None)  # it would contradict the id
    return env


def run(args: Args) -> int:
    if not args.cmd:
        raise GitverError("exec needs a command: mlflow-gitver exec [options] -- CMD [ARGS...]")
    done = register.registered(args.register)
    if done is None:  # a dry run: the plan is printed, nothing runs
        return 0
    reg, target = done
    print(f"mlflow-gitver: {reg.model_name} ({reg.model_id})", file=sys.stderr)
    # Replace this process: CMD gets our pid, signals and exit code unchanged.
    proc.exec_replace(args.cmd, version_env(reg, target.uri, os.environ))
