"""The tests' no-network guard reaches our CLI in child processes (testing/childsite/)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from testing.cli import cli
from testing.network import blocked_in_children
from testing.repos import commit_all, write

GUARD = "test network guard (testing/childsite/sitecustomize.py) blocked"

# No packet leaves with AI_NUMERICHOST: the lookup of a numeric address is local.
LOOKUP = (
    "import socket\n"
    "try:\n"
    "    socket.getaddrinfo('192.0.2.1', 9, flags=socket.AI_NUMERICHOST)\n"
    "    print('allowed')\n"
    "except OSError as e:\n"
    "    print('refused', e)\n"
)


def test_the_cli_in_a_child_cannot_reach_a_non_loopback_server(
    repo: Path, network_log: Path
) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): without the guard this waits for a timeout.
    write(repo / ".mlflow-gitver.yaml", "name: app\nexperiment: guard\n")
    commit_all(repo, "config")
    started = time.monotonic()
    out = cli("register", "--tracking-uri", "http://192.0.2.1:5000", cwd=repo, timeout=120)
    elapsed = time.monotonic() - started
    assert out.returncode != 0
    assert GUARD in out.stderr and "192.0.2.1" in out.stderr
    assert "cannot reach the MLflow tracking server at http://192.0.2.1:5000" in out.stderr
    assert elapsed < 30, elapsed  # refused at once: our retries give up after ~2 s
    blocked = blocked_in_children(network_log)  # read (and cleared) so this test passes
    assert blocked and all("192.0.2.1" in line for line in blocked), blocked
    assert "mlflow_gitver" in blocked[0]  # the line names the process that tried


def test_loopback_stays_open_to_children(network_log: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=10).close()\n"
            f"socket.create_connection(('localhost', {port}), timeout=10).close()\n"
            "print('ok')\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
    assert out.stdout == "ok\n", out.stderr
    assert blocked_in_children(network_log) == []


def test_installers_are_exempt(tmp_path: Path, network_log: Path) -> None:
    # pip, pre-commit, virtualenv and uv need the package index; judged by the
    # interpreter's command line, so a script named pip is one.
    pip = write(tmp_path / "bin" / "pip", LOOKUP)
    for argv, expected in (
        ([sys.executable, "-c", LOOKUP], "refused"),
        ([sys.executable, str(pip)], "allowed"),
        # virtualenv's seed-wheel update is a -c child that imports virtualenv.
        ([sys.executable, "-c", "from virtualenv import __version__\n" + LOOKUP], "allowed"),
        ([sys.executable, "-m", "pip", "--version"], "pip "),
    ):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert out.stdout.startswith(expected), (argv, out.stdout, out.stderr)
    assert len(blocked_in_children(network_log)) == 1  # the -c child only
