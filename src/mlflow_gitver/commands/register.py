"""Placeholder: being written in this session (see issues)."""

from __future__ import annotations

import argparse

from mlflow_gitver.errors import EXIT_FAILURE, GitverError


def run(args: argparse.Namespace) -> int:
    raise GitverError(f"'{args.command}' is not implemented yet", EXIT_FAILURE)
