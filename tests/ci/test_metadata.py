"""action.yml and the CI examples: schemas, zizmor, and the action's own rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACTION = ROOT / "action.yml"
EXAMPLES = {
    "examples/github/version-then-deploy.yml": "vendor.github-workflows",
    "examples/github/pull-request.yml": "vendor.github-workflows",
    "examples/github/monorepo-matrix.yml": "vendor.github-workflows",
    "examples/github/evaluation-gate.yml": "vendor.github-workflows",
    "examples/gitlab-ci.yml": "vendor.gitlab-ci",
    "examples/azure-pipelines.yml": "vendor.azure-pipelines",
    "examples/circleci.yml": "vendor.circle-ci",
}
INPUTS = {
    "config",
    "tracking-uri",
    "experiment",
    "app",
    "working-directory",
    "python-version",
    "export-env",
    "summary",
    "fail-on-error",
}
OUTPUTS = {
    "model-id",
    "model-name",
    "version-id",
    "commit",
    "dirty",
    "experiment-id",
    "model-url",
    "model-ids",
    "version-ids",
    "experiment-ids",
    "created-apps",
}


def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text())
    assert isinstance(data, dict)
    return data


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    # The vendored schemas ship inside check-jsonschema: no network. The Azure schema has
    # a pattern the default 'regress' engine rejects ("Invalid character escape").
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--regex-variant",
            "python",
            "--builtin-schema",
            schema,
            str(path),
        ],
        capture_output=True,
        text=True,
    )


def test_action_validates() -> None:
    r = check_jsonschema("vendor.github-actions", ACTION)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(("path", "schema"), sorted(EXAMPLES.items()))
def test_example_validates(path: str, schema: str) -> None:
    r = check_jsonschema(schema, ROOT / path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "action.yml"
    bad.write_text("name: x\nruns:\n  using: composite\n  steps: 3\n")
    assert check_jsonschema("vendor.github-actions", bad).returncode != 0


def test_zizmor_reports_nothing() -> None:
    files = [str(ACTION)] + [str(ROOT / p) for p in EXAMPLES if p.startswith("examples/github/")]
    r = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", *files],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No findings to report" in r.stdout + r.stderr


def test_action_inputs_and_outputs() -> None:
    a = action()
    assert set(a["inputs"]) == INPUTS
    for name, spec in a["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, name
    assert a["inputs"]["export-env"]["default"] == "true"
    assert a["inputs"]["summary"]["default"] == "true"
    assert a["inputs"]["fail-on-error"]["default"] == "true"
    assert set(a["outputs"]) == OUTPUTS
    for name, spec in a["outputs"].items():
        assert spec["description"]
        assert spec["value"] == f"${{{{ steps.register.outputs.{name} }}}}"
    assert a["branding"]["icon"] and a["branding"]["color"]


def test_action_steps_follow_the_rules() -> None:
    steps = action()["runs"]["steps"]
    assert action()["runs"]["using"] == "composite"
    for step in steps:
        if "uses" in step:
            # Pinned by full commit SHA, the version in a comment.
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            continue
        assert step["shell"] == "bash", step
        assert "${{" not in step["run"], step["name"]  # inputs reach scripts via env only
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert "actions/setup-python" in uses
    runs = [s["run"] for s in steps if "run" in s]
    assert any('"$GITHUB_ACTION_PATH"' in r and "pip install" in r for r in runs)
    register = [s for s in steps if s.get("id") == "register"]
    assert len(register) == 1
    assert "mlflow-gitver" in register[0]["run"] and "--ci github" in register[0]["run"]


def test_action_pins_are_commented_with_a_version() -> None:
    text = ACTION.read_text()
    pins = re.findall(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)
    assert len(pins) == text.count("uses:")


def test_readme_documents_every_example_and_input() -> None:
    readme = (ROOT / "README.md").read_text()
    for path in EXAMPLES:
        assert path in readme, path
    for name in INPUTS | OUTPUTS:
        assert f"`{name}`" in readme, name
    assert "github.event.pull_request.head.sha" in readme


def test_examples_use_the_names_the_cli_writes() -> None:
    from mlflow_gitver.ci.providers import Exports, azure

    outputs = dict.fromkeys(OUTPUTS, "v")
    env_vars = {"MLFLOW_ACTIVE_MODEL_ID": "v", "MLFLOW_EXPERIMENT_ID": "1"}
    names = Exports(outputs, env_vars, summary=None, environ={}).values
    gitlab = (ROOT / "examples/gitlab-ci.yml").read_text()
    for used in re.findall(r"\$(MLFLOW_\w+)", gitlab):
        assert used in names, used
    pipeline = yaml.safe_load((ROOT / "examples/azure-pipelines.yml").read_text())
    version, deploy = pipeline["jobs"]
    step = next(s for s in version["steps"] if s.get("name") == "register")
    assert step["script"].startswith("mlflow-gitver register")
    ref = deploy["variables"]["MLFLOW_ACTIVE_MODEL_ID"]
    m = re.fullmatch(r"\$\[ dependencies\.(\w+)\.outputs\['register\.(\w+)'\] \]", ref)
    assert m and m.group(1) == version["job"] and deploy["dependsOn"] == version["job"]
    assert f"variable={m.group(2)};isOutput=true]" in azure.render(outputs, {})
    circle = (ROOT / "examples/circleci.yml").read_text()
    assert "--dotenv mlflow-gitver.env" in circle and ". ./mlflow-gitver.env" in circle


def test_every_deploy_example_passes_the_experiment() -> None:
    # Traces of a process with only MLFLOW_ACTIVE_MODEL_ID go to experiment 0, where
    # the version's page does not show them (issue 9, item 1).
    gh = yaml.safe_load((ROOT / "examples/github/version-then-deploy.yml").read_text())
    jobs = gh["jobs"]
    assert jobs["version"]["outputs"]["experiment-id"] == (
        "${{ steps.version.outputs.experiment-id }}"
    )
    assert jobs["deploy"]["env"]["MLFLOW_EXPERIMENT_ID"] == (
        "${{ needs.version.outputs.experiment-id }}"
    )
    azure = yaml.safe_load((ROOT / "examples/azure-pipelines.yml").read_text())
    deploy = azure["jobs"][1]["variables"]
    assert deploy["MLFLOW_EXPERIMENT_ID"] == (
        "$[ dependencies.version.outputs['register.experiment_id'] ]"
    )
    readme = (ROOT / "README.md").read_text()
    assert "MLFLOW_EXPERIMENT_ID: ${{ needs.version.outputs.experiment-id }}" in readme
    assert "experiment-id: ${{ steps.version.outputs.experiment-id }}" in readme
    # GitLab, Jenkins, Buildkite and CircleCI's deploy read the dotenv file, which holds
    # what register exports (tests/commands/test_register.py checks the file itself).
    gitlab = (ROOT / "examples/gitlab-ci.yml").read_text()
    assert "$MLFLOW_EXPERIMENT_ID" in gitlab


def test_the_matrix_example_uses_what_the_action_outputs_for_several_apps() -> None:
    gh = yaml.safe_load((ROOT / "examples/github/monorepo-matrix.yml").read_text())
    version, deploy = gh["jobs"]["version"], gh["jobs"]["deploy"]
    outputs = set(action()["outputs"])
    for name, value in version["outputs"].items():
        assert name in outputs and value == f"${{{{ steps.version.outputs.{name} }}}}"
    assert deploy["strategy"]["matrix"]["app"] == (
        "${{ fromJSON(needs.version.outputs.created-apps) }}"
    )
    # Each matrix job points MLflow at its app's version and experiment.
    for var, output in (
        ("MLFLOW_ACTIVE_MODEL_ID", "model-ids"),
        ("MLFLOW_EXPERIMENT_ID", "experiment-ids"),
    ):
        assert (
            deploy["env"][var] == f"${{{{ fromJSON(needs.version.outputs.{output})[matrix.app] }}}}"
        )
    # The output the skip condition compares with is what register writes for none.
    assert deploy["if"] == "needs.version.outputs.created-apps != '[]'"
