"""stored.py: a dirty version's patch and manifest as the real server returns them,
and how the manifest's ``not_exact`` list is read."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from mlflow_gitver import stored
from testing.cli import cli
from testing.repos import commit_all, write


def test_not_exact_reads_the_manifest_and_ignores_what_is_not_a_row() -> None:
    s = stored.Stored(
        b"",
        {
            "not_exact": [
                {"path": "a.py", "restore": "markers"},
                {"path": "b.bin", "restore": "excluded"},
                "junk",
            ]
        },
    )
    assert s.not_exact() == [("a.py", "markers"), ("b.bin", "excluded")]
    assert s.excluded() == ["b.bin"]
    assert stored.Stored(None, {}).not_exact() == []


@pytest.mark.server
def test_read_returns_what_registration_stored(repo: Path, server_url: str) -> None:
    exp = f"stored-{uuid.uuid4().hex[:8]}"
    write(repo / ".mlflow-gitver.yaml", f"name: s\nexperiment: {exp}\ntracking_uri: {server_url}\n")
    commit_all(repo, "config")
    clean = cli("register", "--format", "json", cwd=repo)
    assert clean.returncode == 0, clean.stderr
    got = stored.read(json.loads(clean.stdout)["model_id"], server_url)
    assert got.patch is None and got.manifest == {}
    write(repo / "app.py", "print('wip')\n")
    dirty = cli("register", "--format", "json", cwd=repo)
    assert dirty.returncode == 0, dirty.stderr
    info = json.loads(dirty.stdout)
    got = stored.read(info["model_id"], server_url)
    assert got.patch is not None and b"+print('wip')" in got.patch
    assert got.manifest["version_id"] == info["version_id"] and got.not_exact() == []
    only = stored.read(info["model_id"], server_url, manifest=False)
    assert only.patch == got.patch and only.manifest == {}
