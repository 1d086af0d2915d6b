from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver.ci import common
from mlflow_gitver.errors import GitverError


def test_strip_userinfo_keeps_query_and_fragment() -> None:
    url = "https://user:p@ss@mlflow.example:5000/#/experiments/1/models/m-1?o=2"
    assert (
        common.strip_userinfo(url) == "https://mlflow.example:5000/#/experiments/1/models/m-1?o=2"
    )
    assert common.strip_userinfo("see http://h/x@y") == "see http://h/x@y"


def test_make_tags_drops_empty_and_caps() -> None:
    tags = common.make_tags(a="1", b=None, c="", d="x" * 9000)
    assert tags == {"mlflow_gitver.ci.a": "1", "mlflow_gitver.ci.d": "x" * 8000}


@pytest.mark.parametrize(
    ("ref", "branch"),
    [
        ("refs/heads/main", "main"),
        ("refs/heads/feature/x", "feature/x"),
        ("refs/tags/v1", None),
        ("refs/pull/1/merge", None),
        ("refs/heads/", None),
        (None, None),
    ],
)
def test_branch_of_ref(ref: str | None, branch: str | None) -> None:
    assert common.branch_of_ref(ref) == branch


def test_enabled() -> None:
    assert common.enabled({}, "X")
    assert common.enabled({"X": "true"}, "X")
    for off in ("false", "FALSE", "0", "no", "off", " false "):
        assert not common.enabled({"X": off}, "X")


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(GitverError, match="cannot write"):
        common.atomic_write(tmp_path / "missing-dir" / "f.env", b"A=1\n")
    assert list(tmp_path.iterdir()) == []
