"""Model names, params and tags: pure functions of a state and a config, and the
plan (VersionPlan) that adds what git knows of the commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_gitver.config import FORBIDDEN_NAME_CHARS, Config, parse_config
from mlflow_gitver.context import open_repo
from mlflow_gitver.description import TAG_NOTE
from mlflow_gitver.git import Repo
from mlflow_gitver.gitstate import Change, GitState, state_of
from mlflow_gitver.naming import (
    GIT_BRANCH,
    GIT_COMMIT,
    GIT_DIRTY,
    GIT_REPO_URL,
    TAG_APP,
    TAG_AUTHOR,
    TAG_DATE,
    TAG_DIGEST,
    TAG_PARAMS_DIGEST,
    TAG_SUBJECT,
    TAG_VERSION_ID,
    CommitInfo,
    VersionPlan,
    build_spec,
    model_name,
    params_digest,
    sanitize,
)
from testing.repos import git, write

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "fedcba98" + "0" * 56


def state(*, dirty: bool = False, branch: str | None = "main") -> GitState:
    changes = (Change(b"a.py", "modified", "100644", "1" * 40),) if dirty else ()
    return GitState(
        repo=Repo(Path("/r"), Path("/r/.git"), Path("/r/.git"), False, "sha1"),
        commit=SHA,
        branch=branch,
        changes=changes,
        digest=DIGEST if dirty else None,
    )


def cfg(text: str = "name: app\n") -> Config:
    return parse_config(text, "cfg.yaml", {})


def test_default_names() -> None:
    assert model_name(cfg(), state(), "main") == "app-git-01234567"
    assert model_name(cfg(), state(dirty=True), "main") == "app-git-01234567-dirty-fedcba98"
    assert model_name(cfg(), state(), "main", sha_len=12) == "app-git-0123456789ab"


def test_template_fields_sanitized() -> None:
    c = cfg(
        "name: app\nparams: {x: 1}\n"
        "name_template: '{name}_{short_sha}_{branch}_{digest}_{params_digest}'\n"
    )
    name = model_name(c, state(dirty=True), "feature/x.y:z 'q'")
    assert name == f"app_01234567_feature-x-y-z-q_fedcba98_{params_digest({'x': '1'})}"
    assert not set(name) & set(FORBIDDEN_NAME_CHARS)
    assert model_name(c, state(), None).startswith("app_01234567_detached__")
    full = cfg("name: app\nname_template: '{version_id}-{sha}'\n")
    assert model_name(full, state(dirty=True), "main") == (f"{SHA[:32]}-dirty-fedcba98-{SHA}")


@given(branch=st.text(max_size=40))
def test_property_any_branch_gives_an_acceptable_name(branch: str) -> None:
    c = cfg("name: app\nname_template: '{name}-{branch}-{short_sha}'\n")
    name = model_name(c, state(), branch)
    assert name and not set(name) & set(FORBIDDEN_NAME_CHARS)
    assert name.endswith("-01234567")


def test_sanitize() -> None:
    assert sanitize("a/b:c.d%e\"f'g h\tI") == "a-b-c-d-e-f-g-h-I"
    assert sanitize("///") == "x"
    assert sanitize("-ok-") == "ok"


def test_params_digest_is_order_independent_and_sensitive() -> None:
    assert params_digest({"a": "1", "b": "2"}) == params_digest({"b": "2", "a": "1"})
    assert params_digest({"a": "1"}) != params_digest({"a": "2"})
    assert params_digest({"a": "1"}) != params_digest({"a1": ""})
    assert len(params_digest({})) == 8


def test_build_spec_clean() -> None:
    c = cfg("name: app\nmodel_type: agent\nparams: {llm: gpt}\ntags: {team: support}\n")
    spec = build_spec(c, state(), repo_url="https://github.com/o/r")
    assert spec.name == "app-git-01234567"
    assert spec.version_id == SHA and spec.commit == SHA and not spec.dirty
    assert spec.params == {"llm": "gpt"} and spec.model_type == "agent"
    assert spec.tags == {
        "team": "support",
        GIT_COMMIT: SHA,
        GIT_DIRTY: "false",
        GIT_BRANCH: "main",
        GIT_REPO_URL: "https://github.com/o/r",
        TAG_VERSION_ID: SHA,
        TAG_PARAMS_DIGEST: params_digest({"llm": "gpt"}),
    }


def test_build_spec_dirty_with_commit_info_and_branch_override() -> None:
    info = CommitInfo("A <a@x>", "2024-01-01T00:00:00+00:00", "subject")
    spec = build_spec(cfg(), state(dirty=True, branch=None), branch="ci-branch", commit_info=info)
    assert spec.branch == "ci-branch" and spec.tags[GIT_BRANCH] == "ci-branch"
    assert spec.tags[GIT_DIRTY] == "true" and spec.tags[TAG_DIGEST] == DIGEST
    assert spec.tags[TAG_VERSION_ID] == f"{SHA[:32]}-dirty-fedcba98"
    assert (spec.tags[TAG_AUTHOR], spec.tags[TAG_DATE], spec.tags[TAG_SUBJECT]) == (
        "A <a@x>",
        "2024-01-01T00:00:00+00:00",
        "subject",
    )
    assert GIT_BRANCH not in build_spec(cfg(), state(branch=None)).tags


def test_system_tags_win_and_values_are_capped() -> None:
    c = cfg(f"name: app\ntags:\n  {GIT_COMMIT}: forged\n  long: {'x' * 8000}\n")
    spec = build_spec(c, state(), extra_tags={"extra": "y" * 9000})
    assert spec.tags[GIT_COMMIT] == SHA
    assert len(spec.tags["long"]) == 8000
    assert len(spec.tags["extra"]) == 8000 and spec.tags["extra"].endswith("…")


@pytest.mark.parametrize("sha_len", [8, 12, 40])
def test_full_id_always_in_a_tag(sha_len: int) -> None:
    spec = build_spec(cfg(), state(dirty=True), sha_len=sha_len)
    assert spec.tags[TAG_VERSION_ID] == state(dirty=True).version_id
    assert spec.name.startswith("app-git-" + SHA[:sha_len])


def test_the_plan_adds_what_git_knows(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://u:pw@example.com/o/r.git")
    write(repo / "app.py", "changed\n")
    r = open_repo(repo)
    plan = VersionPlan(r, state_of(r), cfg(), extra_tags={"mlflow_gitver.ci.run": "7"})
    cheap, full = plan.cheap(), plan.full()
    assert cheap.name == full.name and cheap.params == full.params
    assert cheap.tags.items() <= full.tags.items()
    assert {TAG_APP, "mlflow_gitver.ci.run"} <= cheap.tags.keys()
    added = set(full.tags) - set(cheap.tags)
    assert {TAG_AUTHOR, TAG_DATE, TAG_SUBJECT, GIT_REPO_URL, "mlflow.source.git.diff"} <= added
    assert full.tags[GIT_REPO_URL] == "https://example.com/o/r.git"  # redacted
    assert full.tags[TAG_SUBJECT] == "initial"


def test_a_ready_model_is_topped_up_with_what_it_lacks_only(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.com/o/r.git")
    r = open_repo(repo)
    plan = VersionPlan(r, state_of(r), cfg())
    cheap = plan.cheap()
    facts = {TAG_AUTHOR: "a", TAG_DATE: "d", TAG_SUBJECT: "s", GIT_REPO_URL: "u"}
    have = {**cheap.tags, **facts, TAG_NOTE: "edited in the UI"}
    assert plan.topped_up(cheap, have) == cheap
    topped = plan.topped_up(cheap, cheap.tags)
    added = {TAG_AUTHOR, TAG_DATE, TAG_SUBJECT, GIT_REPO_URL, TAG_NOTE}
    assert added == set(topped.tags) - set(cheap.tags)
    # A model that has the commit's facts but no description gets one, from the
    # facts it has (not re-sent), and nothing else.
    only_note = plan.topped_up(cheap, {**cheap.tags, **facts})
    assert set(only_note.tags) - set(cheap.tags) == {TAG_NOTE}
    assert "> s\n" in only_note.tags[TAG_NOTE] and "- Author: a\n" in only_note.tags[TAG_NOTE]
