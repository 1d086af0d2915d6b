"""``.mlflow-gitver.yaml``: every validation error names file:line:column and the fix.

The table of keys (config.py): names, defaults, unknown keys, the checks that need
other keys, load_config and the schema stamp.  The YAML reader has test_yamlnodes.py,
the value readers test_config_readers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver.config import Config, ConfigError, load_config
from testing.configs import error, parse

EXAMPLE = """\
name: customer-support-agent        # required: the application's name
experiment: customer-support        # optional
tracking_uri: http://mlflow.internal:5000   # optional
model_type: agent                   # optional
untracked: true                     # optional, default true
params:                             # optional: the configuration of this version
  llm: gpt-4o-mini
  temperature: 0.7
  retrieval:
    strategy: vector_search_v3      # nested keys flatten to "retrieval.strategy"
  system_prompt_version: ${PROMPT_VERSION:-v3}   # env interpolation with default
tags:                               # optional
  team: support
"""


def test_the_issue_example() -> None:
    cfg = parse(EXAMPLE)
    assert cfg == Config(
        name="customer-support-agent",
        source="cfg.yaml",
        experiment="customer-support",
        tracking_uri="http://mlflow.internal:5000",
        model_type="agent",
        untracked=True,
        params={
            "llm": "gpt-4o-mini",
            "temperature": "0.7",
            "retrieval.strategy": "vector_search_v3",
            "system_prompt_version": "v3",
        },
        tags={"team": "support"},
    )
    assert parse(EXAMPLE, {"PROMPT_VERSION": "v9"}).params["system_prompt_version"] == "v9"


def test_minimal_and_defaults() -> None:
    cfg = parse("name: app\n")
    assert (cfg.name, cfg.untracked, cfg.params, cfg.tags, cfg.diff) == ("app", True, {}, {}, "all")
    assert (cfg.experiment, cfg.tracking_uri, cfg.model_type, cfg.name_template) == (None,) * 4
    assert (cfg.pre_push_required, cfg.pre_push_all, cfg.post_commit_background) == (
        False,
        False,
        True,
    )


def test_all_keys() -> None:
    cfg = parse(
        "name: app\nexperiment: 12\nuntracked: false\ndiff: tracked\n"
        "name_template: '{name}-{short_sha}-{branch}'\n"
        "hooks:\n  post_commit: {background: false}\n  pre_push: {required: true, all: true}\n"
    )
    assert cfg.experiment == "12" and cfg.untracked is False and cfg.diff == "tracked"
    assert cfg.name_template == "{name}-{short_sha}-{branch}"
    assert (cfg.post_commit_background, cfg.pre_push_required, cfg.pre_push_all) == (
        False,
        True,
        True,
    )


# --- syntax and shape --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "cfg.yaml: the file is empty; it needs at least 'name: <your app>'"),
        ("# only a comment\n", "cfg.yaml: the file is empty"),
        ("- name: a\n", "cfg.yaml:1:1: the top level must be a mapping, e.g. 'name: my-app'"),
        ("just text\n", "cfg.yaml:1:1: the top level must be a mapping"),
        ("experiment: x\n", "cfg.yaml:1:1: 'name' is missing; add 'name: <your app>'"),
    ],
)
def test_shape_errors(text: str, expected: str) -> None:
    assert error(text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\nparam:\n  x: 1\n", "cfg.yaml:2:1: unknown key 'param'; did you mean 'params'?"),
        ("name: a\ntag: {}\n", "cfg.yaml:2:1: unknown key 'tag'; did you mean 'tags'?"),
        ("name: a\nexperimnet: x\n", "did you mean 'experiment'?"),
        ("name: a\nuntraked: true\n", "did you mean 'untracked'?"),
        ("name: a\nzzz: 1\n", "cfg.yaml:2:1: unknown key 'zzz'; known keys: name, experiment,"),
        ("name: a\nhooks:\n  post-commit: {}\n", "cfg.yaml:3:3: unknown hook 'post-commit'; "
         "did you mean 'post_commit'?"),
        ("name: a\nhooks:\n  pre_push: {requird: true}\n",
         "cfg.yaml:3:14: unknown option hooks.pre_push.requird; did you mean 'required'?"),
    ],
)  # fmt: skip
def test_unknown_keys_suggest(text: str, expected: str) -> None:
    msg = error(text)
    assert expected in msg, msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: 12\n", "cfg.yaml:1:7: name must be a string"),
        ("name: [a]\n", "cfg.yaml:1:7: name must be a string"),
        ("name: a\nuntracked: 'yes'\n", "cfg.yaml:2:12: untracked must be true or false"),
        ("name: a\nuntracked: 1\n", "cfg.yaml:2:12: untracked must be true or false"),
        ("name: a\nexperiment: 1.5\n", "cfg.yaml:2:13: experiment must be a string or a number"),
        ("name: a\nexperiment: true\n", "experiment must be a string or a number"),
        ("name: a\ntracking_uri: 5\n", "cfg.yaml:2:15: tracking_uri must be a string"),
        ("name: a\nparams: [a, b]\n", "cfg.yaml:2:9: params must be a mapping"),
        ("name: a\nparams:\n", "cfg.yaml:2:8: params must be a mapping"),
        ("name: a\ntags: x\n", "cfg.yaml:2:7: tags must be a mapping"),
        ("name: a\ndiff: some\n", "cfg.yaml:2:7: diff must be one of all, tracked, none"),
        ("name: a\nhooks: {pre_push: {all: 'no'}}\n", "hooks.pre_push.all must be true or false"),
        ("name: a\nhooks: {pre_push: true}\n", "hooks.pre_push must be a mapping"),
        ("name: a\nparams:\n  ? [a]\n  : 1\n", "cfg.yaml:3:5: params: keys must be plain strings"),
        ("name: a\nparams:\n  x: !foo bar\n", "cfg.yaml:3:6: could not determine a constructor"),
        ("name: a\nparams:\n  x: !!int abc\n", "cfg.yaml:3:6: invalid literal for int()"),
        ("name: a\nparams:\n  b: !!binary aGVsbG8=\n", "binary values are not supported"),
        ("name: !foo bar\n", "cfg.yaml:1:7: could not determine a constructor for the tag"),
        ("name: a\nparams:\n  x: &r [*r]\n", "cfg.yaml:3:6: params.x is nested too deeply"),
        ("name: a\n<<: {x: 1}\n", "cfg.yaml:2:1: merge keys (<<) are not supported"),
        ("name: a\nparams:\n  <<: {x: 1}\n", "cfg.yaml:3:3: merge keys (<<) are not supported"),
    ],
)
def test_wrong_types(text: str, expected: str) -> None:
    msg = error(text)
    assert msg.startswith(expected) or expected in msg, msg


@pytest.mark.parametrize("name", ["a/b", "a:b", "a.b", "a%b", 'a"b', "a'b", "team.app/v1"])
def test_forbidden_name_characters(name: str) -> None:
    quoted = name.replace("'", "''")
    msg = error(f"name: '{quoted}'\n")
    assert msg.startswith("cfg.yaml:1:7: name ")
    assert "which MLflow refuses in model names; use letters, digits, '-' and '_'" in msg
    for c in set(name) & set("/:.%\"'"):
        assert c in msg.split("contains ")[1].split(",")[0]


def test_empty_name() -> None:
    assert error("name: '  '\n") == "cfg.yaml:1:7: name must not be empty"


# --- environment interpolation -----------------------------------------------------------------


def test_name_and_model_type_interpolate() -> None:
    cfg = parse("name: ${APP:-app}\nmodel_type: ${KIND}\n", {"KIND": "agent"})
    assert (cfg.name, cfg.model_type) == ("app", "agent")
    assert "contains /" in error("name: ${APP}\n", {"APP": "a/b"})


# --- name_template -----------------------------------------------------------------------------


def test_name_template_fields() -> None:
    t = "{name}-{short_sha}-{sha}-{digest}-{version_id}-{branch}-{params_digest}"
    assert parse(f"name: a\nname_template: '{t}'\n").name_template == t
    assert parse("name: a\nname_template: '{name}_{short_sha:.6}'\n").name_template


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{name}-{commit}",
            "cfg.yaml:2:16: name_template: unknown field {commit}; fields: {name},",
        ),
        ("{name}-{}", "unknown field {}"),
        ("{name}-{0}", "unknown field {0}"),
        ("{name}-{sha[0]}", "unknown field {sha[0]}"),
        ("{name}-{branch}", "name_template must contain {short_sha}, {sha} or {version_id}"),
        ("{name}-{short_sha", "name_template: expected '}' before end of string"),
        ("{name}-{short_sha}}", "name_template: Single '}' encountered"),
        ("app/{short_sha}", "name_template contains /, which MLflow refuses"),
        ("v1.{short_sha}", "name_template contains ., which MLflow refuses"),
        ("{name}-{short_sha:d}", "name_template: Unknown format code 'd'"),
        ("{name}-{short_sha!z}", "name_template: Unknown conversion specifier z"),
    ],
)
def test_name_template_errors(template: str, expected: str) -> None:
    msg = error(f"name: a\nname_template: '{template}'\n")
    assert expected in msg, msg


# --- load_config ------------------------------------------------------------


def test_load_config_file(tmp_path: Path) -> None:
    path = tmp_path / ".mlflow-gitver.yaml"
    path.write_text("name: app\nparams:\n  x: 1\n")
    cfg = load_config(path, {})
    assert cfg.source == str(path) and cfg.params == {"x": "1"}
    path.write_text("name: app\nparams:\n  x: ${NOPE}\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3:6: params.x: environment variable NOPE"):
        load_config(path, {})


def test_load_config_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config file; create one with 'mlflow-gitver init'"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="cannot read the config: Is a directory"):
        load_config(tmp_path)


# --- issue 12: one credential rule, one table, one stamp ---------------------------


def test_every_row_is_a_config_attribute_with_its_default() -> None:
    from mlflow_gitver.config import KEYS

    cfg = parse("name: app\n")
    assert list(KEYS)[:3] == ["name", "experiment", "tracking_uri"]
    for field, row in KEYS.items():
        assert row.field == field
        if not row.required:
            assert getattr(cfg, field) == row.default, field
    # Paths are unique, and a section's rows sit under it.
    paths = [row.path for row in KEYS.values()]
    assert len(set(paths)) == len(paths)
    assert {p.split(".")[1] for p in paths if p.startswith("hooks.")} == {"post_commit", "pre_push"}


def test_config_defaults_are_not_shared() -> None:
    a, b = Config(name="a", source="x"), Config(name="b", source="x")
    a.params["k"] = "v"
    assert b.params == {}
    with pytest.raises(AttributeError):
        a.name = "c"
    with pytest.raises(TypeError, match="unknown keys"):
        Config(name="a", source="x", nope=1)


# --- paths (issue 13; apps: test_config_apps.py) -------------------------------------------


def test_paths_are_read_in_order() -> None:
    c = parse("name: a\npaths: [apps/a, ':!apps/a/docs', 'libs/*']\n")
    assert c.paths == ("apps/a", ":!apps/a/docs", "libs/*")
    assert parse("name: a\n").paths == ()
    assert parse("name: a\npaths: apps/a\n").paths == ("apps/a",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\npaths: [/abs]\n", "cfg.yaml:2:9: paths: '/abs' is absolute"),
        ("name: a\npaths: ['../up']\n", "cfg.yaml:2:9: paths: '../up' has a '..' part"),
        ("name: a\npaths: ['']\n", "cfg.yaml:2:9: paths: an empty path"),
        ("name: a\npaths: []\n", "cfg.yaml:2:8: paths is empty"),
        ("name: a\npaths: [a, a]\n", "cfg.yaml:2:12: paths: 'a' is listed twice"),
        ("name: a\npaths: {a: 1}\n", "cfg.yaml:2:8: paths must be a list"),
        ("name: a\npaths: [1]\n", "cfg.yaml:2:9: each entry of paths must be a string"),
        ("name: a\npaths: [':(nope)a']\n", "unknown pathspec magic 'nope'"),
    ],
)
def test_paths_errors(text: str, expected: str) -> None:
    assert expected in error(text)
