"""``apps:`` (config_apps.py): each entry read by the app keys, made into its own Config
inheriting the top level; every error names file:line:column and the fix."""

from __future__ import annotations

import pytest

from mlflow_gitver.config_apps import APP_KEYS, variable_suffix
from testing.configs import error, parse

MONOREPO = """\
experiment: agents
tags: {team: platform}
params: {temperature: 0}
apps:
  - name: support-agent
    paths: [apps/support, libs/common, ":!apps/support/docs"]
    params: {llm: gpt-4o-mini}
  - name: triage-agent
    paths: apps/triage
    params: {llm: gpt-4o, temperature: 1}
    experiment: triage
"""


def test_apps_inherit_the_top_level() -> None:
    c = parse(MONOREPO)
    support, triage = c.apps
    assert (support.name, support.experiment) == ("support-agent", "agents")
    assert support.paths == ("apps/support", "libs/common", ":!apps/support/docs")
    assert support.params == {"temperature": "0", "llm": "gpt-4o-mini"}
    assert (triage.experiment, triage.paths) == ("triage", ("apps/triage",))
    assert triage.params == {"temperature": "1", "llm": "gpt-4o"}  # the app's value wins
    assert support.tags == triage.tags == {"team": "platform"}
    assert support.apps == triage.apps == ()


def test_an_app_params_secret_is_refused_where_it_is() -> None:
    key = "sk-ant-api03-" + "A" * 40
    text = f"secrets: refuse\napps:\n  - name: b\n    params: {{key: {key}}}\n"
    msg = error(text)
    assert msg.startswith("cfg.yaml:4:") and "sk-ant" not in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\napps: [{name: b}]\n", "with 'apps', each app sets its own name"),
        ("apps: [{name: b}]\npaths: [x]\n", "remove the top-level 'paths'"),
        ("apps: [{name: b}, {name: b}]\n", "cfg.yaml:1:26: apps[1]: two apps are named 'b'"),
        ("apps: [{name: b, diff: none}]\n", "apps[0]: 'diff' is set for the whole repository"),
        ("apps: [{name: b, pathz: [x]}]\n", "apps[0]: unknown key 'pathz'; did you mean 'paths'?"),
        ("apps: [{paths: [x]}]\n", "cfg.yaml:1:8: apps[0]: 'name' is missing"),
        ("apps: []\n", "apps is empty"),
        ("apps: {name: b}\n", "apps must be a list"),
        ("apps: [{name: 'a/b'}]\n", "name 'a/b' contains /"),
        ("apps: [{name: b, paths: [/x]}]\n", "apps[0].paths: '/x' is absolute"),
        ("apps: [x]\n", "cfg.yaml:1:8: apps[0] must be a mapping of keys to values"),
        ("apps: [{name: b, tracking_uri: x}]\n", "move it to the top level"),
        ("apps: [{name: b, bogus: 1}]\n", "cfg.yaml:1:18: apps[0]: unknown key 'bogus'"),
        (
            "apps: [{name: a-b}, {name: a_b}]\n",
            "cfg.yaml:1:28: apps[1]: 'a_b' and 'a-b' would share the CI variable suffix A_B; "
            "rename one",
        ),
        ("apps:\n  - name: b\n  - name: c\n  - name: b\n", "cfg.yaml:4:11: apps[2]: two apps"),
    ],
)
def test_apps_errors(text: str, expected: str) -> None:
    assert expected in error(text)


def test_every_app_key_but_name_is_optional_and_the_top_level_has_no_name() -> None:
    c = parse("apps: [{name: only}]\n")
    assert c.name == "" and [a.name for a in c.apps] == ["only"]
    assert c.apps[0].paths == () and c.apps[0].source == "cfg.yaml"


def test_an_app_overrides_scalars_and_merges_tags() -> None:
    c = parse(
        "model_type: agent\nname_template: '{name}-{short_sha}'\ntags: {team: p, env: dev}\n"
        "apps:\n  - name: a\n    tags: {env: prod}\n    model_type: tool\n"
        "    name_template: '{name}-app-{sha}'\n  - name: b\n"
    )
    a, b = c.apps
    assert (a.model_type, a.name_template, a.tags) == (
        "tool",
        "{name}-app-{sha}",
        {"team": "p", "env": "prod"},
    )
    assert (b.model_type, b.name_template, b.tags) == (
        "agent",
        "{name}-{short_sha}",
        {"team": "p", "env": "dev"},
    )
    b.tags["team"] = "changed"  # each app has its own copy of what it inherits
    assert a.tags["team"] == c.tags["team"] == "p"


def test_repository_keys_are_inherited_by_every_app() -> None:
    c = parse("diff: none\nuntracked: false\napps: [{name: a}, {name: b}]\n")
    assert [(a.diff, a.untracked) for a in c.apps] == [("none", False), ("none", False)]


def test_the_app_keys_are_config_keys() -> None:
    from mlflow_gitver.config import KEYS

    assert set(APP_KEYS) <= set(KEYS)


@pytest.mark.parametrize(
    ("app", "suffix"),
    [
        ("support-agent", "SUPPORT_AGENT"),
        ("a.b c", "A_B_C"),
        ("x9", "X9"),
        ("café", "CAF_"),  # a CI variable name is ASCII
        ("", ""),
    ],
)
def test_variable_suffix(app: str, suffix: str) -> None:
    assert variable_suffix(app) == suffix
