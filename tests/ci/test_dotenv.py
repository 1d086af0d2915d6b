from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.ci import dotenv
from mlflow_gitver.errors import GitverError


def write(values: dict[str, str], path: Path) -> None:
    """The dotenv file as ``register --dotenv PATH --ci none`` writes it."""
    ci.export(
        ci.CiContext("none"), outputs={}, env_vars=values, summary=None, dotenv=path, environ={}
    )


def test_render_is_plain_key_value_lines(tmp_path: Path) -> None:
    url = "http://h:5000/#/experiments/1/models/m-1?o=2"
    data = dotenv.render({"A": "1", "B_2": url}, Path("f"))
    assert data == f"A=1\nB_2={url}\n".encode()


def test_empty_value_is_allowed() -> None:
    assert dotenv.render({"URL": ""}, Path("f")) == b"URL=\n"


@pytest.mark.parametrize(
    "value",
    ["a\nB=1", "a\rb", " lead", "trail ", 'q"uote', "q'uote", "$(touch x)", "`id`", "a;b", "a&b",
     "a|b", "~/x", "a\\b", "${HOME}"],
)  # fmt: skip
def test_unsafe_values_are_refused_and_nothing_written(tmp_path: Path, value: str) -> None:
    path = tmp_path / "mlflow-gitver.env"
    with pytest.raises(GitverError, match="cannot write V"):
        write({"OK": "1", "V": value}, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["A-B", "1A", "A B", "Ä", ""])
def test_gitlab_key_rules(name: str) -> None:
    with pytest.raises(GitverError):
        dotenv.render({name: "v"}, Path("f"))


def test_size_and_count_limits() -> None:
    with pytest.raises(GitverError, match="at most 20"):
        dotenv.render({f"V{i}": "x" for i in range(21)}, Path("f"))
    with pytest.raises(GitverError, match="less than 5120"):
        dotenv.render({"A": "x" * 5200}, Path("f"))
    assert len(dotenv.render({"A": "x" * 5000}, Path("f"))) < 5120


def test_write_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "mlflow-gitver.env"
    path.write_text("OLD=1\n")
    write({"NEW": "2"}, path)
    assert path.read_text() == "NEW=2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mlflow-gitver.env"]


def test_sourcing_the_file_gives_exactly_the_values(tmp_path: Path) -> None:
    values = {"A": "m-1", "B": "http://h:1/#/e/1/m/m-1?o=2", "C": "", "D": "app-git-1234*[x]"}
    path = tmp_path / "f.env"
    write(values, path)
    script = '. "$1"; printf "%s\\0" "$A" "$B" "$C" "$D"'
    for shell in ("bash", "dash"):
        out = subprocess.run(
            [shell, "-c", script, "sh", str(path)], capture_output=True, check=True, cwd=tmp_path
        ).stdout
        assert out.split(b"\0")[:-1] == [v.encode() for v in values.values()], shell
