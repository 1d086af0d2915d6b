"""Processes paused at a point of ours (``MLFLOW_GITVER_FAULT=pause:POINT:DIR``,
registry.py): two FIFOs, no sleep and no polling on either side."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest


def meet(fifo: Path, mode: str, proc: subprocess.Popen[bytes]) -> None:
    """Open ``fifo`` (it blocks until the paused child opens its end) and close it;
    fail, not hang, when the child never gets there."""
    done = threading.Event()

    def go() -> None:
        with open(fifo, mode) as f:
            if mode == "r":
                f.read()
        done.set()

    threading.Thread(target=go, daemon=True).start()
    if not done.wait(180):
        proc.kill()
        _out, err = proc.communicate()
        # Release our own thread by opening the other end.
        os.close(os.open(fifo, (os.O_WRONLY if mode == "r" else os.O_RDONLY) | os.O_NONBLOCK))
        pytest.fail(f"the child never reached its pause: {err.decode()[-2000:]}")


def start_paused(
    fifos: Path, point: str, cmd: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """``cmd`` started to pause at ``point``; returns once it is there.  ``fifos``
    (a new directory) holds the two FIFOs; :func:`resume` lets it go on."""
    fifos.mkdir()
    for name in ("reached", "resume"):
        os.mkfifo(fifos / name)
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env={**env, "MLFLOW_GITVER_FAULT": f"pause:{point}:{fifos}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    meet(fifos / "reached", "r", proc)
    return proc


def resume(proc: subprocess.Popen[bytes], fifos: Path) -> tuple[bytes, bytes]:
    """Let the paused ``proc`` go on; its output once it has exited."""
    meet(fifos / "resume", "w", proc)
    return proc.communicate(timeout=300)
