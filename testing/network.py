"""The tests' no-network rule: in the test process, and in every Python child it starts."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

CHILD_SITE = Path(__file__).resolve().parent / "childsite"
CHILD_VAR = "MLFLOW_GITVER_TEST_NO_NETWORK"


def _loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


def guard_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any in-process connection that is not to the loopback interface."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
            if not _loopback(str(address[0])):
                raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def guard_children(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Every Python child started from now on loads childsite/sitecustomize.py, which
    refuses non-loopback connections and name lookups and records them in ``log``.

    Through the environment, so it reaches our CLI however a test starts it (directly,
    through git's hooks, through pre-commit, detached).  A test that sets PYTHONPATH
    itself replaces this for its children."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(CHILD_SITE), path) if p))
    monkeypatch.setenv(CHILD_VAR, str(log))


def blocked_in_children(log: Path) -> list[str]:
    """What the children were refused (and so tried), one line each; the log is emptied."""
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return []
    log.unlink()
    return lines
