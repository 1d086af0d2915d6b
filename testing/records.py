"""Queue records as the hooks write them, for tests."""

from __future__ import annotations

import time

from mlflow_gitver.queue.records import Record


def make_record(commit: str = "a" * 40, **kw: object) -> Record:
    """A record as the post-commit hook writes one; ``kw`` overrides fields."""
    base: dict[str, object] = {
        "commit": commit,
        "config_path": ".mlflow-gitver.yaml",
        "config_text": "name: app\n",
        "source": "post-commit",
        "created": time.time(),
    }
    base.update(kw)
    return Record(**base)  # type: ignore[arg-type]
