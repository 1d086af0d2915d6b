"""errors.py: the exit codes the README documents, and the error types, from real runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlflow_gitver import errors, proc
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, CommandError, GitverError
from testing.cli import cli
from testing.repos import write

ROOT = Path(__file__).resolve().parents[1]


def _readme_codes() -> set[int]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    return {int(c) for row in table.splitlines()[2:] for c in re.findall(r"\d+", row.split("|")[1])}


def test_every_exit_code_is_documented_and_every_documented_code_exists() -> None:
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert _readme_codes() == codes


def test_exit_0_on_success(repo: Path) -> None:
    out = cli("id", cwd=repo)
    assert (out.returncode, out.stderr) == (0, "")


def test_exit_1_on_an_operational_failure(repo: Path) -> None:
    # No config and no hooks: doctor's checks are not ok (and it needs no server).
    out = cli("doctor", cwd=repo)
    assert out.returncode == EXIT_FAILURE, out.stdout + out.stderr
    assert out.stdout.startswith("error   config: ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("id",), "is not inside a git repository"),
        (("nope",), "invalid command 'nope'"),
        (("id", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_exit_2_on_bad_input(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == EXIT_USAGE
    assert fragment in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_exit_2_on_an_invalid_config(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: maybe\n")
    out = cli("check", cwd=repo)
    assert out.returncode == EXIT_USAGE
    assert ".mlflow-gitver.yaml:2:12: untracked must be true or false" in out.stderr


def test_a_user_error_is_its_message_and_defaults_to_exit_2() -> None:
    e = GitverError("what is wrong; how to fix it")
    assert str(e) == e.message == "what is wrong; how to fix it"
    assert e.exit_code == EXIT_USAGE


def test_a_failed_command_shows_its_argv_exit_code_and_stderr(tmp_path: Path) -> None:
    args = ["git", "-C", str(tmp_path), "rev-parse", "--verify", "HEAD"]
    with pytest.raises(CommandError) as info:
        proc.run(args, env=proc.git_env(keep_repo_env=False))
    e = info.value
    assert e.exit_code == EXIT_FAILURE and e.returncode == 128 and e.cmd == tuple(args)
    assert e.message.startswith(f"command failed (exit 128): {' '.join(args)}: fatal: ")
    assert "\n" not in e.message  # several stderr lines become one, joined by " | "


def test_a_failed_command_without_output_says_so() -> None:
    with pytest.raises(CommandError) as info:
        proc.run(["false"])
    assert info.value.message == "command failed (exit 1): false: no output"
