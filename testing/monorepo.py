"""The three-app monorepo of the hook and queue tests: support and triage share a
library, billing stands alone; each app's paths, and the config that says so."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.repos import write

APPS: dict[str, tuple[str, ...]] = {
    "support": ("apps/support", "libs"),
    "triage": ("apps/triage", "libs"),
    "billing": ("apps/billing",),
}
CONFIG = """\
experiment: {experiment}
tracking_uri: {uri}
apps:
  - name: support
    paths: [apps/support, libs]
  - name: triage
    paths: [apps/triage, libs]
  - name: billing
    paths: [apps/billing]
"""


def write_monorepo(root: Path, uri: str, experiment: str | None = None) -> str:
    """Write the apps, the library and the config (uncommitted); the experiment."""
    experiment = experiment or f"scoped-{uuid.uuid4().hex[:12]}"
    for app in APPS:
        write(root / f"apps/{app}/agent.py", f"{app} = 1\n")
    write(root / "libs/common.py", "shared\n")
    write(root / ".mlflow-gitver.yaml", CONFIG.format(experiment=experiment, uri=uri))
    return experiment
