"""The readers of config values (config_readers.py): which kinds may read a secret-looking
variable, and one_of (`secrets: off`, which YAML reads as false).
"""

from __future__ import annotations

from testing.configs import error, parse

# --- environment interpolation -----------------------------------------------------------------


def test_secret_refused_in_experiment_name_and_model_type() -> None:
    env = {"MY_TOKEN": "t"}
    assert "looks like a secret" in error("name: a\nexperiment: ${MY_TOKEN}\n", env)
    assert "looks like a secret" in error("name: ${MY_TOKEN}\n", env)
    assert "looks like a secret" in error("name: a\nmodel_type: ${MY_TOKEN}\n", env)


def test_tracking_uri_may_read_a_secret() -> None:
    cfg = parse("name: a\ntracking_uri: https://u:${MLFLOW_PASSWORD}@h\n", {"MLFLOW_PASSWORD": "p"})
    assert cfg.tracking_uri == "https://u:p@h"


# --- secrets: redact | refuse | off ------------------------------------------------


def test_secrets_mode_default_and_values() -> None:
    assert parse("name: a\n").secrets == "redact"
    for mode in ("redact", "refuse", "off"):
        assert parse(f"name: a\nsecrets: {mode}\n").secrets == mode
    assert error("name: a\nsecrets: hide\n") == (
        "cfg.yaml:2:10: secrets must be one of redact, refuse, off"
    )
    assert error("name: a\nsecrets: true\n") == "cfg.yaml:2:10: secrets must be a string"
