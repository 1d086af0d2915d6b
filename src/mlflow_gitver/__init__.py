"""mlflow-gitver: every version of your code is an MLflow LoggedModel."""

from __future__ import annotations

__all__: list[str] = []
