"""Real functions of the package wrapped to count their calls, for tests of what a path runs."""

from __future__ import annotations

from typing import Any

import pytest


def count_config_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every config.parse_config call from now on, by source: the real one runs."""
    from mlflow_gitver import config

    calls: list[str] = []
    real = config.parse_config

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[1] if len(args) > 1 else kwargs.get("source")))
        return real(*args, **kwargs)

    monkeypatch.setattr(config, "parse_config", counted)
    return calls
