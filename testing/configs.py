"""The config tests' parser (test_config.py, test_yamlnodes.py, test_config_readers.py):
a text parsed as ``cfg.yaml``, and the one-line error it gives."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mlflow_gitver.config import Config, ConfigError, parse_config
from mlflow_gitver.errors import GitverError


def parse(text: str | bytes, env: Mapping[str, str] | None = None) -> Config:
    return parse_config(text, "cfg.yaml", env or {})


def error(text: str | bytes, env: Mapping[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as e:
        parse(text, env)
    assert isinstance(e.value, GitverError) and e.value.exit_code == 2
    msg = str(e.value)
    assert "\n" not in msg
    return msg
