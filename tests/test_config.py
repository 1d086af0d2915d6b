"""``.mlflow-gitver.yaml``: every validation error names file:line:column and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from mlflow_gitver.config import (
    MAX_KEY_LEN,
    MAX_PARAM_LEN,
    MAX_TAG_LEN,
    Config,
    ConfigError,
    load_config,
    parse_config,
)
from mlflow_gitver.errors import GitverError
from testing.secret_corpus import Fake, corpus


def parse(text: str | bytes, env: Mapping[str, str] | None = None) -> Config:
    return parse_config(text, "cfg.yaml", env or {})


def error(text: str | bytes, env: Mapping[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as e:
        parse(text, env)
    assert isinstance(e.value, GitverError) and e.value.exit_code == 2
    msg = str(e.value)
    assert "\n" not in msg
    return msg


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
        ("name: [a\n", "cfg.yaml:2:1: YAML syntax error: expected ',' or ']'"),
        ("name: a\n\tparams: x\n", "cfg.yaml:2:1: YAML syntax error: found character '\\t'"),
        ("name: a\nb: c: d\n", "cfg.yaml:2:5: YAML syntax error: mapping values are not allowed"),
        ("name: 'a\n", "cfg.yaml:2:1: YAML syntax error: found unexpected end of stream"),
        (
            "name: a\n---\nname: b\n",
            "cfg.yaml:2:1: YAML syntax error: "
            "expected a single document in the stream, but found another",
        ),
        ("name: *nope\n", "cfg.yaml:1:7: YAML syntax error: found undefined alias 'nope'"),
    ],
)
def test_yaml_syntax_errors(text: str, expected: str) -> None:
    msg = error(text)
    assert msg.startswith(expected), msg
    assert msg.endswith("fix the syntax")


def test_not_utf8_and_control_characters() -> None:
    assert error(b"name: a\nparams:\n  x: caf\xe9\n").startswith(
        "cfg.yaml:3:9: unreadable character (invalid continuation byte)"
    )
    assert error("name: a\nparams:\n  x: \x07\n").startswith("cfg.yaml:3:6: unreadable character")


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


# --- values -------------------------------------------------------------------------------


def test_values_become_strings() -> None:
    cfg = parse(
        "name: a\nparams:\n  i: 3\n  f: 0.7\n  big: 1.0e+3\n  t: true\n  n: no\n  hex: 0x1F\n"
        "  s: '0.70'\n  d: 2024-01-02\n  l: [1, two, {b: 2, a: 1}]\n  e: []\n  u: ünï\n"
    )
    assert cfg.params == {
        "i": "3",
        "f": "0.7",
        "big": "1000.0",
        "t": "true",
        "n": "false",
        "hex": "31",
        "s": "0.70",
        "d": "2024-01-02",
        "l": '[1,"two",{"a":1,"b":2}]',
        "e": "[]",
        "u": "ünï",
    }


def test_nested_flattening() -> None:
    cfg = parse("name: a\nparams:\n  a:\n    b:\n      c: 1\n    d: 2\n  e: 3\n")
    assert cfg.params == {"a.b.c": "1", "a.d": "2", "e": "3"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\nparams:\n  x:\n", "cfg.yaml:3:5: params.x is null; give it a value, or remove"),
        ("name: a\nparams:\n  x: ~\n", "cfg.yaml:3:6: params.x is null"),
        ("name: a\ntags:\n  x: null\n", "cfg.yaml:3:6: tags.x is null"),
        ("name: a\nparams:\n  x: [1, null]\n", "cfg.yaml:3:6: params.x contains a null"),
        ("name: a\nparams:\n  x: [{a: null}]\n", "cfg.yaml:3:6: params.x contains a null"),
    ],
)
def test_null_is_rejected(text: str, expected: str) -> None:
    msg = error(text)
    assert msg.startswith(expected), msg


def test_duplicate_keys_yaml_level() -> None:
    assert error("name: a\nname: b\n") == (
        "cfg.yaml:2:1: duplicate key 'name' in the top level (first at line 1)"
    )
    assert error("name: a\nparams:\n  x: 1\n  y: 2\n  x: 3\n") == (
        "cfg.yaml:5:3: duplicate key 'x' in params (first at line 3)"
    )
    assert error("name: a\nparams:\n  l: [{a: 1, a: 2}]\n").startswith(
        "cfg.yaml:3:14: duplicate key 'a'"
    )


def test_duplicate_keys_after_flattening() -> None:
    msg = error("name: a\nparams:\n  a.b: 1\n  a:\n    b: 2\n")
    assert msg == (
        "cfg.yaml:5:5: params.a.b is defined twice after flattening nested keys "
        "(first at line 3); keep one of them"
    )


def test_key_length_limit() -> None:
    ok = "k" * MAX_KEY_LEN
    assert ok in parse(f"name: a\nparams:\n  {ok}: 1\n").params
    msg = error(f"name: a\nparams:\n  {'k' * (MAX_KEY_LEN + 1)}: 1\n")
    assert msg.startswith("cfg.yaml:3:3: params.")
    assert "the key is 251 characters long" in msg and "the limit is 250" in msg
    assert len(msg) < 300  # the key itself is shortened in the message
    nested = "p" * 200
    msg = error(f"name: a\nparams:\n  {nested}:\n    {'q' * 60}: 1\n")
    assert "261 characters long (with its parents)" in msg


def test_empty_key() -> None:
    assert error("name: a\nparams:\n  '': 1\n").startswith("cfg.yaml:3:3: params.: empty key")


def test_value_length_limits() -> None:
    assert parse(f"name: a\nparams:\n  x: {'v' * MAX_PARAM_LEN}\n").params["x"] == "v" * 6000
    msg = error(f"name: a\nparams:\n  x: {'v' * (MAX_PARAM_LEN + 1)}\n")
    assert msg.startswith("cfg.yaml:3:6: params.x is 6001 characters long; the limit is 6000")
    assert parse(f"name: a\ntags:\n  x: {'v' * MAX_TAG_LEN}\n").tags["x"] == "v" * 8000
    assert "the limit is 8000" in error(f"name: a\ntags:\n  x: {'v' * (MAX_TAG_LEN + 1)}\n")
    # After interpolation: the limit applies to what would be sent.
    msg = error("name: a\nparams:\n  x: ${BIG}\n", {"BIG": "b" * 7000})
    assert "params.x is 7000 characters long" in msg


# --- environment interpolation -----------------------------------------------------------------


def test_interpolation() -> None:
    env = {"MODEL": "gpt-4o", "EMPTY": "", "EXP": "exp-1", "HOST": "h"}
    cfg = parse(
        "name: a\nexperiment: ${EXP}\ntracking_uri: http://${HOST}:5000\nparams:\n"
        "  m: ${MODEL}\n  d: ${UNSET:-fallback}\n  e: ${EMPTY:-was-empty}\n"
        "  both: ${MODEL}/${UNSET:-x}\n  dollar: $$HOME costs $$5\n  bare: $HOME\n"
        "  lit: $${MODEL}\n  empty_default: ${UNSET:-}\n  in_list: ['${MODEL}']\n",
        env,
    )
    assert cfg.experiment == "exp-1" and cfg.tracking_uri == "http://h:5000"
    assert cfg.params == {
        "m": "gpt-4o",
        "d": "fallback",
        "e": "was-empty",
        "both": "gpt-4o/x",
        "dollar": "$HOME costs $5",
        "bare": "$HOME",
        "lit": "${MODEL}",
        "empty_default": "",
        "in_list": '["gpt-4o"]',
    }


def test_interpolation_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITVER_TEST_MODEL", "from-env")
    cfg = parse_config("name: a\nparams:\n  m: ${GITVER_TEST_MODEL}\n", "cfg.yaml")
    assert cfg.params == {"m": "from-env"}


def test_name_and_model_type_interpolate() -> None:
    cfg = parse("name: ${APP:-app}\nmodel_type: ${KIND}\n", {"KIND": "agent"})
    assert (cfg.name, cfg.model_type) == ("app", "agent")
    assert "contains /" in error("name: ${APP}\n", {"APP": "a/b"})


def test_unset_variable() -> None:
    assert error("name: a\nparams:\n  m: ${MODEL}\n") == (
        "cfg.yaml:3:6: params.m: environment variable MODEL is not set; set it, "
        "or give a default with ${MODEL:-value}"
    )
    assert "experiment: environment variable EXP is not set" in error(
        "name: a\nexperiment: ${EXP}\n"
    )


@pytest.mark.parametrize("ref", ["${MODEL", "${MODEL-x}", "${}", "${1X}", "${A B}"])
def test_malformed_reference(ref: str) -> None:
    msg = error(f"name: a\nparams:\n  m: '{ref}'\n")
    assert msg.startswith("cfg.yaml:3:6: params.m: malformed reference")
    assert "write ${VAR} or ${VAR:-default}, or $$ for a literal $" in msg


@pytest.mark.parametrize(
    "var", ["API_TOKEN", "MY_SECRET", "DB_PASSWORD", "OPENAI_API_KEY", "GCP_CREDENTIALS", "api_key"]
)
@pytest.mark.parametrize("section", ["params", "tags"])
def test_secret_looking_variables_refused(var: str, section: str) -> None:
    env = {var: "s3cr3t-value"}
    msg = error(f"name: a\n{section}:\n  x: ${{{var}}}\n", env)
    assert msg.startswith(
        f"cfg.yaml:3:6: {section}.x reads ${{{var}}}, whose name looks like a secret"
    )
    assert "s3cr3t-value" not in msg
    # Even with a default, and inside a list.
    assert "looks like a secret" in error(f"name: a\n{section}:\n  x: ['${{{var}:-d}}']\n", env)


def test_secret_refused_in_experiment_name_and_model_type() -> None:
    env = {"MY_TOKEN": "t"}
    assert "looks like a secret" in error("name: a\nexperiment: ${MY_TOKEN}\n", env)
    assert "looks like a secret" in error("name: ${MY_TOKEN}\n", env)
    assert "looks like a secret" in error("name: a\nmodel_type: ${MY_TOKEN}\n", env)


def test_tracking_uri_may_read_a_secret() -> None:
    cfg = parse("name: a\ntracking_uri: https://u:${MLFLOW_PASSWORD}@h\n", {"MLFLOW_PASSWORD": "p"})
    assert cfg.tracking_uri == "https://u:p@h"


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


# --- secrets: redact | refuse | off ------------------------------------------------


def test_secrets_mode_default_and_values() -> None:
    assert parse("name: a\n").secrets == "redact"
    for mode in ("redact", "refuse", "off"):
        assert parse(f"name: a\nsecrets: {mode}\n").secrets == mode
    assert error("name: a\nsecrets: hide\n") == (
        "cfg.yaml:2:10: secrets must be one of redact, refuse, off"
    )
    assert error("name: a\nsecrets: true\n") == "cfg.yaml:2:10: secrets must be a string"


def _fake(kind: str) -> Fake:
    return next(f for f in corpus() if f.kind == kind)


def test_credentials_in_params_and_tags_are_redacted() -> None:
    gh, db = _fake("github-token"), _fake("databricks-token")
    random_value = _fake("secret-assignment").secret
    text = (
        "name: a\n"
        "params:\n"
        f"  gh: {gh.secret}\n"
        "  llm: gpt-4o-mini\n"
        f"  nested: {{db_token: '{random_value}'}}\n"
        "tags:\n"
        f"  note: 'uses {db.secret} for now'\n"
        "  team: support\n"
    )
    cfg = parse(text)
    assert cfg.params == {
        "gh": "<redacted:github-token>",
        "llm": "gpt-4o-mini",
        "nested.db_token": "<redacted:secret-assignment>",
    }
    assert cfg.tags == {"note": "uses <redacted:databricks-token> for now", "team": "support"}
    # `secrets` may come after them; `off` keeps them verbatim (and stores them).
    assert parse(text + "secrets: off\n").params["gh"] == gh.secret


def test_refuse_names_the_value_position() -> None:
    gh = _fake("github-token")
    msg = error(f"name: a\nsecrets: refuse\nparams:\n  llm: x\n  gh: '{gh.secret}'\n")
    assert msg.startswith("cfg.yaml:5:7: params.gh looks like a github-token;")
    assert gh.secret not in msg


def test_ordinary_params_are_not_secrets() -> None:
    text = (
        "name: a\nparams:\n  token_limit: 4096\n  prompt_key: summarize_v2\n"
        "  sha: 3f786850e387550fdab836ed7e6dc881de23001b\n"
        "  run: 6c5b1f0e-2d2a-4b4e-9a8a-1c2d3e4f5a6b\n  password_policy: strict-mode\n"
    )
    cfg = parse(text + "secrets: refuse\n")
    assert "<redacted" not in "".join(cfg.params.values())


# --- issue 12: one credential rule, one table, one stamp ---------------------------


def test_a_random_value_under_any_secret_name_is_redacted() -> None:
    """The names of the patch scanner's secret-assignment rule (redact.SECRET_NAME):
    before issue 12 params kept their own shorter list, so `signing_key` or
    `client_secret_v2`... were stored verbatim here and redacted in the patch."""
    value = _fake("secret-assignment").secret
    cfg = parse(f"name: a\nparams:\n  signing_key: '{value}'\n  auth_key: '{value}'\n")
    assert cfg.params == {
        "signing_key": "<redacted:secret-assignment>",
        "auth_key": "<redacted:secret-assignment>",
    }


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


def test_schema_stamp_covers_every_module_parse_config_runs() -> None:
    """What a config's validity depends on is in config.VALIDATING_MODULES: a module
    the validator starts to use and the list forgets fails here (the post-commit hook
    would keep trusting configs the changed code would refuse)."""
    import subprocess
    import sys

    from mlflow_gitver.config import VALIDATING_MODULES

    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from mlflow_gitver.config import parse_config\n"
        "parse_config("
        + repr(EXAMPLE + "secrets: refuse\nname_template: '{name}-{sha}'\n")
        + ", 'x', {})\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('mlflow_gitver.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    used = {m.split(".")[-1] + ".py" for m in eval(out.stdout)}
    assert used - {"errors.py"} <= set(VALIDATING_MODULES), used


def test_schema_stamp_changes_with_each_validating_module(tmp_path: Path) -> None:
    """Before issue 12 only config.py's stat was the stamp: a release that changed the
    credential rules (redact.py) kept the configs validated by the old ones."""
    import os
    import shutil
    import subprocess
    import sys

    import mlflow_gitver
    from mlflow_gitver.config import VALIDATING_MODULES

    pkg = tmp_path / "mlflow_gitver"
    shutil.copytree(Path(mlflow_gitver.__file__).parent, pkg)
    code = "from mlflow_gitver.config import schema_stamp; print(schema_stamp())"
    env = dict(os.environ, PYTHONPATH=str(tmp_path))

    def stamp() -> str:
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout

    seen = {stamp()}
    for i, name in enumerate(VALIDATING_MODULES):
        os.utime(pkg / name, ns=(10**18 + i, 10**18 + i))
        seen.add(stamp())
    assert len(seen) == len(VALIDATING_MODULES) + 1 and "None" not in seen
