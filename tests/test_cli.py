"""The command line as a whole: help, examples, refused options, suggestions, README."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from mlflow_gitver import cli
from mlflow_gitver.main import main
from testing.cli import cli as run_cli
from testing.repos import write

ROOT = Path(__file__).resolve().parents[1]


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    """'id', 'check', ..., 'hook post-commit', 'hook pre-push': fully built."""
    out = {}
    for name, p in _subparsers(cli.build_parser()).items():
        inner = _subparsers(p)
        if inner:
            out.update({f"{name} {k}": v for k, v in inner.items()})
        else:
            out[name] = p
    return out


LEAVES = _leaf_parsers()


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_has_real_help(name: str) -> None:
    for action in LEAVES[name]._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue  # a hidden option (flush --lock-fd: from a hook to its flush) is not for users
        text = action.help or ""
        assert len(text) > 12 and "see README" not in text, (name, action.dest, text)
    if name != "id":  # --format's choices are named in its help
        for action in LEAVES[name]._actions:
            if "--format" in action.option_strings:
                assert all(str(c) in (action.help or "") for c in action.choices or ())


def _examples(p: argparse.ArgumentParser) -> list[list[str]]:
    out = []
    for line in (p.epilog or "").splitlines():
        found = re.search(r"mlflow-gitver ([^)&#]*)", line)
        if found and "COMMAND" not in line:
            out.append(shlex.split(found.group(1).replace('"$', '"x').strip()))
    return out


@pytest.mark.parametrize("name", sorted(_subparsers(cli.build_parser())))
def test_every_command_help_shows_an_example_that_parses(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert "example" in capsys.readouterr().out
    examples = _examples(_subparsers(cli.build_parser())[name])
    assert examples and all(argv[0] == name for argv in examples)
    for argv in examples:
        args, extras = cli.build_parser(argv).parse_known_args(argv)
        assert extras == [] and args.command == name, argv


def test_id_format_json_is_id_json(repo: Path) -> None:
    write(repo / "new.py", "x\n")
    a = run_cli("id", "--format", "json", cwd=repo)
    b = run_cli("id", "--json", cwd=repo)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and a.stdout.lstrip().startswith("{")
    assert run_cli("id", "--format", "text", cwd=repo).stdout.count("-dirty-") == 1


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["hook", "post-commit", "--all"], "--all"),  # pre-push only
        (["hook", "post-commit", "origin"], "origin"),  # git passes post-commit nothing
        (["hook", "pre-push", "--sync"], "--sync"),  # post-commit only
        (["env", "--format", "json"], "--format json"),  # env's format is env
        (["exec", "--format", "json", "--", "true"], "--format"),
        (["status", "--retry-failed"], "--retry-failed"),
        (["flush", "--format", "json"], "--format json"),
        (["init", "--config", "x"], "--config x"),
        (["doctor", "--experiment", "x"], "--experiment x"),
    ],
)
def test_options_a_command_ignores_are_refused(
    argv: list[str], refused: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"mlflow-gitver: error: unrecognized arguments: {refused}")
    sub = " ".join(a for a in argv[:2] if not a.startswith("-") and a not in ("origin",))
    assert err.rstrip().endswith(f"see 'mlflow-gitver {sub} --help'")


def test_a_mistyped_option_suggests_the_right_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["register", "--dryrun"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "mlflow-gitver: error: unrecognized arguments: --dryrun (did you mean '--dry-run'?); "
        "see 'mlflow-gitver register --help'\n"
    )
    with pytest.raises(SystemExit):
        main(["check", "--format", "jsn"])
    assert "invalid choice 'jsn' (did you mean 'json'?)" in capsys.readouterr().err


def test_only_the_command_run_gets_its_options_built() -> None:
    # `id` runs in hooks: building every command's options would cost it.
    p = _subparsers(cli.build_parser(["id"]))
    assert {a.dest for a in p["id"]._actions} >= {"repo", "config", "format"}
    assert [a.dest for a in p["register"]._actions] == ["help"]


def _readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Command line") : text.index("### Exit codes")]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z-]+(?: [a-z-]+)?)", line)
        if m:
            rows[m.group(1)] = line
    return rows


def test_readme_lists_every_command_and_option() -> None:
    rows = _readme_rows()
    assert set(rows) == set(LEAVES)
    for name, p in LEAVES.items():
        row = rows[name]
        if row.split("|")[2].strip().startswith("the options of `register`"):
            p_opts = {o for a in p._actions for o in a.option_strings} - {"-h", "--help"}
            assert p_opts == {o for a in LEAVES["register"]._actions for o in a.option_strings} - {
                "-h",
                "--help",
                "--format",
            }
            continue
        for action in p._actions:
            if action.help == argparse.SUPPRESS:
                continue  # hidden: not for users
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in row or f"(`{opt}`" in row, (name, opt)
