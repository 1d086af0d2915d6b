"""What the campaign checks: the server's models, commits owed one, status, a fresh clone's id."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping

from testing.campaign.names import COLLEAGUE, TAG_VERSION_ID
from testing.campaign.shell import Shell


class Observer(Shell):
    """Reading back what our tool and MLflow made of the campaign."""

    # -- the server's view ----------------------------------------------------

    def models(self) -> list[object]:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.server_url)
        exp = client.get_experiment_by_name(self.experiment)
        if exp is None:
            return []
        found: list[object] = []
        token = None
        while True:
            page = client.search_logged_models(
                experiment_ids=[exp.experiment_id], max_results=100, page_token=token
            )
            found.extend(page)
            token = page.token
            if not token:
                return found

    def commits_owed(self) -> dict[str, str]:
        """sha -> subject of every commit reachable from a branch of the working
        clone that was made in it (so while the hooks were installed)."""
        text = self.out("log", "--branches", "--format=%H%x00%cn%x00%s")
        owed = {}
        for line in text.splitlines():
            sha, committer, subject = line.split("\0", 2)
            if committer != COLLEAGUE:
                owed[sha] = subject
        return owed

    def commit_exists(self, sha: str) -> bool:
        ran = self.git("cat-file", "-e", f"{sha}^{{commit}}")
        return ran.returncode == 0

    def status_json(self) -> tuple[int, dict[str, list[dict[str, object]]]]:
        ran = self.tool("status", "--format", "json")
        try:
            data = json.loads(ran.stdout or "{}")
        except ValueError as e:
            raise AssertionError(f"status --format json is not JSON: {ran.stdout!r}") from e
        return ran.returncode, data

    def fresh_clone_id(self, snap: Mapping[str, tuple[str, bytes]], head: str) -> str:
        """``id --json`` of a fresh clone at ``head`` holding the files of ``snap``."""
        clone = self.base / f"clone-{uuid.uuid4().hex[:6]}"
        self.git(
            "clone", "-q", "--no-checkout", str(self.root), str(clone), cwd=self.base, check=True
        )
        self.git("checkout", "-q", "--detach", head, cwd=clone, check=True)
        for entry in clone.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for path, (mode, data) in snap.items():
            dest = clone / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(os.fsdecode(data), dest)
            else:
                dest.write_bytes(data)
                dest.chmod(0o755 if mode == "100755" else 0o644)
        ran = self.run("mlflow-gitver", "id", "--json", cwd=clone, check=True)
        return ran.stdout.strip()


def tags_of(model: object) -> dict[str, str]:
    return dict(getattr(model, "tags", None) or {})


def status_of(model: object) -> str:
    return str(getattr(model, "status", ""))


def summarize(models: Iterable[object]) -> str:
    rows = []
    for m in models:
        t = tags_of(m)
        rows.append(
            f"  {getattr(m, 'model_id', '?')} {getattr(m, 'name', '?')} {status_of(m)} "
            f"version_id={t.get(TAG_VERSION_ID)}"
        )
    return "\n".join(rows)
