"""The dotenv file: GitLab's ``artifacts:reports:dotenv`` rules, also safe to ``source``.

GitLab's parser (``Ci::ParseDotenvArtifactService``) takes each line as ``KEY=VALUE``:
the file must be smaller than 5 KB, hold at most 20 variables (the lowest plan limit),
keys only ASCII letters, digits and '_', no empty lines or comments, no multi-line
values, and quotes are kept as part of the value (so we never quote); leading and
trailing white space is stripped. Jenkins users read the same file with
``readProperties`` (where '\\' is an escape) or ``source`` it in a shell. So a value is
written only when those three readers all see exactly it: no white space, no control
character, nothing a shell would expand or treat as syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mlflow_gitver.ci.common import ENV_NAME, check_name, check_single_line
from mlflow_gitver.errors import EXIT_USAGE, GitverError

DEFAULT_PATH = Path("mlflow-gitver.env")
MAX_BYTES = 5 * 1024  # GitLab: "must be smaller than" this
MAX_VARIABLES = 20

# Shell syntax and expansion ($, `, quotes, \, ;, &, |, <, >, (, ), ~) and white space.
_UNSAFE = re.compile(r"[\s$`\"'\\;&|<>()~\x00-\x1f\x7f]")


def render(values: Mapping[str, str], path: Path) -> bytes:
    """The file's bytes; raises GitverError (writing nothing) if a value cannot be written."""
    if len(values) > MAX_VARIABLES:
        raise GitverError(
            f"{path}: {len(values)} variables, GitLab accepts at most {MAX_VARIABLES}",
            EXIT_USAGE,
        )
    lines = []
    for name, value in values.items():
        check_name(name, ENV_NAME, "dotenv variable")
        check_single_line(name, value, str(path))
        bad = _UNSAFE.search(value)
        if bad:
            raise GitverError(
                f"cannot write {name} to {path}: its value contains {bad.group()!r}, which "
                f"GitLab keeps verbatim but a shell sourcing the file would interpret; remove "
                f"it from the value's source (config name, name_template, branch name)",
                EXIT_USAGE,
            )
        lines.append(f"{name}={value}\n")
    data = "".join(lines).encode("utf-8")
    if len(data) >= MAX_BYTES:
        raise GitverError(
            f"{path}: {len(data)} bytes, GitLab accepts less than {MAX_BYTES}; "
            f"shorten the model name (name_template)",
            EXIT_USAGE,
        )
    return data
