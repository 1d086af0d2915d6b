"""Run the composite action (action.yml) as a GitHub runner would: the runner test's
and the Action benchmark's runner (what it does for real and what not is said in
tests/test_action.py's docstring).

Each ``run:`` step gets its ``env:`` and each ``with:`` its values with ``${{ ... }}``
evaluated (once, like GitHub), fresh GITHUB_ENV/GITHUB_OUTPUT/GITHUB_PATH/
GITHUB_STEP_SUMMARY files, ``bash --noprofile --norc -eo pipefail`` in GITHUB_WORKSPACE;
what a step writes to GITHUB_ENV and GITHUB_PATH reaches the later steps, its
GITHUB_OUTPUT becomes ``steps.<id>.outputs``. ``uses: actions/cache`` is emulated with
a directory per key; other ``uses:`` steps are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testing.ci import parse_github_file

ROOT = Path(__file__).resolve().parents[1]
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_INSTALLER_VARS = ("PIP_", "UV_", "VIRTUAL_ENV")


@dataclass
class Runner:
    """One runner machine: its RUNNER_TEMP, its actions/cache store, the action's
    download, the set-up Python and the package index its installers see."""

    temp: Path
    cache: Path
    action_path: Path
    python_bin: Path
    # What the installers see; hermetic: the machine's own PIP_*/UV_* variables dropped.
    installer_env: dict[str, str] = field(default_factory=dict)
    hermetic: bool = True


@dataclass
class ActionRun:
    returncode: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> outputs
    env_files: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> GITHUB_ENV
    paths: list[str] = field(default_factory=list)  # what the steps added to GITHUB_PATH
    job_env: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    log: str = ""
    durations: dict[str, float] = field(default_factory=dict)  # step name -> seconds


def copy_tree(dest: Path) -> Path:  # what the action's download holds
    """The files of this tree that git tracks or would track (uncommitted work included)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout
    for rel in sorted(set(listed.decode().split("\0")) - {""}):
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the work tree is not there
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def make_runner(
    base: Path, action_path: Path, installer_env: dict[str, str], hermetic: bool = True
) -> Runner:
    """A runner under ``base`` whose set-up Python (setup-python's ``python`` on PATH,
    and nothing else of its environment) is this interpreter."""
    python_bin = base / "setup-python"
    python_bin.mkdir(parents=True)
    python = python_bin / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return Runner(
        base / "runner-temp",
        base / "actions-cache",
        action_path,
        python_bin,
        installer_env,
        hermetic,
    )


def wheelhouse_env(wheelhouse: Path) -> dict[str, str]:
    """pip and uv with a local wheelhouse as their only package index, no user config."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
        "UV_FIND_LINKS": str(wheelhouse),
    }


def _evaluate(expr: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    m = re.fullmatch(r"inputs\.([\w-]+)", expr)
    if m:
        return inputs[m.group(1)]
    m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
    if m:
        return steps.get(m.group(1), {}).get(m.group(2), "")
    raise AssertionError(f"the test runner does not know ${{{{ {expr} }}}}")


def _substitute(value: object, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    # One pass: what an expression yields is never evaluated again (as on GitHub).
    return _EXPR.sub(lambda m: _evaluate(m.group(1), inputs, steps), str(value))


def _restore_cache(runner: Runner, path: Path, key: str) -> bool:
    """actions/cache's restore: the directory saved under ``key``, back at ``path``."""
    saved = runner.cache / key
    if not saved.is_dir():
        return False
    shutil.copytree(saved, path, symlinks=True, dirs_exist_ok=True)
    return True


def _save_cache(runner: Runner, path: Path, key: str) -> None:
    """actions/cache's post step: a miss saves ``path`` once the job succeeded."""
    if path.exists() and not (runner.cache / key).exists():
        shutil.copytree(path, runner.cache / key, symlinks=True)


def run_action(
    runner: Runner,
    workspace: Path,
    github_env: dict[str, str],
    inputs: dict[str, str],
    tmp: Path,
    step_env: dict[str, str] | None = None,
) -> ActionRun:
    action: dict[str, Any] = yaml.safe_load((runner.action_path / "action.yml").read_text())
    values = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    unknown = set(inputs) - set(values)
    assert not unknown, unknown
    values.update(inputs)
    shutil.rmtree(runner.temp, ignore_errors=True)  # a new job
    runner.temp.mkdir(parents=True)
    dropped = ("GITHUB_", "RUNNER_", "MLFLOW_", *(_INSTALLER_VARS if runner.hermetic else ()))
    job_env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    job_env.update(
        PATH=os.pathsep.join([str(runner.python_bin), "/usr/bin", "/bin"]),
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_ACTION_PATH=str(runner.action_path),
        RUNNER_TEMP=str(runner.temp),
        RUNNER_OS="Linux",
        RUNNER_ARCH="X64",
        **runner.installer_env,
    )
    job_env.update(github_env)
    result = ActionRun()
    logs = []
    to_save: list[tuple[Path, str]] = []
    for n, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            if step["uses"].startswith("actions/cache@"):
                with_ = {k: _substitute(v, values, result.steps) for k, v in step["with"].items()}
                t0 = time.perf_counter()
                hit = _restore_cache(runner, Path(with_["path"]), with_["key"])
                result.durations[step["name"]] = time.perf_counter() - t0
                result.steps[step.get("id", f"step-{n}")] = {"cache-hit": str(hit).lower()}
                if not hit:
                    to_save.append((Path(with_["path"]), with_["key"]))
            continue
        step_dir = tmp / f"step-{n}"
        step_dir.mkdir(parents=True)
        files = {
            "GITHUB_ENV": step_dir / "env",
            "GITHUB_OUTPUT": step_dir / "output",
            "GITHUB_PATH": step_dir / "path",
            "GITHUB_STEP_SUMMARY": step_dir / "summary",
        }
        for f in files.values():
            f.write_text("")
        env = dict(job_env)
        env.update(step_env or {})
        for k, v in step.get("env", {}).items():
            env[k] = _substitute(v, values, result.steps)
        env.update({k: str(v) for k, v in files.items()})
        script = step_dir / "script.sh"
        script.write_text(step["run"])
        t0 = time.perf_counter()
        proc = subprocess.run(
            [step["shell"], "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one log, in order, as the runner shows it
            text=True,
            timeout=300,
        )
        result.durations[step["name"]] = time.perf_counter() - t0
        logs.append(proc.stdout)
        if "id" in step:
            result.steps[step["id"]] = parse_github_file(files["GITHUB_OUTPUT"].read_text())
        added = parse_github_file(files["GITHUB_ENV"].read_text())
        result.env_files[step["name"]] = added
        job_env.update(added)
        paths = files["GITHUB_PATH"].read_text().splitlines()
        result.paths += paths
        job_env["PATH"] = os.pathsep.join([*reversed(paths), job_env["PATH"]])
        result.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        if proc.returncode != 0:
            result.returncode = proc.returncode
            break
    if result.returncode == 0:
        t0 = time.perf_counter()
        for path, key in to_save:
            _save_cache(runner, path, key)
        if to_save:
            result.durations["Post: save the cache"] = time.perf_counter() - t0
    result.outputs = {
        k: _substitute(v["value"], values, result.steps) for k, v in action["outputs"].items()
    }
    result.job_env = job_env
    result.log = "".join(logs)
    return result
