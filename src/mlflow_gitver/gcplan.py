"""What ``gc --dry-run`` listed, so that the run after it deletes no more (issue 14).

The dry run saves the model ids it would delete in the repository's
``.git/mlflow-gitver/gc-plan.json``, one list per set of arguments (the
duration, the apps, the tracking URI and the experiment option).  A real run
with the same arguments deletes only versions of its list (each still checked
by every rule) and then drops the list; a run with no dry run before it is not
restricted.  Outside a clone there is nowhere to keep it: the dry run says so.
An unreadable file restricts nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PLAN_NAME = "gc-plan.json"


@dataclass(frozen=True)
class Plan:
    created: str  # UTC, when the dry run listed it
    model_ids: frozenset[str]


def key_of(older_than: str, apps: Sequence[str], uri: str, experiment: str | None) -> str:
    return json.dumps([older_than, sorted(apps), uri, experiment])


def path_in(common_dir: Path) -> Path:
    from mlflow_gitver.queue.store import STORE_DIR

    return common_dir / STORE_DIR / PLAN_NAME


def _read(path: Path) -> dict[str, object]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _write(path: Path, body: dict[str, object]) -> str | None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(body) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        return f"{path} cannot be written ({e.strerror})"
    return None


def save(path: Path, key: str, model_ids: Sequence[str]) -> str | None:
    """Save the dry run's list beside those of other arguments; the reason (one
    phrase) when it cannot be saved."""
    body = _read(path)
    body[key] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_ids": sorted(model_ids),
    }
    return _write(path, body)


def load(path: Path, key: str) -> Plan | None:
    """The dry run's list for these arguments; None when there is none (or it is
    unreadable: then nothing restricts the run)."""
    entry = _read(path).get(key)
    if not isinstance(entry, dict):
        return None
    ids = entry.get("model_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    return Plan(str(entry.get("created", "")), frozenset(ids))


def done(path: Path, key: str) -> None:
    """The real run used its plan: the next one with these arguments is not
    restricted by it (a failed write only leaves the same restriction once more)."""
    body = _read(path)
    if body.pop(key, None) is not None:
        if body:
            _write(path, body)
        else:
            try:
                path.unlink()
            except OSError:
                pass
