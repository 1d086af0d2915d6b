"""Tests of the CI exports (src/mlflow_gitver/ci/); helpers in testing/ci.py."""
