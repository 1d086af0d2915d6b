"""What a dirty version stored at registration: its patch and manifest artifacts.

``diff`` shows the patch; ``checkout`` applies it and reads the manifest to say
which files it cannot rebuild exactly.  Both read them here, through the one
MLflow module.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver.patch import ARTIFACT_DIR, MANIFEST_NAME, PATCH_NAME


@dataclass(frozen=True)
class Stored:
    patch: bytes | None  # None: the version stored none (``diff: none``)
    manifest: dict[str, Any]  # {} when there is none

    def not_exact(self) -> list[tuple[str, str]]:
        """(path, how) of the files the patch does not rebuild exactly: ``omitted``
        (not stored), ``markers`` (credentials replaced), ``excluded`` (cannot apply)."""
        rows = self.manifest.get("not_exact") or []
        return [(str(r.get("path")), str(r.get("restore"))) for r in rows if isinstance(r, dict)]

    def submodules(self) -> list[tuple[str, str]]:
        """(path, commit) of each submodule the patch moves: a patch cannot check out
        another repository's commit, so these are restored by hand."""
        out: list[tuple[str, str]] = []
        path = None
        for line in (self.patch or b"").split(b"\n"):
            if line.startswith(b"diff --git "):
                words = line.split(b" ")
                path = words[-1][2:].decode("utf-8", "replace") if len(words) == 4 else None
            elif line.startswith(b"+Subproject commit ") and path is not None:
                out.append((path, line.split(b" ")[-1].decode("ascii", "replace")))
        return out

    def excluded(self) -> list[str]:
        return [p for p, how in self.not_exact() if how == "excluded"]


def read(model_id: str, uri: str, *, manifest: bool = True) -> Stored:
    """The stored patch (and manifest) of model ``model_id`` at ``uri``."""
    from mlflow_gitver import mlflow_api, tracking

    names = [PATCH_NAME, MANIFEST_NAME] if manifest else [PATCH_NAME]
    got: dict[str, bytes] = {}
    with (
        tracking.mlflow_env(uri),
        mlflow_api.failing(f"reading {model_id}", tracking.display(uri)),
    ):
        edge = mlflow_api.connect(uri)
        have = set(mlflow_api.artifact_paths(edge, model_id, ARTIFACT_DIR))
        wanted = [n for n in names if f"{ARTIFACT_DIR}/{n}" in have]
        if wanted:
            model = mlflow_api.get_model(edge, model_id)
            with tempfile.TemporaryDirectory() as tmp:
                for name in wanted:
                    local = mlflow_api.download_artifact(edge, model, f"{ARTIFACT_DIR}/{name}", tmp)
                    got[name] = Path(local).read_bytes()
    data: dict[str, Any] = {}
    if MANIFEST_NAME in got:
        try:
            loaded = json.loads(got[MANIFEST_NAME].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            loaded = None  # not ours, or damaged: the patch alone still applies
        data = loaded if isinstance(loaded, dict) else {}
    return Stored(got.get(PATCH_NAME), data)
