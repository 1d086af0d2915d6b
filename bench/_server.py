"""A real ``mlflow server`` on 127.0.0.1 for the benchmarks (tests have their own
fixture, testing/server.py): started in its own session, so stopping it ends
uvicorn's workers and the job runner too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    root: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server with a SQLite store under ``root``; return it and its URL once healthy."""
    try:
        import flask  # noqa: F401  (mlflow-skinny, what `pip install .` brings, has no server)
    except ImportError:
        raise SystemExit(
            "this benchmark starts an `mlflow server`: install the full package first"
            f" ({sys.executable} -m pip install mlflow)"
        ) from None
    root.mkdir(parents=True, exist_ok=True)
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with open(root / "server.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.25)
    stop_server(proc)
    raise SystemExit(f"mlflow server did not start: see {root / 'server.log'}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
