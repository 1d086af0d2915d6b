"""The hooks' registration of a scoped config: only the apps a commit changed, each once.

Real repositories, a real ``mlflow server``; the server that is down is a closed port.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.queue.flusher import PENDING, REGISTERED, Flusher
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store
from testing.cli import cli
from testing.hooks import versions
from testing.monorepo import write_monorepo
from testing.repos import commit_all, git, write
from testing.server import free_port


def _mono(repo: Path, uri: str) -> str:
    experiment = write_monorepo(repo, uri)
    commit_all(repo, "monorepo")
    return experiment


def _flush(repo: Path, commit: str) -> tuple[Store, object]:
    r = gitmod.discover(repo)
    s = Store(r.common_dir)
    s.add(new_record(r, commit, "post-commit", {}))
    [entry] = [e for e in s.list_pending() if e.record.commit == commit]
    return s, Flusher(r, s).one(entry)


def _apps_of(server_url: str, experiment: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for models in versions(server_url, experiment).values():
        for m in models:
            app = m.tags["mlflow_gitver.app"]  # type: ignore[attr-defined]
            out[app] = out.get(app, 0) + 1
    return out


@pytest.mark.server
def test_a_commit_registers_only_the_apps_it_changed(repo: Path, server_url: str) -> None:
    experiment = _mono(repo, server_url)
    _s, first = _flush(repo, git(repo, "rev-parse", "HEAD").strip())
    assert first.status == REGISTERED  # type: ignore[attr-defined]
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 1, "billing": 1}

    write(repo / "apps/triage/agent.py", "triage = 2\n")
    _s, one = _flush(repo, commit_all(repo, "triage only"))
    assert one.status == REGISTERED  # type: ignore[attr-defined]
    assert one.message.startswith("triage-git-")  # type: ignore[attr-defined]
    assert "unchanged: support, billing" in one.message  # type: ignore[attr-defined]
    assert one.registered is not None  # type: ignore[attr-defined]
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 2, "billing": 1}

    write(repo / "README.md", "docs only\n")
    s, none = _flush(repo, commit_all(repo, "docs only"))
    assert none.status == REGISTERED  # type: ignore[attr-defined]
    assert none.message.startswith("no app's paths changed")  # type: ignore[attr-defined]
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 2, "billing": 1}

    write(repo / "libs/common.py", "shared 2\n")
    _s, lib = _flush(repo, commit_all(repo, "the library"))
    assert lib.status == REGISTERED  # type: ignore[attr-defined]
    assert _apps_of(server_url, experiment) == {"support": 2, "triage": 3, "billing": 1}
    assert s.list_pending() == [] and s.list_failed() == []


def test_a_server_that_is_down_keeps_the_record_and_status_names_the_apps(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    _mono(repo, f"http://127.0.0.1:{free_port()}")
    s, out = _flush(repo, git(repo, "rev-parse", "HEAD").strip())
    assert out.status == PENDING  # type: ignore[attr-defined]
    assert out.message.startswith("support: ")  # type: ignore[attr-defined]
    [entry] = s.list_pending()
    assert entry.state.attempts == 1 and entry.state.apps_done == ()
    status = cli("status", "--format", "json", cwd=repo)
    assert status.returncode == 1
    [row] = json.loads(status.stdout)["pending"]
    assert row["apps_registered"] == [] and "support" in row["last_error"]


@pytest.mark.server
def test_a_retry_registers_only_the_apps_not_done(
    repo: Path, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One app's experiment is deleted (MLflow refuses it, for real); the others
    register, the record stays pending naming that app, status says which were
    done, and once the experiment is restored the retry registers that app alone."""
    from mlflow import MlflowClient

    experiment = _mono(repo, server_url)
    gone = f"deleted-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(server_url)
    gone_id = client.create_experiment(gone)
    client.delete_experiment(gone_id)
    text = (repo / ".mlflow-gitver.yaml").read_text()
    text = text.replace(
        "    paths: [apps/billing]\n", f"    paths: [apps/billing]\n    experiment: {gone}\n"
    )
    write(repo / ".mlflow-gitver.yaml", text)
    s, out = _flush(repo, commit_all(repo, "billing in a deleted experiment"))
    # Not known to be permanent (it can be restored): kept pending, retried.
    assert out.status == PENDING, out  # type: ignore[attr-defined]
    assert out.message.startswith("billing: ")  # type: ignore[attr-defined]
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 1}
    [entry] = s.list_pending()
    assert entry.state.apps_done == ("support", "triage")
    again = Flusher(gitmod.discover(repo), s).one(entry)
    assert again.apps is not None and again.apps.earlier == ["support", "triage"]
    assert again.apps.registered == [] and again.status == PENDING
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 1}
    shown = cli("status", cwd=repo)
    assert "registered: support, triage; last error: billing: " in shown.stdout
    client.restore_experiment(gone_id)  # the fix: now billing registers, alone
    [entry] = s.list_pending()
    last = Flusher(gitmod.discover(repo), s).one(entry)
    assert last.status == REGISTERED and "registered before: support, triage" in last.message
    assert last.apps is not None and [n for n, _r in last.apps.registered] == ["billing"]
    assert s.list_pending() == []


