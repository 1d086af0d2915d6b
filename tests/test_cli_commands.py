"""The one table of commands: each entry's builder, summary and module (the whole
command line, its help and README, is test_cli.py's)."""

from __future__ import annotations

import argparse
import importlib

import pytest

from mlflow_gitver import cli
from mlflow_gitver.cli_commands import COMMANDS
from mlflow_gitver.cli_options import Parser

# The arguments a command cannot be parsed without.
REQUIRED = {
    "hook": ["post-commit"],
    "diff": ["HEAD~1", "HEAD"],
    "checkout": ["HEAD"],
    "gc": ["--older-than", "30d"],
}


def _parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser(list(argv)).parse_args(list(argv))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_module_with_args_of_and_run(name: str) -> None:
    mod = importlib.import_module(f"mlflow_gitver.commands.{cli._MODULE_OF.get(name, name)}")
    assert callable(getattr(mod, "args_of", None)) and callable(getattr(mod, "run", None))
    # ... and args_of takes what the builder parses.
    ns = _parse(name, *REQUIRED.get(name, []))
    assert mod.args_of(ns) is not None


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_builder_builds_a_parser_of_its_own(name: str) -> None:
    summary, build, example = COMMANDS[name]
    p = Parser(prog=f"mlflow-gitver {name}")
    build(p)
    assert summary and summary[0].islower() and not summary.endswith(".")
    assert all(line.startswith("  mlflow-gitver ") for line in example.splitlines()) or (
        name == "env"
    )


def test_resolve_takes_a_commit_or_a_version_id_not_both(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _parse("resolve", "--version-id", "abc").version_id == "abc"
    with pytest.raises(SystemExit) as e:
        _parse("resolve", "--commit", "HEAD", "--version-id", "abc")
    assert e.value.code == 2
    assert "argument --version-id: not allowed with argument --commit" in capsys.readouterr().err


def test_hook_needs_its_type(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        _parse("hook")
    assert e.value.code == 2
    assert "the following arguments are required: HOOK" in capsys.readouterr().err


def test_hook_stages_take_what_git_passes() -> None:
    assert _parse("hook", "post-rewrite", "amend").hook_args == ["amend"]
    assert _parse("hook", "post-merge", "0").hook_args == ["0"]
    assert _parse("hook", "pre-push", "origin", "file:///r").hook_args == ["origin", "file:///r"]
    assert _parse("hook", "post-commit", "--sync").sync is True
    assert cli.hook_types() == [
        "post-commit",
        "post-merge",
        "post-rewrite",
        "post-applypatch",
        "pre-push",
    ]


def test_exec_keeps_the_command_as_written() -> None:
    ns = _parse("exec", "--dry-run", "--", "python", "-c", "print(1)", "--dry-run")
    assert ns.dry_run is True
    assert ns.cmd == ["--", "python", "-c", "print(1)", "--dry-run"]


def test_id_json_is_format_json_and_text_is_the_default() -> None:
    assert _parse("id").format == "text"
    assert _parse("id", "--json").format == "json"
    assert _parse("id", "--format", "json").format == "json"


def test_flush_takes_the_hidden_lock_descriptor() -> None:
    assert _parse("flush", "--lock-fd", "7").lock_fd == 7
    assert _parse("flush").lock_fd is None


@pytest.mark.parametrize(
    ("name", "formats"),
    [
        ("check", ["text", "json"]),
        ("register", ["text", "json", "env"]),
        ("resolve", ["text", "json", "env"]),
        ("show", ["text", "json"]),
        ("status", ["text", "json"]),
        ("doctor", ["text", "json"]),
    ],
)
def test_each_command_offers_its_own_formats(name: str, formats: list[str]) -> None:
    p = Parser(prog=name)
    COMMANDS[name][1](p)
    [fmt] = [a for a in p._actions if "--format" in a.option_strings]
    assert list(fmt.choices or ()) == formats and fmt.default == "text"
