from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlflow_gitver.config import load_config
from mlflow_gitver.main import main
from tests.helpers import init_repo, write


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
    assert (root / ".gitignore").read_text() == "mlflow.db\nmlruns/\nmlartifacts/\n"
    out = capsys.readouterr().out
    # The snippet printed is valid YAML naming both hooks.
    snippet = out[out.index("# .pre-commit-config.yaml") : out.index("then run")]
    data = yaml.safe_load(snippet)
    ids = [h["id"] for h in data["repos"][0]["hooks"]]
    assert ids == ["mlflow-gitver-post-commit", "mlflow-gitver-pre-push"]
    assert "post-commit" in data["default_install_hook_types"]
    assert "pre-push" in data["default_install_hook_types"]


def test_init_adds_only_missing_gitignore_lines(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root / ".gitignore", "*.pyc\nmlruns/")  # no final newline
    assert main(["init", "--repo", str(root), "--name", "agent"]) == 0
    assert (root / ".gitignore").read_text() == "*.pyc\nmlruns/\nmlflow.db\nmlartifacts/\n"
    assert load_config(root / ".mlflow-gitver.yaml", {}).name == "agent"


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
