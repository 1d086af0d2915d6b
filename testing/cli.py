"""Run the real CLI in a new process, as a user or a git hook would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from testing.source import ROOT

SRC = ROOT / "src"


def cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a new process (``python -m mlflow_gitver``)."""
    full_env = dict(os.environ if env is None else env)
    return subprocess.run(
        [sys.executable, "-m", "mlflow_gitver", *args],
        cwd=cwd,
        env=full_env,
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_without_root_powers(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI without the power to read or write what permissions forbid.

    Tests run as root, for whom chmod stops nothing: setpriv drops the two
    capabilities that bypass permissions, so the fault is real."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        return cli(*args, cwd=cwd, env=env)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop root's file-permission override")
    caps = "-dac_override,-dac_read_search"
    drop = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
    return subprocess.run(
        [*drop, sys.executable, "-m", "mlflow_gitver", *args],
        cwd=cwd,
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def race(n: int, *args: str, cwd: Path) -> list[dict[str, Any]]:
    """``n`` real CLI processes started at once (``python -m mlflow_gitver ARGS``, which
    must print JSON); each must succeed.  Their JSON outputs, in start order."""
    import json

    cmd = [sys.executable, "-m", "mlflow_gitver", *args]
    procs = [
        subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(n)
    ]
    # Every process is waited for before any is judged: one left running would be
    # reported against whichever later test the garbage collector finds it in.
    done = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, done, strict=True):
        assert p.returncode == 0, err.decode()
    return [json.loads(out) for out, _err in done]
