"""The CI tests' helpers: read GitHub's files like the runner, run the CLI with a CI's variables."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from testing.cli import cli


def parse_github_file(text: str) -> dict[str, str]:
    """Parse ``$GITHUB_ENV``/``$GITHUB_OUTPUT`` the way the runner does (actions/runner
    ``SetEnvFileCommand``): ``NAME=value`` when '=' comes before any '<<', else a
    ``NAME<<DELIM`` block ending at a line equal to DELIM. Raises on a malformed file."""
    values: dict[str, str] = {}
    # Split on CR too: stricter than needed, so a stray CR cannot hide a variable from us.
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            name, value = line[:eq], line[eq + 1 :]
        elif hd >= 0:
            name, delim = line[:hd], line[hd + 2 :]
            body = []
            while True:
                if i >= len(lines):
                    raise AssertionError(f"no closing delimiter {delim!r}")
                nxt = lines[i]
                i += 1
                if nxt == delim:
                    break
                body.append(nxt)
            value = "\n".join(body)
        else:
            raise AssertionError(f"invalid line {line!r}")
        if not name:
            raise AssertionError(f"empty name in {line!r}")
        values[name] = value
    return values


def run_cli(
    repo: Path, server_url: str, ci_env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``mlflow-gitver register --tracking-uri URL ARGS`` in ``repo`` with ``ci_env`` set."""
    env = dict(os.environ)
    env.update(ci_env)
    return cli("register", "--tracking-uri", server_url, *args, cwd=repo, env=env)
