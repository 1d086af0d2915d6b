"""Child processes: run, spawn, exec, the env policy, --debug tracing (proc.py).

The detached spawn has tests/test_proc_detached.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver import proc
from mlflow_gitver.proc import child_env
from testing.repos import write


def test_the_flush_keeps_the_config_git_was_given_and_drops_the_repository_vars() -> None:
    hook_env = {
        "PATH": "/usr/bin",
        "GIT_CONFIG_PARAMETERS": "'remote.origin.url'='https://example.com/x.git'",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "GIT_CONFIG_GLOBAL": "/tmp/g",
        "GIT_INDEX_FILE": "/repo/.git/next-index.lock",
        "GIT_DIR": ".git",
        "GIT_PREFIX": "sub/",
    }
    env = child_env(hook_env, keep_repo_env=False)
    dropped = {"GIT_INDEX_FILE", "GIT_DIR", "GIT_PREFIX"}
    assert env == {k: v for k, v in hook_env.items() if k not in dropped}


def test_one_env_policy_for_git_and_for_the_detached_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """The detached flush gets the hook's environment under the same rule as a git
    call for a named repository: only per-command and repository-locating variables
    go (the flush used to keep an allowlist of GIT_* names, dropping e.g. the TLS and
    askpass settings a --sync run passes on)."""
    hook_env = {
        "PATH": "/usr/bin",
        "GIT_SSL_CAINFO": "/etc/ca.pem",
        "GIT_ASKPASS": "/usr/bin/askpass",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.abbrev",
        "GIT_CONFIG_VALUE_0": "12",
        "GIT_INDEX_FILE": "/repo/.git/next-index.lock",
        "GIT_OBJECT_DIRECTORY": "/elsewhere/objects",
        "GIT_TRACE": "1",
    }
    for k in list(os.environ):
        monkeypatch.delenv(k)
    for k, v in hook_env.items():
        monkeypatch.setenv(k, v)
    detached = child_env(os.environ, keep_repo_env=False)
    assert "GIT_SSL_CAINFO" in detached and "GIT_ASKPASS" in detached
    assert "GIT_INDEX_FILE" not in detached and "GIT_OBJECT_DIRECTORY" not in detached
    for_git = proc.git_env(keep_repo_env=False)
    assert for_git.pop("LC_ALL") == for_git.pop("LANGUAGE") == "C"
    assert {k: v for k, v in detached.items() if k != "GIT_TRACE"} == for_git
    kept = proc.git_env(keep_repo_env=True)
    assert kept["GIT_OBJECT_DIRECTORY"] == "/elsewhere/objects"
    assert "GIT_INDEX_FILE" not in kept


def test_run_captures_output_apart_and_reports_failures(tmp_path: Path) -> None:
    out = proc.run([sys.executable, "-c", "import sys; print('o'); print('e', file=sys.stderr)"])
    assert (out.returncode, out.stdout, out.stderr) == (0, b"o\n", b"e\n")
    with pytest.raises(proc.CommandError) as exc:
        proc.run(
            ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], env=proc.git_env(keep_repo_env=False)
        )
    assert exc.value.returncode == 128 and exc.value.exit_code == 1
    assert "not a git repository" in exc.value.message and "git -C" in exc.value.message
    assert proc.run(["false"], check=False).returncode == 1


def test_run_and_spawned_time_out_and_name_a_missing_program() -> None:
    with pytest.raises(proc.GitverError, match=r"timed out after 0s: sleep 5"):
        proc.run(["sleep", "5"], timeout=0.2)
    with pytest.raises(proc.GitverError, match=r"timed out after 0s: sleep 5"):
        proc.Spawned(["sleep", "5"], os.environ).wait(timeout=0.2)
    for start in (
        lambda: proc.run(["no-such-program-x"]),
        lambda: proc.Spawned(["no-such-program-x"], {}),
    ):
        with pytest.raises(proc.GitverError, match="no-such-program-x not found on PATH") as exc:
            start()
        assert exc.value.exit_code == 2
    done = proc.Spawned(["sh", "-c", "echo out; echo err >&2; exit 3"], os.environ).wait(
        check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")


def test_exec_replaces_the_process_and_keeps_its_exit_code(tmp_path: Path) -> None:
    code = (
        "import os, sys; from mlflow_gitver.proc import exec_replace; "
        "exec_replace(sys.argv[1:], os.environ)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "sh", "-c", "echo $$; exit 7"], capture_output=True
    )
    assert done.returncode == 7
    with pytest.raises(proc.GitverError, match="command not found") as exc:
        proc.exec_replace(["no-such-program-x"], os.environ)
    assert exc.value.exit_code == 127
    script = write(tmp_path / "not-executable.sh", "echo hi\n")
    with pytest.raises(proc.GitverError, match="chmod") as exc:
        proc.exec_replace([str(script)], os.environ)
    assert exc.value.exit_code == 126


def test_debug_traces_every_call_with_its_time_and_no_credential(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc.run(["git", "--version"])
    assert capsys.readouterr().err == ""  # off by default
    monkeypatch.setattr(proc, "_debug", [True])
    proc.run(["git", "--version"])
    proc.Spawned(["git", "--version"], os.environ).wait()
    url = "https://user:s3cr3t-token@127.0.0.1:9/x.git"
    proc.run(["git", "ls-remote", url], check=False, env=proc.git_env(keep_repo_env=False))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"mlflow-gitver: debug: exit 0 in \d+\.\d ms: git --version", lines[0])
    assert re.fullmatch(r"mlflow-gitver: debug: exit 0 in \d+\.\d ms: git --version", lines[1])
    assert "s3cr3t" not in lines[2] and "ls-remote https://127.0.0.1:9/x.git" in lines[2]
