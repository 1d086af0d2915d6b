"""The version's Markdown description (``mlflow.note.content``): what it says, that
Markdown in a subject or file name cannot break it, its cap, its redaction, and that a
real registration stores it on the real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_gitver import description
from mlflow_gitver.config import MAX_TAG_LEN, parse_config
from mlflow_gitver.context import open_repo
from mlflow_gitver.description import TAG_NOTE, render
from mlflow_gitver.gitstate import state_of
from mlflow_gitver.naming import VersionPlan
from testing.cli import cli
from testing.repos import commit_all, git, write

SHA = "0123456789abcdef0123456789abcdef01234567"


def _tags(**extra: str) -> dict[str, str]:
    return {
        "mlflow.source.git.commit": SHA,
        "mlflow.source.git.dirty": "false",
        "mlflow_gitver.version_id": SHA,
        "mlflow.source.git.branch": "main",
        "mlflow_gitver.commit.author": "Ada <ada@example.com>",
        "mlflow_gitver.commit.subject": "Use the new retriever",
        "mlflow_gitver.app": "shop",
        **extra,
    }


def test_a_clean_version_says_commit_subject_author_branch_ci_and_params() -> None:
    text = render(
        _tags(
            **{
                "mlflow_gitver.ci.run_url": "https://ci.example.com/runs/7",
                "mlflow_gitver.ci.pr_url": "https://git.example.com/o/r/pull/12",
                "mlflow_gitver.ci.pr_number": "12",
            }
        ),
        {"temperature": "0.2", "model": "gpt-x"},
    )
    assert text.startswith("**Commit** `0123456789ab`\n")
    assert "uncommitted" not in text
    assert "> Use the new retriever\n" in text
    assert "- Author: Ada \\<ada@example.com\\>\n" in text
    assert "- Branch: `main`\n" in text and "- App: `shop`\n" in text
    assert "- CI run: <https://ci.example.com/runs/7>\n" in text
    assert "- Pull request: <https://git.example.com/o/r/pull/12>\n" in text
    # Params sorted, one row each.
    assert "| `model` | `gpt-x` |\n| `temperature` | `0.2` |" in text


def test_a_pull_request_without_a_url_is_its_number_and_no_ci_no_lines() -> None:
    text = render(_tags(**{"mlflow_gitver.ci.pr_number": "5"}), {})
    assert "- Pull request: #5\n" in text
    assert "CI run" not in text and "Params" not in text


def test_a_dirty_version_lists_its_changed_and_unstored_files() -> None:
    tags = _tags(**{"mlflow.source.git.dirty": "true"})
    changes = [("app.py", "modified"), ("new file.txt", "untracked")]
    text = render(tags, {}, changes, [(".env", "secret")])
    assert "with uncommitted changes" in text.splitlines()[0]
    assert "- `app.py` (modified)\n- `new file.txt` (untracked)\n" in text
    assert "- `.env`: not stored (secret)\n" in text


def test_a_detached_head_says_so() -> None:
    tags = _tags()
    del tags["mlflow.source.git.branch"]
    assert "- Branch: none (detached HEAD)\n" in render(tags, {})


def test_markdown_in_a_subject_or_a_name_reads_as_written() -> None:
    tags = _tags(
        **{"mlflow_gitver.commit.subject": "fix *all* [links](x)\nsecond"},
        **{"mlflow.source.git.dirty": "true"},
    )
    text = render(tags, {"a|b": "x`y"}, [("`odd`", "modified")])
    assert "> fix \\*all\\* \\[links\\](x) second\n" in text
    assert "| `a\\|b` | ``x`y`` |" in text  # '|' cannot end the cell, '`' the code
    assert "- `` `odd` `` (modified)" in text


def test_many_files_and_long_params_stay_under_the_tag_limit() -> None:
    tags = _tags(**{"mlflow.source.git.dirty": "true"})
    changes = [(f"dir/file-{i:05d}.py", "modified") for i in range(5000)]
    params = {f"p{i}": "x" * 6000 for i in range(60)}
    text = render(tags, params, changes)
    assert len(text) <= MAX_TAG_LEN
    assert f"- and {5000 - description.MAX_FILES} more" in text or text.endswith(
        "(cut at MLflow's tag limit)\n"
    )
    assert "x" * 201 not in text  # a long value is shortened in its cell


@given(st.text(max_size=12000))
def test_cap_keeps_whole_lines_under_the_limit(text: str) -> None:
    capped = description.cap(text)
    assert len(capped) <= MAX_TAG_LEN
    if len(text) <= MAX_TAG_LEN:
        assert capped == text
    else:
        kept = capped.removesuffix("\n\n(cut at MLflow's tag limit)\n")
        assert text.startswith(kept) and (kept == "" or text[len(kept)] == "\n")


def test_the_plan_redacts_a_credential_in_a_file_name_and_a_subject(repo: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    write(repo / "app.py", "x = 1\n")
    git(repo, "commit", "-qam", f"rotate {token}")
    write(repo / f"notes-{token}.txt", "hello\n")
    r = open_repo(repo)
    cfg = parse_config("name: app\nparams:\n  k: v\n", "cfg.yaml", {})
    note = VersionPlan(r, state_of(r), cfg).full().tags[TAG_NOTE]
    assert token not in note
    assert "(untracked)" in note and "| `k` | `v` |" in note
    off = parse_config("name: app\nsecrets: off\n", "cfg.yaml", {})
    assert token in VersionPlan(r, state_of(r), off).full().tags[TAG_NOTE]


@pytest.mark.server
def test_a_registered_version_shows_its_description_on_the_server(
    repo: Path, server_url: str
) -> None:
    from mlflow import MlflowClient

    exp = f"note-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml", f"name: shop\nexperiment: {exp}\ntracking_uri: {server_url}\n"
    )
    commit_all(repo, "Add the *shop* app")
    write(repo / "app.py", "print('wip')\n")
    out = cli("register", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    model = MlflowClient(server_url).get_logged_model(json.loads(out.stdout)["model_id"])
    note = model.tags[TAG_NOTE]
    assert "> Add the \\*shop\\* app\n" in note and "- `app.py` (modified)" in note
    # An edit made in the UI is the user's: registering again leaves it.
    MlflowClient(server_url).set_logged_model_tags(model.model_id, {TAG_NOTE: "mine"})
    again = cli("register", "--format", "json", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert MlflowClient(server_url).get_logged_model(model.model_id).tags[TAG_NOTE] == "mine"
