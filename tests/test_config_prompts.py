"""``prompts:`` (config_prompts.py): the entries' forms, and one file:line error per
mistake.  What they pin is decided at registration (tests/test_pins.py)."""

from __future__ import annotations

import pytest

from mlflow_gitver.config_prompts import PromptRef
from testing.configs import error, parse

PROMPTS = """\
name: app
prompts:
  - uri: prompts:/support-system@production
  - prompts:/router/3
  - name: triage-rules
    file: ./prompts/triage.md
"""


def test_the_three_forms() -> None:
    support, router, triage = parse(PROMPTS).prompts
    assert (support.name, support.alias, support.version, support.file) == (
        "support-system",
        "production",
        None,
        None,
    )
    assert (router.name, router.alias, router.version) == ("router", None, 3)
    assert (triage.name, triage.file, triage.alias) == ("triage-rules", "prompts/triage.md", None)
    assert [r.param for r in (support, router, triage)] == [
        "prompt.support-system",
        "prompt.router",
        "prompt.triage-rules",
    ]
    assert support.where == "cfg.yaml:3:5" and triage.where == "cfg.yaml:5:5"
    assert [r.source for r in (support, router, triage)] == [
        "alias production",
        "version 3",
        "file prompts/triage.md",
    ]


def test_no_prompts_by_default() -> None:
    assert parse("name: app\n").prompts == ()


def test_the_fingerprint_follows_what_is_pinned_not_where_it_is_written() -> None:
    moved = PROMPTS.replace("prompts:\n", "# the prompts\nprompts:\n")
    assert parse(moved).prompts[0].where != parse(PROMPTS).prompts[0].where
    assert parse(moved).fingerprint() == parse(PROMPTS).fingerprint()
    other = PROMPTS.replace("@production", "@staging")
    assert parse(other).fingerprint() != parse(PROMPTS).fingerprint()


def test_a_uri_may_read_the_environment() -> None:
    text = "name: app\nprompts:\n  - uri: prompts:/support@${STAGE}\n"
    assert parse(text, {"STAGE": "canary"}).prompts[0].alias == "canary"


@pytest.mark.parametrize(
    ("entries", "where", "words"),
    [
        ("  - uri: support@production\n", "3:10", "is not a prompt URI"),
        ("  - prompts:/support\n", "3:5", "is not a prompt URI"),
        ("  - prompts:/support/0\n", "3:5", "versions start at 1"),
        ("  - prompts:/sup port/1\n", "3:5", "may hold only letters"),
        ("  - uri: prompts:/a/1\n    file: a.md\n", "3:5", "not both"),
        ("  - name: a\n", "3:5", "file: PATH"),
        ("  - file: a.md\n", "3:5", "file: PATH"),
        ("  - name: a\n    file: ../a.md\n", "4:11", "leaves the repository"),
        ("  - name: a\n    file: /etc/a.md\n", "4:11", "inside the repository"),
        ("  - name: a\n    file: prompts/\n", "4:11", "is a directory"),
        ("  - name: a\n    path: a.md\n", "4:5", "unknown key 'path'"),
        ("  - uri: prompts:/a/1\n    name: b\n", "4:11", "not the URI's prompt 'a'"),
        (
            "  - prompts:/a/1\n  - name: a\n    file: a.md\n",
            "4:5",
            "pinned twice (first at line 3)",
        ),
        ("  - 3\n", "3:5", "must be a string"),
    ],
)
def test_each_mistake_is_one_line_at_its_place(entries: str, where: str, words: str) -> None:
    msg = error("name: app\nprompts:\n" + entries)
    assert msg.startswith(f"cfg.yaml:{where}: "), msg
    assert words in msg


def test_prompts_must_be_a_list() -> None:
    assert "must be a list" in error("name: app\nprompts: prompts:/a/1\n")


def test_a_param_a_pin_records_is_refused() -> None:
    msg = error("name: app\nparams:\n  prompt.a: x\nprompts:\n  - prompts:/a/1\n")
    assert msg.startswith("cfg.yaml:5:3: ") and "'prompt.a'" in msg and "rename" in msg


def test_a_secret_variable_in_a_uri_is_refused() -> None:
    msg = error("name: app\nprompts:\n  - prompts:/a@${API_TOKEN}\n", {"API_TOKEN": "x"})
    assert "looks like a secret" in msg


def test_an_app_pins_its_own_prompts_or_the_top_level_ones() -> None:
    text = (
        "prompts: [prompts:/shared@production]\n"
        "apps:\n"
        "  - name: a\n    paths: a\n"
        "  - name: b\n    paths: b\n    prompts: [prompts:/b-only/2]\n"
    )
    a, b = parse(text).apps
    assert [r.name for r in a.prompts] == ["shared"]
    assert [(r.name, r.version) for r in b.prompts] == [("b-only", 2)]


def test_refs_compare_by_what_they_pin() -> None:
    assert PromptRef("a", alias="x", where="f:1") == PromptRef("a", alias="x", where="g:9")
    assert PromptRef("a", alias="x") != PromptRef("a", version=1)
    assert "where" not in repr(PromptRef("a", file="p.md", where="f:1"))
