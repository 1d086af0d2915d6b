"""Our background ``mlflow_gitver flush`` processes: found in /proc, killed, waited for."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from testing.campaign.shell import Shell


class Processes(Shell):
    """The live mlflow-gitver processes working on the clone."""

    # -- our processes --------------------------------------------------------

    def our_processes(self, *, flush_only: bool = True) -> list[int]:
        """Live processes of mlflow-gitver working on this clone, read from /proc:
        by default the background flushes (``mlflow_gitver flush``)."""
        pids = []
        root = str(self.root).encode()
        for p in Path("/proc").iterdir():
            if not p.name.isdigit() or int(p.name) == os.getpid():
                continue
            try:
                argv = (p / "cmdline").read_bytes().split(b"\0")
                state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
                cwd = os.readlink(p / "cwd").encode()
            except OSError:
                continue
            if state == "Z":
                continue
            ours = any(b"mlflow_gitver" in a or b"mlflow-gitver" in a for a in argv)
            if not ours:
                continue
            if flush_only and b"flush" not in argv:
                continue
            if any(root in a for a in argv) or cwd == root or cwd.startswith(root + b"/"):
                pids.append(int(p.name))
        return pids

    def kill_ours(self, *, flush_only: bool = True) -> list[int]:
        killed = []
        for pid in self.our_processes(flush_only=flush_only):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        self.note(f"SIGKILL {killed}")
        return killed

    def settle(self, timeout: float = 240) -> None:
        """Wait until no background flush of this clone is running."""
        deadline = time.monotonic() + timeout
        while self.our_processes():
            if time.monotonic() > deadline:
                raise AssertionError(f"background flush still running after {timeout}s")
            time.sleep(0.2)
