"""Helpers shared by the CI providers: tags, names, value checks, file writes."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlflow_gitver.config import MAX_TAG_LEN
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError

TAG_PREFIX = "mlflow_gitver.ci."

# POSIX shell, GitHub, GitLab (letters, digits and '_') and CircleCI all accept this.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Step output ids: GitHub allows '-' (model-id).
OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

# Set to "false" (the action does, from its inputs) to skip a part of the export.
EXPORT_ENV_VAR = "MLFLOW_GITVER_EXPORT_ENV"
SUMMARY_VAR = "MLFLOW_GITVER_SUMMARY"


# user:password@ in a URL (greedy to the last '@' before the path: a password may hold
# one). Our own, not redact.scrub: that one also drops query strings and fragments,
# and "#/experiments/..." in a model URL or "?buildId=" in an Azure run URL is the point.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s]*@")


def strip_userinfo(text: str) -> str:
    """``text`` without ``user:password@`` in any URL inside it."""
    return _USERINFO.sub(r"\g<scheme>", text)


def get(environ: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to a non-empty value."""
    for n in names:
        v = environ.get(n)
        if v:
            return v
    return None


def enabled(environ: Mapping[str, str], var: str) -> bool:
    return environ.get(var, "").strip().lower() not in ("false", "0", "no", "off")


def make_tags(**values: str | None) -> dict[str, str]:
    """``mlflow_gitver.ci.<key>`` tags for the values that are set.

    CI variables are not ours: a URL with ``user:password@`` loses it, and a value is
    capped at MLflow's tag limit rather than failing the registration.
    """
    return {TAG_PREFIX + k: strip_userinfo(v)[:MAX_TAG_LEN] for k, v in values.items() if v}


def branch_of_ref(ref: str | None) -> str | None:
    """``refs/heads/x`` -> ``x``; anything else (tags, pull refs) is not a branch."""
    if ref and ref.startswith("refs/heads/") and len(ref) > len("refs/heads/"):
        return ref[len("refs/heads/") :]
    return None


def env_name_of_output(output: str) -> str:
    """``model-id`` -> ``MLFLOW_GITVER_MODEL_ID``: the variable name of an output."""
    return "MLFLOW_GITVER_" + output.upper().replace("-", "_")


def check_name(name: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.match(name):
        raise GitverError(
            f"invalid {what} name {name!r}: use letters, digits and '_' (a bug if it is ours)",
            EXIT_USAGE,
        )


def check_single_line(name: str, value: str, where: str) -> None:
    """Refuse CR/LF (and NUL): in a ``NAME=value`` line they would start a new variable."""
    for ch, label in (("\n", "a newline"), ("\r", "a carriage return"), ("\0", "a NUL byte")):
        if ch in value:
            raise GitverError(
                f"cannot write {name} to {where}: its value contains {label}, which would "
                f"end the line and could add a variable; remove it from the value's source "
                f"(config, name_template, branch name)",
                EXIT_USAGE,
            )


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file that is ours: all of it or nothing (a temp file, then rename)."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise GitverError(f"cannot write {path}: {e.strerror}; check the directory", 1) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise GitverError(f"cannot write {path}: {e.strerror}", EXIT_FAILURE) from e


def append(path: Path, data: str) -> None:
    """Append to a file the CI system owns (GitHub's and CircleCI's protocol), in one write."""
    try:
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(data)
    except OSError as e:
        raise GitverError(f"cannot append to {path}: {e.strerror}", EXIT_FAILURE) from e
