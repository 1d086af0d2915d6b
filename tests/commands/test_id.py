"""``mlflow-gitver id`` through the real CLI, in new processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver.main import id_args
from testing.cli import cli, cli_without_root_powers
from testing.repos import commit_all, git, init_repo, write

DIRTY = re.compile(r"^[0-9a-f]{32}-dirty-[0-9a-f]{8}$")


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def one_error_line(out: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mlflow-gitver: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in out.stderr


def test_clean_prints_the_commit(repo: Path) -> None:
    out = cli("id", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout == head(repo) + "\n"
    assert out.stderr == ""


def test_repo_flag_and_subdirectory(repo: Path, tmp_path: Path) -> None:
    write(repo / "sub" / "x.py", "x\n")
    from_root = cli("id", cwd=repo).stdout
    assert DIRTY.match(from_root.strip())
    assert cli("id", cwd=repo / "sub").stdout == from_root
    assert cli("id", "--repo", str(repo / "sub"), cwd=tmp_path).stdout == from_root
    assert cli("id", "--repo", "sub", cwd=repo).stdout == from_root


def test_json_fields(repo: Path) -> None:
    write(repo / "app.py", "print('changed')\n")
    write(repo / "new file.py", "x\n")
    (repo / "README.md").unlink()
    out = cli("id", "--json", cwd=repo)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data == {
        "version_id": data["version_id"],
        "commit": head(repo),
        "branch": "main",
        "dirty": True,
        "digest": data["digest"],
        "changes": [
            {"path": "README.md", "status": "deleted"},
            {"path": "app.py", "status": "modified"},
            {"path": "new file.py", "status": "untracked"},
        ],
        "root": str(repo),
        "shallow": False,
        "warnings": [],
    }
    assert re.fullmatch(r"[0-9a-f]{64}", data["digest"])
    assert data["version_id"] == head(repo)[:32] + "-dirty-" + data["digest"][:8]
    assert cli("id", cwd=repo).stdout.strip() == data["version_id"]


def test_json_non_utf8_and_newline_names(repo: Path) -> None:
    names = [b"caf\xe9.py", b"two\nlines.py", 'ünï "q".py'.encode()]
    for name in names:
        Path(os.fsdecode(os.fsencode(repo) + b"/" + name)).write_bytes(b"x")
    out = cli("id", "--json", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout.isascii()  # non-UTF-8 bytes are escaped, never printed raw
    paths = sorted(os.fsencode(c["path"]) for c in json.loads(out.stdout)["changes"])
    assert paths == sorted(names)


def test_json_clean_detached_shallow(repo: Path, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(shallow)],
        check=True,
        capture_output=True,
    )
    git(shallow, "checkout", "-q", "--detach")
    data = json.loads(cli("id", "--json", cwd=shallow).stdout)
    assert data["branch"] is None and data["shallow"] is True
    assert data["dirty"] is False and data["digest"] is None and data["changes"] == []
    assert data["version_id"] == data["commit"] == head(repo)


def test_untracked_false_in_config(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: false\n")
    commit_all(repo)
    write(repo / "new.py", "x\n")
    assert cli("id", cwd=repo).stdout.strip() == head(repo)
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: true\n")
    assert DIRTY.match(cli("id", cwd=repo).stdout.strip())


def test_untracked_false_via_config_flag(repo: Path, tmp_path: Path) -> None:
    cfg = write(tmp_path / "elsewhere.yaml", "name: app\nuntracked: false\n")
    write(repo / "new.py", "x\n")
    assert cli("id", "--config", str(cfg), cwd=repo).stdout.strip() == head(repo)
    assert DIRTY.match(cli("id", cwd=repo).stdout.strip())


def test_config_errors_surface_only_when_untracked_is_needed(repo: Path, tmp_path: Path) -> None:
    # A config that mentions `untracked` is validated: a bad value is an error.
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: maybe\n")
    one_error_line(cli("id", cwd=repo), ".mlflow-gitver.yaml:2:12: untracked must be true or false")
    one_error_line(
        cli("id", "--config", str(tmp_path / "missing.yaml"), cwd=repo), "no config file"
    )


def test_unborn_branch(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root / "a.py", "a\n")
    one_error_line(cli("id", cwd=root), "has no commit yet (unborn branch main)")


def test_not_a_repository(tmp_path: Path) -> None:
    one_error_line(cli("id", cwd=tmp_path), "is not inside a git repository")
    one_error_line(cli("id", "--repo", str(tmp_path / "nope"), cwd=tmp_path), "no such directory")


def test_no_git_on_path(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    out = cli("id", cwd=repo, env=env)
    one_error_line(out, "git not found on PATH")


def test_hook_environment(repo: Path, tmp_path: Path) -> None:
    write(repo / "app.py", "changed\n")
    expected = cli("id", cwd=repo).stdout
    env = dict(os.environ, GIT_DIR=".git", GIT_WORK_TREE=".", GIT_INDEX_FILE=".git/index")
    assert cli("id", cwd=repo, env=env).stdout == expected
    # --repo names another repository: the inherited variables must not win.
    other = init_repo(tmp_path / "other")
    write(other / "o.py", "o\n")
    commit_all(other)
    env = dict(os.environ, GIT_DIR=str(repo / ".git"), GIT_WORK_TREE=str(repo))
    out = cli("id", "--repo", str(other), cwd=repo, env=env)
    assert out.stdout.strip() == head(other)


def test_no_writes_and_index_lock(repo: Path) -> None:
    write(repo / "app.py", "changed\n")
    write(repo / "new.py", "new\n")
    index = repo / ".git" / "index"
    objects = sorted(str(p) for p in (repo / ".git" / "objects").rglob("*"))
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    try:
        os.utime(repo / "README.md", None)  # stat-dirty
        out = cli("id", cwd=repo)
        assert out.returncode == 0, out.stderr
        assert DIRTY.match(out.stdout.strip())
    finally:
        lock.unlink()
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert sorted(str(p) for p in (repo / ".git" / "objects").rglob("*")) == objects


@pytest.mark.imports_counted
def test_id_imports_nothing_it_does_not_need(repo: Path) -> None:
    # `id` runs in every git hook: MLflow (~1 s), YAML without a config, and
    # typing/dataclasses/json (~5-10 ms each) stay out of it.
    write(repo / "app.py", "changed\n")
    code = (
        "import sys\n"
        "from mlflow_gitver.main import main\n"
        "rc = main(['id'])\n"
        "heavy = ('mlflow', 'yaml', 'typing', 'dataclasses', 'inspect', 'json', 'traceback',\n"
        "         'argparse')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "             or m in ('mlflow_gitver.cli', 'mlflow_gitver.cli_commands'))\n"
        "print(bad)\n"
        "raise SystemExit(rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], (None, None, False)),
        (["--json"], (None, None, True)),
        (["--format", "json", "--format=text"], (None, None, False)),
        (["--json", "--format", "text"], (None, None, False)),
        (["--format=text", "--json"], (None, None, True)),
        (["--repo", "a b", "--config=c.yaml"], (Path("a b"), Path("c.yaml"), False)),
        (["--repo="], (Path(""), None, False)),
        (["--format", "yaml"], None),  # argparse names the choices
        (["--repo", "--json"], None),  # argparse: --repo expects one argument
        (["--repo"], None),
        (["--js"], None),  # an abbreviation: argparse's to expand
        (["--json=1"], None),
        (["--help"], None),
        (["--", "x"], None),
        (["extra"], None),
    ],
)
def test_main_reads_only_the_usual_id_arguments_itself(
    args: list[str], expected: tuple[Path | None, Path | None, bool] | None
) -> None:
    got = id_args(args)
    assert (None if got is None else (got.repo, got.config, got.as_json)) == expected


@pytest.mark.parametrize(
    "args",
    [["--format", "json"], ["--json", "--format", "text"], ["--js"], ["--repo", "."]],
)
def test_fast_and_argparse_paths_agree(repo: Path, args: list[str]) -> None:
    """The same arguments, once through main's own reading and once through argparse
    (a global --debug before the command sends every run there)."""
    write(repo / "x.py", "x\n")
    fast = cli("id", *args, cwd=repo)
    slow = cli("--debug", "id", *args, cwd=repo)
    assert fast.returncode == slow.returncode == 0, (fast.stderr, slow.stderr)
    assert fast.stdout == slow.stdout


def test_bad_format_is_argparse_message(repo: Path) -> None:
    out = cli("id", "--format", "yaml", cwd=repo)
    assert out.returncode == 2
    assert "invalid choice 'yaml' (choose from text, json)" in out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize("as_json", [False, True])
def test_python_dash_m_and_console_script_agree(repo: Path, as_json: bool) -> None:
    write(repo / "x.py", "x\n")
    args = ["id", "--json"] if as_json else ["id"]
    script = Path(sys.executable).parent / "mlflow-gitver"
    a = subprocess.run([str(script), *args], cwd=repo, capture_output=True, text=True)
    b = cli(*args, cwd=repo)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """bench/bench_id.py --quick still works (it asserts nothing about times)."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "bench_id.py"
    out = subprocess.run(
        [sys.executable, str(bench), "--quick", "--runs", "1", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"; id [0-9a-f]{32}-dirty-[0-9a-f]{8}$", out.stdout.splitlines()[0])
    for name in ("git status --porcelain -uall", "mlflow-gitver id", "snippet (reconstruction)"):
        pattern = re.escape(name) + r"\s+wall\s+[\d.]+ ms\s+[\d.]+x\s+cpu\s+[\d.]+ ms\s+[\d.]+x"
        assert re.search(pattern, out.stdout), out.stdout
    assert "repeat runs with a 8 MB untracked file" in out.stdout


# --- issue 10: faults of the file system, and what git cannot see ----------------------


def test_unreadable_changed_file_is_one_line_exit_2(repo: Path) -> None:
    write(repo / "app.py", "changed\n")
    (repo / "app.py").chmod(0)
    try:
        out = cli_without_root_powers("id", cwd=repo)
    finally:
        (repo / "app.py").chmod(0o644)
    one_error_line(out, "cannot read app.py: Permission denied")


def test_unreadable_untracked_directory_counts_and_warns(repo: Path) -> None:
    clean = cli("id", cwd=repo).stdout.strip()
    write(repo / "private" / "secret.py", "s\n")
    (repo / "private").chmod(0)
    try:
        out = cli_without_root_powers("id", cwd=repo)
        again = cli_without_root_powers("id", cwd=repo)
    finally:
        (repo / "private").chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert DIRTY.match(out.stdout.strip()) and out.stdout != clean
    assert again.stdout == out.stdout
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mlflow-gitver: warning: could only partly be seen: private/")
    assert "Permission denied" in lines[0]


def test_nested_repository_without_commit_warns_once(repo: Path) -> None:
    nested = init_repo(repo / "vendor")
    write(nested / "v.py", "v\n")
    first = cli("id", cwd=repo)
    assert first.returncode == 0 and DIRTY.match(first.stdout.strip())
    (warning,) = first.stderr.splitlines()
    assert warning.startswith("mlflow-gitver: warning: ") and "vendor/" in warning
    write(nested / "v.py", "w\n")
    assert cli("id", cwd=repo).stdout != first.stdout


def test_a_required_filter_that_fails_is_one_line(repo: Path) -> None:
    write(repo / ".git" / "info" / "attributes", "*.py filter=broken\n")
    git(repo, "config", "filter.broken.clean", "false")
    git(repo, "config", "filter.broken.required", "true")
    write(repo / "app.py", "changed\n")
    one_error_line(cli("id", cwd=repo), "git cannot compute what it would store")


# --- issue 10: id reads only the `untracked` key ---------------------------------------


def test_unset_variable_elsewhere_does_not_stop_id(repo: Path) -> None:
    write(
        repo / ".mlflow-gitver.yaml",
        "name: app  # untracked: false would hide new files\n"
        "params:\n"
        "  prompt: ${UNSET_PROMPT_VERSION}\n"
        "  untracked: nested keys are not the top-level one\n",
    )
    commit_all(repo)
    write(repo / "new.py", "x\n")
    out = cli("id", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert DIRTY.match(out.stdout.strip())  # the default: untracked files count


def test_untracked_false_with_errors_elsewhere(repo: Path) -> None:
    write(
        repo / ".mlflow-gitver.yaml",
        "name: app\nparams:\n  p: ${UNSET_VAR}\nunknown_key: 1\nuntracked: false\n",
    )
    commit_all(repo)
    write(repo / "new.py", "x\n")
    out = cli("id", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == head(repo)
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: false\nuntracked: true\n")
    one_error_line(cli("id", cwd=repo), "duplicate key 'untracked'")
    write(repo / ".mlflow-gitver.yaml", "{name: app, untracked: false}\n")  # flow style
    commit_all(repo)
    write(repo / "new.py", "x\n")
    assert cli("id", cwd=repo).stdout.strip() == head(repo)
    write(repo / ".mlflow-gitver.yaml", "name: [unclosed\nuntracked: false\n")
    one_error_line(cli("id", cwd=repo), "YAML syntax error")


@pytest.mark.imports_counted
def test_id_does_not_import_yaml_for_a_comment(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n# untracked: false hides new files\n")
    code = (
        "import sys\n"
        "from mlflow_gitver.main import main\n"
        "rc = main(['id'])\n"
        "print('yaml' in sys.modules)\n"
        "raise SystemExit(rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[-1] == "False"


# --- issue 9 item 7: a large untracked part is named, by id and check -----------------


def test_large_untracked_part_warns_in_id_and_check(repo: Path) -> None:
    from mlflow_gitver.gitstate import LARGE_UNTRACKED_FILES

    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    commit_all(repo)
    for i in range(LARGE_UNTRACKED_FILES + 1):
        write(repo / ".venv" / "lib" / f"m{i}.py", "x\n")
    for command in (["id"], ["check"]):
        out = cli(*command, cwd=repo)
        assert out.returncode == 0, out.stderr
        (line,) = out.stderr.splitlines()
        assert line.startswith("mlflow-gitver: warning: the untracked part of this state")
        assert ".venv/" in line and f"{LARGE_UNTRACKED_FILES + 1:,} files" in line


def test_tracked_file_replaced_by_an_unreadable_directory(repo: Path) -> None:
    (repo / "app.py").unlink()
    write(repo / "app.py" / "inner.py", "x\n")
    (repo / "app.py").chmod(0)
    try:
        out = cli_without_root_powers("id", cwd=repo)
    finally:
        (repo / "app.py").chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert DIRTY.match(out.stdout.strip())
    (line,) = out.stderr.splitlines()
    assert line.startswith("mlflow-gitver: warning: could only partly be seen: app.py/")


# --- apps and scoped versions (issue 13) ----------------------------------------------------

APPS = """\
apps:
  - name: support
    paths: [apps/support, libs]
  - name: triage
    paths: [apps/triage, libs]
"""


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "mono")
    write(root / "apps/support/a.py", "a\n")
    write(root / "apps/triage/t.py", "t\n")
    write(root / "libs/l.py", "l\n")
    write(root / ".mlflow-gitver.yaml", APPS)
    commit_all(root, "first")
    return root


def test_every_app_one_line_each(mono: Path) -> None:
    out = cli("id", cwd=mono)
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    assert [name for name, _ in lines] == ["support", "triage"]
    assert all(vid.startswith("scoped-") and len(vid) == 47 for _, vid in lines)
    assert lines[0][1] != lines[1][1]


def test_app_selects_one_and_prints_the_id_alone(mono: Path) -> None:
    every = dict(line.split("\t") for line in cli("id", cwd=mono).stdout.splitlines())
    write(mono / "apps/triage/t.py", "edited\n")
    one = cli("id", "--app", "support", cwd=mono)
    assert one.returncode == 0 and one.stdout == every["support"] + "\n"
    triage = cli("id", "--app=triage", cwd=mono).stdout.strip()
    assert triage.startswith(every["triage"][:39]) and "-dirty-" in triage


def test_json_is_an_array_for_several_apps(mono: Path) -> None:
    items = json.loads(cli("id", "--json", cwd=mono).stdout)
    assert [i["app"] for i in items] == ["support", "triage"]
    assert items[0]["scope"] == ["apps/support", "libs"]
    one = json.loads(cli("id", "--app", "triage", "--format", "json", cwd=mono).stdout)
    assert one["app"] == "triage" and one["version_id"] == items[1]["version_id"]


def test_unknown_app_is_one_line_exit_2(mono: Path) -> None:
    one_error_line(cli("id", "--app", "nope", cwd=mono), "no app named 'nope'")


def test_app_on_an_unscoped_config_is_the_whole_repository(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: solo\n")
    commit_all(repo, "config")
    assert cli("id", "--app", "solo", cwd=repo).stdout == cli("id", cwd=repo).stdout
    one_error_line(cli("id", "--app", "other", cwd=repo), "its apps: solo")


def test_a_scoped_single_app_prints_its_scoped_id(repo: Path) -> None:
    write(repo / "src/app.py", "x\n")
    write(repo / ".mlflow-gitver.yaml", "name: solo\npaths: [src]\n")
    commit_all(repo, "scoped")
    out = cli("id", cwd=repo)
    assert out.returncode == 0 and out.stdout.startswith("scoped-"), out
    write(repo / "README.md", "outside the scope\n")
    assert cli("id", cwd=repo).stdout == out.stdout
