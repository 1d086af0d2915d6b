"""``mlflow-gitver hook post-commit`` run directly, on real repositories."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlflow_gitver.commands.hook import Args
from mlflow_gitver.main import main, post_commit_args
from mlflow_gitver.queue.validated import known_valid
from testing.cli import cli, cli_without_root_powers
from testing.hooks import background_flushes, configure, settle, store, versions
from testing.repos import commit_all, git, write
from testing.server import free_port
from testing.spies import count_config_parses


@pytest.mark.server
def test_post_commit_sync_registers_head(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = configure(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    write(repo / "dirty.txt", "the working tree does not matter\n")
    assert main(["hook", "post-commit", "--repo", str(repo), "--sync"]) == 0
    assert f"registered {head[:12]} as app-git-{head[:8]}" in capsys.readouterr().out
    [model] = versions(server_url, experiment)[head]
    assert model.tags["mlflow.source.git.dirty"] == "false"  # type: ignore[attr-defined]
    assert model.tags["mlflow.source.git.branch"] == "main"  # type: ignore[attr-defined]
    assert store(repo).list_pending() == []


@pytest.mark.server
def test_a_sync_post_commit_parses_the_config_once(
    repo: Path, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: the hook checked the new config, then the flusher parsed it again."""
    experiment = configure(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    calls = count_config_parses(monkeypatch)
    assert main(["hook", "post-commit", "--repo", str(repo), "--sync"]) == 0
    assert calls == [f"{head[:12]}:.mlflow-gitver.yaml"]
    assert head in versions(server_url, experiment)


def test_post_commit_server_down_exits_0_and_keeps_the_record(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed local port: the server is down, for real.
    configure(repo, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_GITVER_SYNC", "1")
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deferred" in err and "kept pending" in err
    [entry] = store(repo).list_pending()
    assert entry.record.commit == git(repo, "rev-parse", "HEAD").strip()
    assert entry.record.branch == "main" and entry.record.source == "post-commit"
    assert entry.state.attempts == 1 and "127.0.0.1" in (entry.state.last_error or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: app\nparams: {a: null}\n", ".mlflow-gitver.yaml:2:13: params.a is null"),
        (None, "no config file in commit"),
    ],
)
def test_post_commit_invalid_config_fails_that_version_only(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str | None, expected: str
) -> None:
    if text is not None:
        write(repo / ".mlflow-gitver.yaml", text)
        commit_all(repo, "bad config")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "is not registered" in err
    s = store(repo)
    assert s.list_pending() == []
    [failed] = s.list_failed()
    assert expected in (failed.state.last_error or "")


@pytest.mark.server
def test_post_commit_background_registers_after_returning(repo: Path, server_url: str) -> None:
    experiment = configure(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    # A real process, as git runs it: it must return without waiting for the flush.
    proc = cli("hook", "post-commit", cwd=repo)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    deadline = time.monotonic() + 120
    while background_flushes(repo) or store(repo).list_pending():
        assert time.monotonic() < deadline, "background registration did not finish"
        time.sleep(0.1)
    assert len(versions(server_url, experiment)[head]) == 1
    log = (repo / ".git" / "mlflow-gitver" / "hook.log").read_text()
    assert f"{head[:12]} registered: app-git-" in log


def test_post_commit_on_a_detached_head_and_from_a_subdirectory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        repo, f"http://127.0.0.1:{free_port()}", "hooks: {post_commit: {background: false}}\n"
    )
    git(repo, "checkout", "-q", "--detach")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    assert main(["hook", "post-commit"]) == 0  # background: false: registered (deferred) here
    [entry] = store(repo).list_pending()
    assert entry.record.commit == git(repo, "rev-parse", "HEAD").strip()
    assert entry.record.branch is None and entry.state.attempts == 1


def test_post_commit_on_an_unborn_branch_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    assert main(["hook", "post-commit", "--repo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HEAD names no commit" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], Args("post-commit")),
        (["--sync"], Args("post-commit", sync=True)),
        (["--repo", "x y"], Args("post-commit", Path("x y"))),
        (["--repo=x", "--sync"], Args("post-commit", Path("x"), sync=True)),
        (["--help"], None),
        (["--repo"], None),
        (["--all"], None),
        (["extra"], None),
    ],
)
def test_main_reads_only_the_usual_arguments_itself(args: list[str], expected: Args | None) -> None:
    assert post_commit_args(args) == expected


