"""``mlflow-gitver flush``: registers what the hooks recorded, on the session's MLflow server."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.main import main
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store, claim
from testing.hooks import config_text, versions
from testing.repos import commit_all, write
from testing.server import free_port


def _store(root: Path) -> Store:
    return Store(root / ".git")


def _record(root: Path, commit: str, environ: dict[str, str] | None = None) -> None:
    repo = gitmod.discover(root)
    _store(root).add(new_record(repo, commit, "test", environ or {}))


def _setup(repo: Path, server_url: str) -> str:
    experiment = f"flush-{uuid.uuid4().hex[:12]}"
    write(repo / ".mlflow-gitver.yaml", config_text(server_url, experiment))
    return experiment


@pytest.mark.server
def test_flush_registers_and_status_shows_what_is_left(
    repo: Path,
    server_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    experiment = _setup(repo, server_url)
    good = [commit_all(repo, "one"), commit_all(repo, "two")]
    for c in good:
        _record(repo, c)
    # One recorded with a server that is not there (a closed local port).
    write(repo / "x.txt", "x\n")
    away = commit_all(repo, "three")
    closed = f"http://127.0.0.1:{free_port()}"
    _record(repo, away, {"MLFLOW_TRACKING_URI": closed})

    assert main(["status", "--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "pending: 3" in out and "0 attempt(s)" in out

    assert main(["flush", "--repo", str(repo)]) == 1
    captured = capsys.readouterr()
    assert captured.out.count(" registered: app-git-") == 2
    assert f"{away[:12]} pending:" in captured.err and "127.0.0.1" in captured.err

    found = versions(server_url, experiment)
    assert sorted(found) == sorted(good)
    [m] = found[good[0]]
    assert m.params == {"llm": "gpt-4o-mini", "retrieval.k": "5"}  # type: ignore[attr-defined]

    assert main(["status", "--repo", str(repo), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [p["commit"] for p in data["pending"]] == [away]
    assert data["pending"][0]["attempts"] == 1
    assert closed.split("//")[1] in data["pending"][0]["last_error"]
    assert data["failed"] == []


@pytest.mark.server
def test_an_invalid_config_fails_alone(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = _setup(repo, server_url)
    first = commit_all(repo, "ok")
    good_text = (repo / ".mlflow-gitver.yaml").read_text()
    write(repo / ".mlflow-gitver.yaml", good_text + "temperature: 0.7\n")
    bad = commit_all(repo, "bad")
    write(repo / ".mlflow-gitver.yaml", good_text)
    last = commit_all(repo, "fixed")
    for c in (first, bad, last):
        _record(repo, c)
    assert main(["flush", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert f"{bad[:12]}:.mlflow-gitver.yaml:8:1: unknown key 'temperature'" in err
    assert sorted(versions(server_url, experiment)) == sorted([first, last])
    assert main(["status", "--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "failed: 1" in out and "unknown key 'temperature'" in out and "pending" not in out
    # Retrying cannot help a commit's config: it fails again, and is kept.
    assert main(["flush", "--repo", str(repo), "--retry-failed"]) == 1
    assert len(_store(repo).list_failed()) == 1


@pytest.mark.server
def test_two_flushes_at_once_register_each_version_once(repo: Path, server_url: str) -> None:
    experiment = _setup(repo, server_url)
    commits = []
    for i in range(8):
        write(repo / f"f{i}.txt", f"{i}\n")
        commits.append(commit_all(repo, f"c{i}"))
        _record(repo, commits[-1])
    cmd = [sys.executable, "-m", "mlflow_gitver", "flush", "--repo", str(repo)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
        for _ in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    found = versions(server_url, experiment)
    assert sorted(found) == sorted(commits)
    assert all(len(models) == 1 for models in found.values())
    assert _store(repo).list_pending() == []


# --- torn records, busy records, failures that can be cleared -----------------------


@pytest.mark.server
def test_a_torn_record_is_named_by_status_and_skipped_by_flush(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = _setup(repo, server_url)
    good = commit_all(repo, "good")
    _record(repo, good)
    torn = commit_all(repo, "torn")
    _record(repo, torn)
    path = _store(repo).pending / f"{torn}.json"
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])  # cut, as a crash before fsync leaves it
    assert main(["status", "--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert f"problem: {path} cannot be read" in out and f"commit {torn[:12]}" in out
    assert "every recorded version" not in out
    assert main(["flush", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert f"skipped: {path} cannot be read" in err and "1 of 2 not registered" in err
    assert sorted(versions(server_url, experiment)) == [good]  # the others went on


def test_flush_counts_records_busy_in_another_process(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    write(repo / ".mlflow-gitver.yaml", config_text(f"http://127.0.0.1:{free_port()}", "e"))
    commits = [commit_all(repo, f"c{i}") for i in range(4)]
    for c in commits:
        _record(repo, c)
    s = _store(repo)
    entries = {e.record.commit: e for e in s.list_pending()}
    with contextlib.ExitStack() as stack:
        # flock on their own descriptors: a flush sees them held, as by another process.
        for c in commits[1:]:
            assert stack.enter_context(claim(entries[c].path, wait=0)) is not None
        assert main(["flush", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "1 of 4 not registered, 3 being registered by another process" in err


@pytest.mark.server
def test_a_record_file_of_an_earlier_release_still_flushes(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the release before issue 12 wrote it (no config_in_commit, the retired
    tracking_uri and experiment keys), and a key from some later release."""
    experiment = _setup(repo, server_url)
    commit = commit_all(repo, "old record")
    old = {
        "branch": "main",
        "commit": commit,
        "config_path": ".mlflow-gitver.yaml",
        "config_text": (repo / ".mlflow-gitver.yaml").read_text(),
        "created": 1.5,
        "experiment": None,
        "source": "post-commit",
        "target_env": {"MLFLOW_TRACKING_URI": None},
        "tracking_uri": None,
        "version": 1,
        "from_the_future": [1, 2],
    }
    s = _store(repo)
    s.ensure()
    (s.pending / f"{commit}.json").write_text(json.dumps(old, indent=1, sort_keys=True))
    assert main(["flush", "--repo", str(repo)]) == 0, capsys.readouterr().err
    assert list(versions(server_url, experiment)) == [commit]
    assert s.list_pending() == []