@pytest.mark.server
@pytest.mark.parametrize("nth", [1, 2, 3])
def test_a_flush_killed_after_creating_an_app_model_is_completed_not_duplicated(
    repo: Path, server_url: str, nth: int
) -> None:
    """The flusher SIGKILLs itself right after creating the nth app's model (before
    its artifact, tags check and READY, and before apps_done names it).  The next
    flush completes that model and registers the rest: one READY model per app."""
    import os

    experiment = _mono(repo, server_url)
    r = gitmod.discover(repo)
    s = Store(r.common_dir)
    s.add(new_record(r, git(repo, "rev-parse", "HEAD").strip(), "post-commit", {}))
    killed = cli(
        "flush", cwd=repo, env={**os.environ, "MLFLOW_GITVER_FAULT": f"after-create:{nth}"}
    )
    assert killed.returncode == -9, killed.stderr
    [entry] = s.list_pending()
    assert len(entry.state.apps_done) == nth - 1
    assert sum(_apps_of(server_url, experiment).values()) == nth  # the nth is PENDING
    healed = cli("flush", cwd=repo)
    assert healed.returncode == 0, healed.stderr
    assert s.list_pending() == [] and s.list_failed() == []
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 1, "billing": 1}
    for models in versions(server_url, experiment).values():
        assert [str(m.status) for m in models] == ["READY"]  # type: ignore[attr-defined]


@pytest.mark.server
def test_a_full_disk_while_noting_the_apps_done_loses_nothing(repo: Path, server_url: str) -> None:
    """A real file-size limit (0 bytes) in the flush: nothing it writes can grow,
    so neither the missed commits nor the apps done are noted; the record on disk
    still registers, each app once."""
    import os
    import resource
    import subprocess
    import sys

    experiment = _mono(repo, server_url)
    r = gitmod.discover(repo)
    s = Store(r.common_dir)
    s.add(new_record(r, git(repo, "rev-parse", "HEAD").strip(), "post-commit", {}))

    def no_growth() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    proc = subprocess.run(
        [sys.executable, "-m", "mlflow_gitver", "flush", "--repo", str(repo)],
        env={**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=no_growth,
    )
    assert "bug" not in proc.stderr, proc.stderr
    assert _apps_of(server_url, experiment) == {"support": 1, "triage": 1, "billing": 1}
    assert s.list_pending() == [] and s.list_failed() == []
    # What it could not do is said in one line, and the exit code says so too.
    assert proc.returncode == 1, proc.stderr
    # Ours only: under coverage, the child's coverage cannot write its data file either.
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("mlflow-gitver")]
    assert "cannot record the commits the hooks missed" in line and "ulimit -f" in line
    assert "registered" in proc.stdout
