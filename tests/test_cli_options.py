"""The CLI's parser class and shared options: one-line errors with a suggestion, help
width, --version, the options several commands share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.cli_options import (
    Parser,
    add_config,
    add_format,
    add_register_options,
    add_repo,
    close_match,
)
from testing.cli import cli


def test_close_match() -> None:
    commands = ["register", "resolve", "status"]
    assert close_match("regster", commands) == "register"
    assert close_match("stauts", commands) == "status"
    assert close_match("zzz", commands) is None
    assert close_match("", commands) is None


def _error(p: Parser, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as e:
        p.parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


def test_a_mistyped_choice_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    p = Parser(prog="mlflow-gitver x")
    add_format(p, "text", "json")
    assert _error(p, ["--format", "jsno"], capsys) == (
        "mlflow-gitver: error: argument --format: invalid choice 'jsno' (did you mean "
        "'json'?); see 'mlflow-gitver x --help'\n"
    )
    assert _error(p, ["--format", "yaml"], capsys).endswith(
        "invalid choice 'yaml' (choose from text, json); see 'mlflow-gitver x --help'\n"
    )


def test_a_mistyped_command_is_called_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    p = Parser(prog="mlflow-gitver")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    sub.add_parser("register")
    assert "invalid command 'regster' (did you mean 'register'?)" in _error(p, ["regster"], capsys)


def test_typed_options(tmp_path: Path) -> None:
    p = Parser(prog="x")
    add_repo(p)
    add_config(p)
    ns = p.parse_args(["--repo", str(tmp_path), "--config", "c.yaml"])
    assert ns.repo == tmp_path and ns.config == Path("c.yaml")


def test_register_options_offer_the_ci_registry(capsys: pytest.CaptureFixture[str]) -> None:
    p = Parser(prog="mlflow-gitver register")
    add_register_options(p)
    [ci_opt] = [a for a in p._actions if "--ci" in a.option_strings]
    assert tuple(ci_opt.choices or ()) == ci.choices()
    ns = p.parse_args(["--dotenv", "out.env", "--dry-run"])
    assert ns.dotenv == Path("out.env") and ns.dry_run is True and ns.ci is None
    assert "(did you mean 'gitlab'?)" in _error(p, ["--ci", "gitlb"], capsys)


def test_version() -> None:
    from importlib.metadata import version

    out = cli("--version")
    assert out.returncode == 0 and out.stdout == f"mlflow-gitver {version('mlflow-gitver')}\n"


def _help_lines(columns: str) -> list[str]:
    out = cli("doctor", "--help", env=dict(os.environ, COLUMNS=columns))
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_help_wraps_at_the_terminal_width() -> None:
    narrow, wide = _help_lines("50"), _help_lines("200")
    section = narrow[narrow.index("options:") + 1 :]
    options = section[: section.index("")]  # argparse wraps these; usage and raw text not
    assert options and max(len(line) for line in options) <= 48
    assert len(narrow) > len(wide)
    assert _help_lines("junk") == _help_lines("80")  # not a number: 80 columns
