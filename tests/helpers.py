"""Small helpers for tests: real git repositories and real CLI runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, input=input)
    return out.stdout.decode("utf-8", "surrogateescape")


def init_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    return path


def write(path: Path, content: str | bytes, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    if mode is not None:
        path.chmod(mode)
    return path


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


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
