"""configstamp.py: what a cached answer about a config depends on besides its bytes."""

from __future__ import annotations

from pathlib import Path

from mlflow_gitver.config import parse_config
from mlflow_gitver.configstamp import WatchedEnv

# Every part of the validator at work: interpolation, params, tags, secrets, a template.
EXAMPLE = """\
name: app
params:
  llm: gpt-4o-mini
  retrieval: {k: 5}
  prompt: ${PROMPT:-v3}
tags: {team: support}
"""
PLAIN = "name: app\nparams: {llm: gpt-4o-mini}\ntags: {team: support}\n"


def test_watched_env_notes_any_read() -> None:
    for read in (lambda e: e.get("X"), lambda e: e["X"], lambda e: "X" in e):
        env = WatchedEnv({"X": "1"})
        assert env.read is False
        read(env)
        assert env.read is True


def test_a_parse_reads_the_environment_only_for_interpolation() -> None:
    env = WatchedEnv({"PROMPT": "v9"})
    parse_config(PLAIN, "x", env)
    assert env.read is False
    cfg = parse_config(EXAMPLE, "x", env)
    assert env.read is True and cfg.params["prompt"] == "v9"


def test_schema_stamp_covers_every_module_parse_config_runs() -> None:
    """What a config's validity depends on is in configstamp.VALIDATING_MODULES: a module
    the validator starts to use and the list forgets fails here (the post-commit hook
    would keep trusting configs the changed code would refuse)."""
    import subprocess
    import sys

    from mlflow_gitver.configstamp import VALIDATING_MODULES

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
    from mlflow_gitver.configstamp import VALIDATING_MODULES

    pkg = tmp_path / "mlflow_gitver"
    shutil.copytree(Path(mlflow_gitver.__file__).parent, pkg)
    code = "from mlflow_gitver.configstamp import schema_stamp; print(schema_stamp())"
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
