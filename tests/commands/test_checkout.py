"""``mlflow-gitver checkout``: a version's exact code in a new worktree, on the real
server, over the identity corpus (every kind of change testing/gitstates.py makes),
and what it says and leaves when it cannot be exact."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from testing.cli import cli
from testing.gitstates import mutate, vid
from testing.repos import clone, commit_all, git, init_repo, write
from testing.server import free_port

pytestmark = pytest.mark.server


def _configure(root: Path, url: str, extra: str = "") -> None:
    exp = f"co-{uuid.uuid4().hex[:8]}"
    write(
        root / ".mlflow-gitver.yaml", f"name: shop\nexperiment: {exp}\ntracking_uri: {url}\n{extra}"
    )
    commit_all(root, "config")


def _register(root: Path, *args: str) -> dict[str, Any]:
    out = cli("register", "--format", "json", *args, cwd=root)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _checkout(root: Path, version: str, dest: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = cli("checkout", version, "--dir", str(dest), "--format", "json", *args, cwd=root)
    data = json.loads(out.stdout) if out.stdout.strip() else {}
    return out.returncode, data, out.stderr


def _round_trip(root: Path, tmp_path: Path, version: dict[str, Any]) -> Path:
    dest = tmp_path / f"restored-{uuid.uuid4().hex[:6]}"
    code, out, err = _checkout(root, version["model_id"], dest)
    assert code == 0, err
    assert out["exact"] is True and out["recomputed_id"] == version["version_id"]
    # What the user runs there agrees: the real CLI, in the new tree.
    there = cli("id", "--repo", str(dest))
    assert there.returncode == 0 and there.stdout.strip() == version["version_id"], there.stderr
    return dest


def test_every_kind_of_change_round_trips(base: Path, tmp_path: Path, server_url: str) -> None:
    _configure(base, server_url)
    mutate(base)  # modify, delete, exec bit, binary, symlink, unicode and odd names
    write(base / "renamed.py", (base / "app.py").read_bytes())
    version = _register(base)
    assert version["dirty"] is True
    dest = _round_trip(base, tmp_path, version)
    assert os.readlink(dest / "link") == "run.sh"
    assert not os.access(dest / "run.sh", os.X_OK)
    assert (dest / "data.bin").read_bytes() == bytes(range(255, -1, -1))
    assert (dest / "new dir" / "ünïcödé 'q' \"dq\".py").read_text() == "x = 'new'\n"
    assert (dest / "latin1.txt").read_bytes() == b"caf\xe9\n"
    assert not (dest / "pkg" / "mod.py").exists()
    # The user's own tree is untouched by it.
    assert vid(base) == version["version_id"]


def test_a_staged_rename_and_a_new_exec_file_round_trip(
    repo: Path, tmp_path: Path, server_url: str
) -> None:
    _configure(repo, server_url)
    git(repo, "mv", "app.py", "main.py")
    write(repo / "tool.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    git(repo, "add", "-N", "tool.sh")  # intent-to-add
    version = _register(repo)
    dest = _round_trip(repo, tmp_path, version)
    assert os.access(dest / "tool.sh", os.X_OK) and not (dest / "app.py").exists()


def test_a_clean_version_is_its_commit(repo: Path, tmp_path: Path, server_url: str) -> None:
    _configure(repo, server_url)
    version = _register(repo)
    assert version["dirty"] is False
    dest = _round_trip(repo, tmp_path, version)
    assert git(dest, "status", "--porcelain") == ""
    # A commit names the same version.
    code, out, err = _checkout(repo, "HEAD", tmp_path / "again")
    assert code == 0 and out["model_id"] == version["model_id"], err
    # git knows the worktree: it can remove it.
    git(repo, "worktree", "remove", str(dest))
    assert not dest.exists()


def test_unstored_files_are_named_and_the_tree_is_left(
    repo: Path, tmp_path: Path, server_url: str
) -> None:
    _configure(repo, server_url)
    write(repo / ".env", "API_KEY=hunter2hunter2\n")  # a secret-looking name: never stored
    write(repo / "big.bin", os.urandom(1024 * 1024 + 1))  # over 1 MB: listed only
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    write(repo / "app.py", f"TOKEN = '{token}'\n")  # redacted: restored with a marker
    version = _register(repo)
    dest = tmp_path / "partial"
    code, out, err = _checkout(repo, version["model_id"], dest)
    assert code == 1 and out["exact"] is False
    how = {r["path"]: r["restore"] for r in out["not_exact"]}
    assert how == {".env": "omitted", "big.bin": "omitted", "app.py": "markers"}
    assert ".env: not stored" not in err  # json went to stdout; text is the other test
    assert dest.is_dir() and token not in (dest / "app.py").read_text()
    assert not (dest / ".env").exists()
    text = cli("checkout", version["model_id"], "--dir", str(tmp_path / "t"), cwd=repo)
    assert text.returncode == 1
    assert ".env: not stored" in text.stderr and "app.py: credentials replaced" in text.stderr
    assert "left for inspection" in text.stderr


def test_diff_none_stores_nothing_to_restore(repo: Path, tmp_path: Path, server_url: str) -> None:
    _configure(repo, server_url, "diff: none\n")
    write(repo / "app.py", "print('wip')\n")
    version = _register(repo)
    code, out, _ = _checkout(repo, version["model_id"], tmp_path / "d")
    assert code == 1 and out["patch_applied"] is None and "diff: none" in out["why"]
    assert (tmp_path / "d" / "app.py").read_text() == "print('hello')\n"  # the commit's


def test_a_non_empty_directory_is_refused_and_left_alone(
    repo: Path, tmp_path: Path, server_url: str
) -> None:
    _configure(repo, server_url)
    version = _register(repo)
    dest = write(tmp_path / "mine" / "notes.txt", "keep me\n").parent
    code, _, err = _checkout(repo, version["model_id"], dest)
    assert code == 2 and "is not empty" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(dest) == ["notes.txt"]
    a_file = write(tmp_path / "file", "x")
    code, _, err = _checkout(repo, version["model_id"], a_file)
    assert code == 2 and "not a directory" in err and a_file.read_text() == "x"
    # An empty directory is fine.
    (tmp_path / "empty").mkdir()
    assert _checkout(repo, version["model_id"], tmp_path / "empty")[0] == 0


def test_a_commit_the_clone_lacks_is_fetched_and_said(tmp_path: Path, server_url: str) -> None:
    origin = init_repo(tmp_path / "origin")
    write(origin / "app.py", "v1\n")
    _configure(origin, server_url)
    early = clone(origin, tmp_path / "early")
    write(origin / "app.py", "v2\n")
    commit_all(origin, "v2")
    write(origin / "app.py", "wip\n")
    version = _register(origin)
    code, out, err = _checkout(early, version["model_id"], tmp_path / "d")
    assert code == 0 and out["exact"] is True, err
    assert f"commit {version['commit'][:12]} is not in this clone; fetching it" in err
    # With no remote that has it: one line, exit 1, no directory.
    lone = init_repo(tmp_path / "lone")
    commit_all(lone, "unrelated")
    write(lone / ".mlflow-gitver.yaml", (origin / ".mlflow-gitver.yaml").read_text())
    code, _, err = _checkout(lone, version["model_id"], tmp_path / "never")
    assert code == 1 and "fetch it" in err.strip().splitlines()[-1]
    assert not (tmp_path / "never").exists()


def test_a_scoped_app_round_trips(tmp_path: Path, server_url: str) -> None:
    root = init_repo(tmp_path / "mono")
    write(root / "svc" / "a.py", "A = 1\n")
    write(root / "web" / "b.py", "B = 1\n")
    exp = f"co-{uuid.uuid4().hex[:8]}"
    write(
        root / ".mlflow-gitver.yaml",
        f"tracking_uri: {server_url}\nexperiment: {exp}\n"
        "apps:\n  - name: svc\n    paths: [svc]\n  - name: web\n    paths: [web]\n",
    )
    commit_all(root, "two apps")
    write(root / "svc" / "a.py", "A = 2\n")
    write(root / "svc" / "new.py", "N = 1\n")
    write(root / "web" / "b.py", "B = 2\n")  # another app's change: not svc's
    version = _register(root, "--app", "svc")
    dest = tmp_path / "svc-restored"
    code, out, err = _checkout(root, version["model_id"], dest, "--app", "svc")
    assert code == 0 and out["recomputed_id"] == version["version_id"], err
    assert (dest / "svc" / "new.py").exists() and (dest / "web" / "b.py").read_text() == "B = 1\n"


def test_unregistered_and_a_server_that_is_down(
    repo: Path, tmp_path: Path, server_url: str
) -> None:
    _configure(repo, server_url)
    code, _, err = _checkout(repo, "m-0123456789abcdef", tmp_path / "x")
    assert code == 1 and "not a registered version" in err and not (tmp_path / "x").exists()
    down = f"http://127.0.0.1:{free_port()}"
    out = cli(
        "checkout",
        "m-0123456789abcdef",
        "--dir",
        str(tmp_path / "y"),
        "--tracking-uri",
        down,
        cwd=repo,
    )
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("mlflow-gitver")]
    assert out.returncode not in (0, 2) and len(lines) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "y").exists()


def test_a_moved_submodule_is_named_with_its_commit(
    superproject: tuple[Path, Path], tmp_path: Path, server_url: str
) -> None:
    root, lib = superproject
    _configure(root, server_url)
    write(lib / "lib.py", "L = 2\n")
    moved = commit_all(lib, "lib moves")
    write(root / "app.py", "print('wip')\n")
    version = _register(root)
    code, out, _ = _checkout(root, version["model_id"], tmp_path / "d")
    assert code == 1 and out["patch_applied"] is True
    assert {"path": "lib", "restore": "submodule", "commit": moved} in out["not_exact"]
    assert (tmp_path / "d" / "app.py").read_text() == "print('wip')\n"