def test_other_arguments_go_to_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["hook", "post-commit", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --bogus" in err


def _hook_process_imports(repo: Path, env: dict[str, str]) -> set[str]:
    """The modules a real ``hook post-commit`` process (as git starts it) imports."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlflow_gitver", "hook", "post-commit"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    settle(repo)
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


@pytest.mark.imports_counted
def test_hook_process_imports_only_what_it_needs(repo: Path) -> None:
    """The hook runs after every commit: it must not pay for the CLI parser,
    subprocess or MLflow, nor for YAML once the committed config is known to be
    valid.  Checked on the import log, not on wall time (bench/bench_commit.py)."""
    configure(repo, f"http://127.0.0.1:{free_port()}")
    env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
    first = _hook_process_imports(repo, env)
    assert "mlflow_gitver.commands.hook.post_commit" in first  # the log is the hook's
    assert "yaml" in first  # a config not seen before is validated
    write(repo / "app.py", "print('changed')\n")
    commit_all(repo, "same config")
    second = _hook_process_imports(repo, env)
    assert "mlflow_gitver.commands.hook.post_commit" in second
    for heavy in ("argparse", "subprocess", "mlflow", "mlflow_gitver.cli", "yaml", "dataclasses"):
        assert heavy not in second, heavy
    assert len(store(repo).list_pending()) == 2


def _next_commit_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Commit what is in the tree; the hook must refuse it in one line: that line."""
    commit_all(repo, "next")
    capsys.readouterr()
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not registered" in err
    return err


def test_a_config_changed_to_invalid_is_caught_after_a_valid_one(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 0
    settle(repo)
    facts = known_valid(store(repo), git(repo, "show", "HEAD:.mlflow-gitver.yaml"))
    assert facts is not None and facts.background is True
    write(repo / ".mlflow-gitver.yaml", "name: app\nparms: {}\n")
    err = _next_commit_fails(repo, capsys)
    assert ".mlflow-gitver.yaml:2:1: unknown key 'parms'" in err


def test_a_config_reading_the_environment_is_checked_at_every_commit(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}", "tags: {team: '${TEAM}'}\n")
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    monkeypatch.setenv("TEAM", "search")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 0
    settle(repo)
    assert not store(repo).validated.exists()  # valid now, but only with this environment
    monkeypatch.delenv("TEAM")
    write(repo / "app.py", "print('changed')\n")
    assert "environment variable TEAM is not set" in _next_commit_fails(repo, capsys)


# --- storage faults: never lose a version silently --------------------------------


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _hook(repo: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlflow_gitver", "hook", "post-commit"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,  # type: ignore[call-overload]
    )


def _status(repo: Path) -> subprocess.CompletedProcess[str]:
    return cli("status", "--repo", str(repo))


def test_a_file_size_limit_says_not_recorded_and_status_names_the_commit(repo: Path) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    assert _hook(repo).returncode == 0  # the hooks ran here before
    settle(repo)
    write(repo / "app.py", "print('next')\n")
    commit = commit_all(repo, "next")
    # A real limit in the hook's process: every write past 0 bytes fails (EFBIG).
    proc = _hook(repo, preexec_fn=_file_size_limit(0))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert f"commit {commit[:12]}'s version was NOT recorded" in proc.stderr
    assert "ulimit -f" in proc.stderr and "flush" in proc.stderr and "bug" not in proc.stderr
    status = _status(repo)
    assert status.returncode == 1 and "every recorded version" not in status.stdout
    assert "not recorded: 1 commit(s)" in status.stdout and commit[:12] in status.stdout
    flush = cli(
        "flush", "--repo", str(repo), env={**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
    )
    assert "recorded 1 commit(s) the hooks had not recorded" in flush.stdout
    assert commit in {e.record.commit for e in store(repo).list_pending()}
    assert "not recorded" not in _status(repo).stdout


def test_a_file_where_the_store_directory_goes(repo: Path) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    write(repo / ".git" / "mlflow-gitver", "not a directory\n")
    proc = _hook(repo)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "was NOT recorded" in proc.stderr and "move aside" in proc.stderr
    assert "bug" not in proc.stderr
    status = _status(repo)
    assert status.returncode == 1
    assert f"{repo / '.git' / 'mlflow-gitver'} is not a directory" in status.stdout


def test_a_read_only_store(repo: Path) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    root = repo / ".git" / "mlflow-gitver"
    (root / "pending").mkdir(parents=True)
    (root / "pending").chmod(0o500)
    try:
        # As root, without the capabilities that write through mode bits.
        env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
        proc = cli_without_root_powers("hook", "post-commit", cwd=repo, env=env)
        assert proc.returncode == 1 and "was NOT recorded" in proc.stderr
        assert "writable" in proc.stderr
        assert _status(repo).returncode == 1
    finally:
        (root / "pending").chmod(0o700)


def test_hooks_killed_at_any_moment_never_leave_status_saying_all_is_well(repo: Path) -> None:
    """SIGKILL the hook at random moments: its record is whole or absent, and
    `status` reports an absent one; `flush` records it afterwards."""
    configure(repo, f"http://127.0.0.1:{free_port()}")
    s = store(repo)
    assert _hook(repo).returncode == 0
    settle(repo)
    s.root.mkdir(parents=True, exist_ok=True)
    held = s.try_flush_lock()  # as if a flusher ran: the hooks only record
    assert held is not None
    rng = random.Random(1234)
    commits = []
    env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
    try:
        for i in range(10):
            write(repo / "app.py", f"print({i})\n")
            commits.append(commit_all(repo, f"c{i}"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow_gitver", "hook", "post-commit"],
                cwd=repo,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0, 0.15))
            proc.kill()
            proc.wait()
            status = _status(repo)
            assert status.returncode == 1, status.stdout
            assert commits[-1][:12] in status.stdout  # pending or not recorded
        for path in s.pending.glob("*.json"):
            json.loads(path.read_text())  # never torn
    finally:
        os.close(held)
    cli("flush", "--repo", str(repo), env=env)
    assert set(commits) <= {e.record.commit for e in s.list_pending()}
    assert "not recorded" not in _status(repo).stdout


def test_a_running_flusher_means_the_hook_only_records(repo: Path) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    s = store(repo)
    s.root.mkdir(parents=True)
    held = s.try_flush_lock()
    assert held is not None
    try:
        proc = _hook(repo)
        assert proc.returncode == 0, proc.stderr
        assert background_flushes(repo) == []  # none started: the holder drains the queue
        assert [e.record.commit for e in s.list_pending()] == [
            git(repo, "rev-parse", "HEAD").strip()
        ]
    finally:
        os.close(held)
    assert not (s.root / "hook.log").exists()


def test_post_merge_records_the_merge_commit(repo: Path) -> None:
    configure(repo, f"http://127.0.0.1:{free_port()}")
    s = store(repo)
    assert _hook(repo).returncode == 0
    settle(repo)
    s.root.mkdir(parents=True, exist_ok=True)
    held = s.try_flush_lock()
    try:
        git(repo, "checkout", "-q", "-b", "side")
        side = commit_all(repo, "side")
        git(repo, "checkout", "-q", "main")
        main_commit = commit_all(repo, "main")
        git(repo, "merge", "-q", "--no-edit", "side")
        merge = git(repo, "rev-parse", "HEAD").strip()
        proc = cli("hook", "post-merge", "0", cwd=repo)
        assert proc.returncode == 0, proc.stderr
        recorded = {e.record.commit for e in s.list_pending()}
        # The commits no hook ran for are caught up too (from HEAD's reflog).
        assert {side, main_commit, merge} <= recorded
        again = cli("hook", "post-rewrite", "rebase", cwd=repo)
        assert again.returncode == 0 and again.stderr == ""
    finally:
        if held is not None:
            os.close(held)


@pytest.mark.parametrize("stage", ["post-merge", "post-rewrite"])
def test_the_first_hook_run_in_a_clone_records_head_whatever_the_stage(
    repo: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # Found through prek: a post-merge (or post-rewrite) that is the first hook ever
    # to run here only started reading the reflog, and its own commit was missed.
    configure(repo, f"http://127.0.0.1:{free_port()}")
    git(repo, "checkout", "-q", "-b", "side")
    write(repo / "side.txt", "s\n")
    commit_all(repo, "side")
    git(repo, "checkout", "-q", "main")
    write(repo / "main.txt", "m\n")
    commit_all(repo, "main")
    git(repo, "merge", "-q", "--no-edit", "side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    assert not store(repo).root.exists()  # no hook ever ran in this clone
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    assert main(["hook", stage, "--repo", str(repo)]) == 0
    settle(repo)
    assert merge in store(repo).recorded_commits()
