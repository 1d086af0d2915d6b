"""The CI providers, one module each, and the ``Provider`` value each one declares.

A module here is a provider: ``mlflow_gitver.ci`` finds it by listing this package, so
adding one edits no list. It declares ``PROVIDER = Provider(name=<its module's name>,
...)``; the name is also its ``--ci`` choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlflow_gitver.ci.common import env_name_of_output

Environ = Mapping[str, str]
# One write to the CI system, planned (and so validated) before the first one is made.
Write = Callable[[], None]
# Step outputs of a registration of several apps: JSON maps app -> value, and the
# list of the apps whose version was created.  Only step
# outputs carry them; the variable channels get one variable per app instead
# (MLFLOW_GITVER_MODEL_ID_<APP>, in env_vars), since a JSON value is not safe to source.
MAP_OUTPUTS = ("model-ids", "version-ids", "experiment-ids", "created-apps")


@dataclass(frozen=True)
class Exports:
    """What a registration hands the CI system, ``user:password@`` already stripped."""

    outputs: Mapping[str, str]  # step outputs: model-id, model-name, version-id, ...
    env_vars: Mapping[str, str]  # MLFLOW_ACTIVE_MODEL_ID, MLFLOW_EXPERIMENT_ID, ...
    summary: str | None  # Markdown for a job summary
    environ: Environ  # the environment the CI system gave us

    @property
    def values(self) -> dict[str, str]:
        """The env vars, then each output as ``MLFLOW_GITVER_<OUTPUT>``: what the dotenv
        file, Buildkite meta-data and CircleCI's ``$BASH_ENV`` hold."""
        values = dict(self.env_vars)
        for k, v in self.outputs.items():
            if k not in MAP_OUTPUTS:
                values[env_name_of_output(k)] = v
        return values


def no_writes(exports: Exports) -> list[Write]:
    """The plan of a provider whose only export is the dotenv file."""
    return []


@dataclass(frozen=True)
class Provider:
    name: str  # the module's name and the --ci choice
    # Whether the environment says we run in this CI (for --ci auto).
    active: Callable[[Environ], bool]
    # (the branch CI built, for a detached HEAD; the mlflow_gitver.ci.* tags).
    detect: Callable[[Environ], tuple[str | None, dict[str, str]]]
    # The writes that export ``Exports`` there; raises GitverError, writing nothing.
    plan: Callable[[Exports], list[Write]] = no_writes
    # Write the dotenv file (mlflow-gitver.env) even without --dotenv.
    dotenv_by_default: bool = False
    # Its ``active`` is loose (Jenkins: BUILD_URL and JOB_NAME): tried after the others.
    generic: bool = False
