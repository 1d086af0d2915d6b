"""Names the campaign's pieces share: the tags it reads, the colleague, what never counts."""

from __future__ import annotations

TAG_VERSION_ID = "mlflow_gitver.version_id"
TAG_COMMIT = "mlflow.source.git.commit"
TAG_DIRTY = "mlflow.source.git.dirty"
# The colleague's commits are made elsewhere, without our hooks: this clone owes
# them no version.  They are told apart by their committer.
COLLEAGUE = "Colleague"
# Files the campaign writes that git ignores: they must never change the id.
IGNORED_SUFFIX = ".log"
# What our tool and MLflow may leave in a working tree that never counts.
NEVER_COUNTS = ("mlflow.db", "mlruns", "mlartifacts", "mlflow-gitver.env")
GITIGNORE = "mlflow.db*\nmlruns/\nmlartifacts/\n.pre-commit-config.yaml\n*" + IGNORED_SUFFIX + "\n"
