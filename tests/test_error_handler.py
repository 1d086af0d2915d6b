"""error_handler.py: one error line, --debug tracebacks, the crash log of a bug; real CLI runs."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver.error_handler import CRASH_LOG, PROG, tool_version
from testing.cli import cli
from testing.repos import write

ERROR_LINE = re.compile(r"mlflow-gitver: error: \S.*")

# Forces the crash: the one fault here not produced for real.  Every input we can
# give is a reported fault (a GitverError), so this sitecustomize makes the CLI's
# dispatch raise, and `id`'s own run (main.py calls it without the CLI for its
# usual arguments), in the real child process.  The message carries a
# credential: the handler must scrub it.
_CRASH = """\
import mlflow_gitver.cli as cli
import mlflow_gitver.commands.id as id_command
def crash(*args):
    raise RuntimeError("forced crash with https://bob:hunter2@example.test/x")
cli.dispatch = crash
id_command.run = crash
"""


@pytest.fixture
def crash_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI run that crashes, with its own temporary directory."""
    write(tmp_path / "inject" / "sitecustomize.py", _CRASH)
    (tmp_path / "tmp").mkdir()
    return {**os.environ, "PYTHONPATH": str(tmp_path / "inject"), "TMPDIR": str(tmp_path / "tmp")}


def test_a_user_error_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    out = cli("id", cwd=tmp_path)
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert ERROR_LINE.fullmatch(line) and "is not inside a git repository" in line
    assert out.stdout == ""


@pytest.mark.parametrize("how", ["--debug", "MLFLOW_GITVER_DEBUG=1"])
def test_debug_shows_the_traceback_of_a_user_error(tmp_path: Path, how: str) -> None:
    if how == "--debug":
        out = cli("--debug", "id", cwd=tmp_path)
    else:
        out = cli("id", cwd=tmp_path, env={**os.environ, "MLFLOW_GITVER_DEBUG": "1"})
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert "Traceback (most recent call last):" in lines
    assert any(line.startswith("mlflow_gitver.errors.GitverError") for line in lines), lines
    # The error line still comes last, as without --debug.
    assert ERROR_LINE.fullmatch(lines[-1]) and "is not inside a git repository" in lines[-1]


def test_a_bug_exits_3_with_one_line_naming_the_crash_log(
    repo: Path, crash_env: dict[str, str]
) -> None:
    out = cli("id", "--repo", str(repo), cwd=repo.parent, env=crash_env)
    assert out.returncode == 3
    (line,) = out.stderr.splitlines()  # no traceback without --debug
    log = repo / ".git" / "mlflow-gitver" / CRASH_LOG
    assert line == (
        f"{PROG}: error: unexpected RuntimeError: forced crash with https://example.test/x; "
        f"this is a bug in mlflow-gitver: report it with {log}"
    )
    assert stat.S_IMODE(log.stat().st_mode) == 0o600  # argv or traceback may hold secrets
    text = log.read_text()
    head = text.splitlines()
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    assert head[0] == f"{PROG} {tool_version()}"
    assert head[1] == git_version.strip()
    assert head[2].startswith(f"Python {'.'.join(map(str, sys.version_info[:3]))} (")
    assert head[3].startswith("platform: ")
    assert head[4].startswith("argv: ") and head[4].endswith(f" id --repo {repo}")
    assert "Traceback (most recent call last):" in text
    assert 'raise RuntimeError("forced crash with https://example.test/x")' in text
    assert "hunter2" not in text


def test_debug_shows_the_traceback_of_a_bug(repo: Path, crash_env: dict[str, str]) -> None:
    out = cli("--debug", "id", cwd=repo, env=crash_env)
    assert out.returncode == 3
    lines = out.stderr.splitlines()
    assert "Traceback (most recent call last):" in lines
    assert "RuntimeError: forced crash with https://example.test/x" in lines
    assert lines[-1].startswith(f"{PROG}: error: unexpected RuntimeError: ")
    assert "hunter2" not in out.stderr


def test_the_crash_log_scrubs_credentials_in_argv(repo: Path, crash_env: dict[str, str]) -> None:
    uri = "http://alice:s3cr3t@127.0.0.1:9"
    out = cli("resolve", "--tracking-uri", uri, cwd=repo, env=crash_env)
    assert out.returncode == 3
    text = (repo / ".git" / "mlflow-gitver" / CRASH_LOG).read_text()
    assert "s3cr3t" not in text and "alice" not in text
    assert "resolve --tracking-uri http://127.0.0.1:9" in text


def test_outside_a_repository_the_crash_log_goes_to_the_temporary_directory(
    tmp_path: Path, crash_env: dict[str, str]
) -> None:
    out = cli("id", cwd=tmp_path, env=crash_env)
    assert out.returncode == 3
    log = Path(crash_env["TMPDIR"]) / PROG / CRASH_LOG
    assert out.stderr.rstrip().endswith(f"report it with {log}")
    assert "RuntimeError" in log.read_text()


def test_ctrl_c_is_one_line_and_exit_130(repo: Path) -> None:
    # A server that accepts and never answers: doctor waits in its /health request,
    # where a real SIGINT reaches it.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(60)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        # A busy machine may hold this test back for seconds: the child's wait must
        # outlast that (doctor's timeout is MLflow's variable when set).
        env = {**os.environ, "MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}
        child = subprocess.Popen(
            [sys.executable, "-m", "mlflow_gitver", "doctor", "--tracking-uri", url],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(60)
            request = b""
            while b"\r\n\r\n" not in request:  # the request sent: the child waits
                request += conn.recv(4096) or b"\r\n\r\n"
            child.send_signal(signal.SIGINT)
            _out, err = child.communicate(timeout=30)
    assert child.returncode == 130, (err, _out)
    assert err.splitlines() == [f"{PROG}: interrupted"]


_WITHOUT = """
import sys
sys.modules[sys.argv[1]] = None  # Python's own way to make an import fail: no such module
from mlflow_gitver.main import main
sys.argv = ["mlflow-gitver", "register"]
raise SystemExit(main())
"""


@pytest.mark.parametrize(("module", "package"), [("alembic", "alembic"), ("yaml", "pyyaml")])
def test_a_dependency_missing_from_the_environment_is_one_line_not_a_bug(
    repo: Path, module: str, package: str
) -> None:
    # A hook environment that lost a package (found by removing each one from a real
    # uv environment: the error read "a bug in mlflow-gitver").  Here the import is
    # refused through sys.modules: the shared test environment cannot lose a package.
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT, module], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"the package {package} that mlflow-gitver needs is not installed" in proc.stderr
    assert "bug" not in proc.stderr and not (repo / ".git" / "mlflow-gitver" / CRASH_LOG).exists()
