"""The provider registry: discovery, the choices, detection under --ci auto."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.ci import providers
from mlflow_gitver.errors import GitverError


@pytest.mark.parametrize(
    ("environ", "provider"),
    [
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"TF_BUILD": "True"}, "azure"),
        ({"CIRCLECI": "true"}, "circleci"),
        ({"BUILDKITE": "true"}, "buildkite"),
        ({"JENKINS_URL": "https://j/"}, "jenkins"),
        ({"BUILD_URL": "https://j/job/x/1/", "JOB_NAME": "x"}, "jenkins"),
        ({"CI": "true"}, "none"),
        ({}, "none"),
        ({"GITHUB_ACTIONS": "false"}, "none"),
    ],
)
def test_auto(environ: dict[str, str], provider: str) -> None:
    assert ci.detect(None, environ).provider == provider
    assert ci.detect("auto", environ).provider == provider


@pytest.mark.parametrize(
    ("environ", "provider"),
    [
        # A Jenkins job that runs a GitHub-style script: the specific one wins.
        ({"GITHUB_ACTIONS": "true", "BUILD_URL": "https://j/1/", "JOB_NAME": "x"}, "github"),
        ({"GITLAB_CI": "true", "JENKINS_URL": "https://j/"}, "gitlab"),
        # Two specific ones: the README's order (azure first, then by name).
        ({"TF_BUILD": "True", "GITHUB_ACTIONS": "true"}, "azure"),
        ({"BUILDKITE": "true", "CIRCLECI": "true"}, "buildkite"),
    ],
)
def test_auto_order_is_the_documented_one(environ: dict[str, str], provider: str) -> None:
    assert ci.detect(None, environ).provider == provider


def test_none_has_no_tags_and_exports_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "x", "GITHUB_OUTPUT": str(out)}
    ctx = ci.detect("none", environ)
    assert ctx == ci.CiContext("none")
    ci.export(
        ctx,
        outputs={"model-id": "m-1"},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary="s",
        dotenv=None,
        environ=environ,
    )
    assert out.read_text() == ""
    assert not Path("mlflow-gitver.env").exists()  # the test's cwd is a fresh temp dir


def test_explicit_choice_wins() -> None:
    assert ci.detect("gitlab", {"GITHUB_ACTIONS": "true"}).provider == "gitlab"


def test_unknown_choice() -> None:
    with pytest.raises(GitverError, match="unknown CI system"):
        ci.detect("travis", {})


def test_every_provider_module_declares_itself_and_has_its_test_file() -> None:
    # The registry's promise: a provider is one module in ci/providers/ and one test file.
    tests = Path(__file__).parent / "providers"
    assert ci.names() == ("azure", "buildkite", "circleci", "github", "gitlab", "jenkins")
    for name in ci.names():
        assert ci.provider(name).name == name
        assert (tests / f"test_{name}.py").is_file(), name
    assert ci.choices() == ("auto", *ci.names(), "none")


def test_the_cli_offers_the_registry_choices() -> None:
    from mlflow_gitver import cli

    parser = cli.build_parser(["register"])
    args = parser.parse_args(["register", "--ci", "buildkite"])
    assert args.ci == "buildkite"
    with pytest.raises(SystemExit):
        parser.parse_args(["register", "--ci", "travis"])


def test_a_specific_provider_wins_over_a_generic_one() -> None:
    # Jenkins is recognised by common names (BUILD_URL, JOB_NAME): tried last.
    environ = {"BUILD_URL": "https://j/1/", "JOB_NAME": "x", "GITLAB_CI": "true"}
    assert ci.detect(None, environ).provider == "gitlab"


def test_a_new_provider_module_is_found_with_no_other_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The module a contributor would add to src/mlflow_gitver/ci/providers/, found on an
    # extra path of that package instead (the source tree is not ours to write).
    (tmp_path / "travis.py").write_text(
        "from functools import partial\n"
        "from mlflow_gitver.ci.providers import Provider\n"
        "PROVIDER = Provider(\n"
        "    name='travis',\n"
        "    active=lambda env: env.get('TRAVIS') == 'true',\n"
        "    detect=lambda env: (env.get('TRAVIS_BRANCH'), {'k': 'v'}),\n"
        "    plan=lambda e: [partial(print, 'travis got', dict(e.outputs))],\n"
        ")\n"
    )
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "mlflow_gitver.ci.providers.travis", raising=False)
    try:
        assert "travis" in ci.choices()
        ctx = ci.detect(None, {"TRAVIS": "true", "TRAVIS_BRANCH": "main"})
        assert ctx == ci.CiContext("travis", "main", {"k": "v"})
        ci.export(ctx, outputs={"model-id": "m-1"}, env_vars={}, summary=None, dotenv=None,
                  environ={})  # fmt: skip
        assert capsys.readouterr().out == "travis got {'model-id': 'm-1'}\n"
    finally:
        sys.modules.pop("mlflow_gitver.ci.providers.travis", None)


def test_a_module_without_its_provider_value_is_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.py").write_text("PROVIDER = 'broken'\n")
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    try:
        with pytest.raises(TypeError, match=r"PROVIDER must be Provider\('broken'"):
            ci.provider("broken")
    finally:
        sys.modules.pop("mlflow_gitver.ci.providers.broken", None)
