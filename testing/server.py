"""Real servers on 127.0.0.1 for tests: ``mlflow server``, and one that answers a fixed status."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env() -> dict[str, str]:
    """The environment of a server the tests start: none of our MLflow settings, no
    coverage measurement (it runs none of our code; measuring only slows it), and
    no job runner: MLflow's server starts one and seven huey consumers for its
    asynchronous jobs, which nothing of ours uses, at every (re)start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "COVERAGE_"))}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


@dataclass
class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 that tests may stop and start again."""

    root: Path
    port: int
    backend_uri: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> None:
        cmd = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.root / "artifacts"),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            # Its own session, so stop() can end uvicorn's workers and the job runner too.
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=server_env(), stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-3000:]}")
            if self.healthy():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout}s: {self.log}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        # Wait until the port is free, so start() can bind it again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.healthy():
            time.sleep(0.1)
        self.proc = None


class StatusServer:
    """A real HTTP server on 127.0.0.1 that answers every request with one status.

    For failures a real MLflow server cannot be made to produce on demand (401,
    503); it counts the requests it got.
    """

    def __init__(self, status: int, body: bytes = b"no") -> None:
        import http.server
        import threading

        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests += 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StatusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
