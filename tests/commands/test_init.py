from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlflow_gitver.commands.init import GITIGNORE_HEADER, gitignore_text
from mlflow_gitver.config import load_config
from mlflow_gitver.main import main
from testing.cli import cli
from testing.repos import commit_all, git, init_repo, write

ROOT = Path(__file__).resolve().parents[2]
ENV_AND_CACHES = [".venv/", "venv/", "__pycache__/", "*.egg-info/", ".pytest_cache/"]


def _snippet(out: str) -> dict[str, object]:
    data = yaml.safe_load(out[out.index("# .pre-commit-config.yaml") : out.index("then run")])
    assert isinstance(data, dict)
    return data


def test_init_writes_a_valid_commented_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = init_repo(tmp_path / "my.support agent")
    assert main(["init", "--repo", str(root)]) == 0
    cfg_path = root / ".mlflow-gitver.yaml"
    cfg = load_config(cfg_path, {})
    assert cfg.name == "my-support-agent"  # MLflow refuses '.' and spaces in names
    text = cfg_path.read_text()
    assert text.count("\n# ") > 5  # commented, every optional key explained
    lines = (root / ".gitignore").read_text().splitlines()
    assert lines[:4] == [GITIGNORE_HEADER, "mlflow.db", "mlruns/", "mlartifacts/"]
    out = capsys.readouterr().out
    # The snippet printed is valid YAML naming the hooks this installation has.
    data = _snippet(out)
    repos = data["repos"]
    assert isinstance(repos, list)
    ids = [h["id"] for h in repos[0]["hooks"]]
    assert ids[0] == "mlflow-gitver-post-commit" and ids[-1] == "mlflow-gitver-pre-push"
    types = data["default_install_hook_types"]
    assert isinstance(types, list)
    assert types[0] == "pre-commit" and types[1:] == [i.removeprefix("mlflow-gitver-") for i in ids]


def test_init_snippet_points_at_the_checkout_this_was_installed_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test venv has mlflow-gitver installed in editable mode from ROOT (pip
    # wrote file://ROOT to direct_url.json): the snippet names ROOT and its HEAD.
    root = init_repo(tmp_path / "r")
    assert main(["init", "--repo", str(root)]) == 0
    out = capsys.readouterr().out
    assert "<owner>" not in out and "rev: v" not in out
    assert "no release on a package index yet" in out
    assert "pip install /path/to/mlflow-gitver" in out and "git+<URL>@<commit>" in out
    repo = _snippet(out)["repos"][0]  # type: ignore[index]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if head.returncode != 0 or not (ROOT / ".pre-commit-hooks.yaml").exists():
        pytest.skip(f"{ROOT} is not a git checkout with the hook manifest")
    assert repo["repo"] == str(ROOT)
    assert repo["rev"] == head.stdout.strip()
    # pre-commit finds every hook id at that commit.
    manifest = yaml.safe_load(git(ROOT, "show", f"{repo['rev']}:.pre-commit-hooks.yaml"))
    assert {h["id"] for h in repo["hooks"]} <= {h["id"] for h in manifest}


def test_init_adds_only_missing_gitignore_lines(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root / ".gitignore", "*.pyc\nmlruns/\n/.venv\n__pycache__")  # no final newline
    (root / ".gitignore").chmod(0o600)
    assert main(["init", "--repo", str(root), "--name", "agent"]) == 0
    lines = (root / ".gitignore").read_text().splitlines()
    assert lines[:5] == ["*.pyc", "mlruns/", "/.venv", "__pycache__", GITIGNORE_HEADER]
    assert lines.count("mlruns/") == 1 and "mlflow.db" in lines and "mlartifacts/" in lines
    assert ".venv/" not in lines and "__pycache__/" not in lines  # present, spelled otherwise
    assert "venv/" in lines and "*.egg-info/" in lines
    assert (root / ".gitignore").stat().st_mode & 0o777 == 0o600  # replaced, mode kept
    assert [p.name for p in root.iterdir() if p.name.startswith(".gitignore")] == [".gitignore"]
    assert load_config(root / ".mlflow-gitver.yaml", {}).name == "agent"


def test_gitignore_text_never_duplicates() -> None:
    once, added = gitignore_text("")
    assert added and once.splitlines().count(GITIGNORE_HEADER) == 1
    assert gitignore_text(once) == (once, [])
    # A user who removed one line gets it back, without a second header.
    fewer = once.replace("venv/\n", "", 1).replace(".venv/\n", "")
    again, added = gitignore_text(fewer)
    assert added == [".venv/", "venv/"] and again.count(GITIGNORE_HEADER) == 1


def test_an_untracked_virtualenv_does_not_make_the_version_dirty(repo: Path) -> None:
    venv = repo / ".venv"
    for i in range(50):
        write(venv / "lib" / f"mod{i}.py", "x\n")
    write(repo / "pkg" / "__pycache__" / "m.cpython-311.pyc", b"\0")
    write(repo / "pkg" / "m.py", "x\n")
    assert cli("init", cwd=repo).returncode == 0
    sha = commit_all(repo, "config")
    assert git(repo, "ls-files", ".venv", "pkg/__pycache__") == ""
    out = cli("id", cwd=repo)
    assert out.stdout.strip() == sha, out.stderr


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = init_repo(tmp_path / "r")
    write(root / ".mlflow-gitver.yaml", "name: mine\n")
    assert main(["init", "--repo", str(root)]) == 2
    assert (root / ".mlflow-gitver.yaml").read_text() == "name: mine\n"
    assert not (root / ".gitignore").exists()  # nothing half-done
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err


def test_init_refuses_a_name_mlflow_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = init_repo(tmp_path / "r")
    assert main(["init", "--repo", str(root), "--name", "a/b"]) == 2
    assert not (root / ".mlflow-gitver.yaml").exists()
    assert "--name: name 'a/b' contains /" in capsys.readouterr().err


def test_init_outside_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--repo", str(tmp_path)]) == 2
    assert "not inside a git repository" in capsys.readouterr().err
