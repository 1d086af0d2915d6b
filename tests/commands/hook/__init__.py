"""Tests of ``mlflow-gitver hook <stage>`` (src/mlflow_gitver/commands/hook/)."""
