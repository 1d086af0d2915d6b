"""mlflow-gitver: every version of your code is an MLflow LoggedModel.

``activate``, ``current_version`` and ``ActiveModel`` are loaded on first use,
so ``import mlflow_gitver`` stays cheap (it does not import MLflow).
"""

from __future__ import annotations

# Not `from typing import ...`: importing typing costs every command, `id` in
# every git hook included, ~10 ms.  mypy reads a bare TYPE_CHECKING as True.
# The modules the hooks import do the same, and point here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mlflow_gitver.api import ActiveModel, activate, current_version

__all__ = ["ActiveModel", "activate", "current_version"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlflow_gitver import api

        return getattr(api, name)
    raise AttributeError(f"module 'mlflow_gitver' has no attribute {name!r}")
