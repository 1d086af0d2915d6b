"""scopehint.py: ``id --app`` starts its git calls from the last run's scope.

The real CLI with --debug tracing: the trace tells how many ``git status`` calls
ran (two when a stale hint's calls were discarded), and every id is checked
against a fresh in-process computation, so a hint can only ever cost time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver import scopehint
from mlflow_gitver.gitstate import state_of
from testing.cli import cli
from testing.repos import commit_all, init_repo, write

CONFIG = "apps:\n  - name: a\n    paths: [{paths}]\n  - name: b\n    paths: [b]\n"


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "mono")
    for rel in ("a/x.py", "a/docs/d.md", "b/y.py", "c/z.py"):
        write(root / rel, f"{rel}\n")
    write(root / ".mlflow-gitver.yaml", CONFIG.format(paths="a"))
    commit_all(root, "first")
    return root


def _id(root: Path, app: str = "a", **env: str) -> tuple[str, int]:
    """(the id, how many git status calls ran) from one real ``id --app``."""
    r = cli("--debug", "id", "--app", app, cwd=root, env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip(), r.stderr.count(" status --porcelain=v2 ")


def _parsed(root: Path, app: str = "a", **env: str) -> bool:
    """Whether one real ``id --app`` imported PyYAML (parsed the config)."""
    full = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", **env}
    r = cli("id", "--app", app, cwd=root, env=full)
    assert r.returncode == 0, r.stderr
    return "| yaml\n" in r.stderr


def _fresh(root: Path, *paths: str, untracked: bool = True) -> str:
    return state_of(gitmod.discover(root), untracked=untracked, scope=paths).version_id


def _hint(root: Path, app: str = "a") -> scopehint.Scope | None:
    repo = gitmod.discover(root)
    hint = scopehint.read(repo, root / ".mlflow-gitver.yaml", app)
    return None if hint is None else hint.scope


def test_the_first_run_writes_the_hint_and_the_next_uses_it(mono: Path) -> None:
    assert _hint(mono) is None
    first = _id(mono)
    assert first == (_fresh(mono, "a"), 1)
    assert _hint(mono) == (True, ("a",))
    write(mono / "a/x.py", "edited\n")
    again = _id(mono)
    assert again == (_fresh(mono, "a"), 1) and again[0] != first[0]
    # Each app has its own hint.
    assert _hint(mono, "b") is None
    assert _id(mono, "b") == (_fresh(mono, "b"), 1)
    assert _hint(mono, "b") == (True, ("b",)) and _hint(mono) == (True, ("a",))


@pytest.mark.parametrize(
    ("paths", "untracked", "scope"),
    [
        ("a, c", True, ("a", "c")),  # other paths
        ("a, ':!a/docs'", True, ("a", ":!a/docs")),  # an exclude added
        ("a", False, ("a",)),  # untracked files no longer count
    ],
)
def test_a_stale_hint_is_discarded_and_replaced(
    mono: Path, paths: str, untracked: bool, scope: tuple[str, ...]
) -> None:
    _id(mono)
    write(mono / "c/new.py", "untracked\n")
    text = CONFIG.format(paths=paths) + ("" if untracked else "untracked: false\n")
    write(mono / ".mlflow-gitver.yaml", text)
    got, calls = _id(mono)
    assert got == _fresh(mono, *scope, untracked=untracked)
    assert calls == 2  # the hinted status ran, and was not used
    assert _hint(mono) == (untracked, scope)
    assert _id(mono) == (got, 1)


def test_an_app_without_paths_discards_the_hint(mono: Path) -> None:
    _id(mono)
    write(mono / ".mlflow-gitver.yaml", "apps:\n  - name: a\n  - name: b\n    paths: [b]\n")
    write(mono / "c/z.py", "edited\n")
    got, _calls = _id(mono)
    assert got == state_of(gitmod.discover(mono)).version_id  # the whole repository's


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage",
        b"mlflow-gitver scope-hint 1\x001\x00a",
        b"mlflow-gitver scope-hint 1\x002\x00a\x00",
    ],
)
def test_an_unreadable_hint_is_no_hint(mono: Path, content: bytes) -> None:
    _id(mono)
    repo = gitmod.discover(mono)
    [hint_file] = (repo.git_dir / "mlflow-gitver" / "scope-hints").iterdir()
    hint_file.write_bytes(content)
    assert _hint(mono) is None
    assert _id(mono) == (_fresh(mono, "a"), 1)
    assert _hint(mono) == (True, ("a",))  # written again


def test_a_hint_that_cannot_be_written_costs_nothing_but_time(mono: Path) -> None:
    store = gitmod.discover(mono).git_dir / "mlflow-gitver"
    store.mkdir()
    (store / "scope-hints").write_text("a file where the directory goes\n")
    assert _id(mono) == (_fresh(mono, "a"), 1)
    assert _id(mono) == (_fresh(mono, "a"), 1)
    assert _hint(mono) is None


def test_a_config_error_still_reaps_the_early_calls(mono: Path) -> None:
    _id(mono)
    write(mono / ".mlflow-gitver.yaml", "apps: [\n")
    r = cli("id", "--app", "a", cwd=mono)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert ".mlflow-gitver.yaml:" in r.stderr


def test_hints_round_trip_odd_paths(mono: Path) -> None:
    repo = gitmod.discover(mono)
    where = mono / ".mlflow-gitver.yaml"
    odd = ("dir with space", "caf\u00e9", "bad\udcffbyte", ":!x")
    scopehint.write(repo, where, "app", scopehint.Hint((False, odd), ""))
    back = scopehint.read(repo, where, "app")
    assert back is not None and back.scope == (False, odd) and back.trust == ""
    assert scopehint.read(repo, where, "other") is None
    assert scopehint.read(repo, mono / "elsewhere.yaml", "app") is None
    assert not os.path.exists(str(where) + ".tmp")


def test_a_trusted_hint_skips_the_parse_until_the_config_changes(mono: Path) -> None:
    assert _parsed(mono)  # no hint yet
    assert not _parsed(mono)  # the same bytes: the hint answers
    assert _id(mono) == (_fresh(mono, "a"), 1)
    # Any change to the file, even a comment, is parsed again, then trusted again.
    write(mono / ".mlflow-gitver.yaml", CONFIG.format(paths="a, c") + "# a comment\n")
    assert _parsed(mono)
    assert not _parsed(mono)
    assert _id(mono) == (_fresh(mono, "a", "c"), 1)


def test_a_config_that_reads_the_environment_is_always_parsed(mono: Path) -> None:
    write(mono / ".mlflow-gitver.yaml", CONFIG.format(paths="a") + "params: {k: '${K:-x}'}\n")
    for value in ("1", "2"):
        assert _parsed(mono, K=value)
    assert _id(mono) == (_fresh(mono, "a"), 1)  # the hint still starts the calls


def test_a_hint_from_another_validator_is_not_trusted(mono: Path) -> None:
    repo = gitmod.discover(mono)
    where = mono / ".mlflow-gitver.yaml"
    data = where.read_bytes()
    key = scopehint.trust_key(data)
    assert key and scopehint.Hint((True, ("a",)), key).trusted(data)
    assert not scopehint.Hint((True, ("a",)), key).trusted(data + b"\n")
    # Another release (another stamp) that would read these bytes otherwise: a wrong
    # scope in the hint must not be used.
    other = "0,0" + key[key.index(" ") :]
    scopehint.write(repo, where, "a", scopehint.Hint((True, ("c",)), other))
    assert _parsed(mono)
    assert _id(mono) == (_fresh(mono, "a"), 1)
