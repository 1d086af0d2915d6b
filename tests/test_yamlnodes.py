"""The config's YAML reader (yamlnodes.py): syntax errors with their position, values
as strings, flattening, nulls, duplicate keys, length limits, ${VAR} interpolation and
the credentials that must not reach MLflow.
"""

from __future__ import annotations

import pytest

from mlflow_gitver.config import MAX_KEY_LEN, MAX_PARAM_LEN, MAX_TAG_LEN, parse_config
from testing.configs import error, parse
from testing.secret_corpus import Fake, corpus

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


# --- secrets: redact | refuse | off ------------------------------------------------


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
