"""The tests' no-network rule."""

from __future__ import annotations

import socket

import pytest


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
