"""Tests of the hooks' queue (src/mlflow_gitver/queue/)."""
