"""Tests of the CI providers, one file each (tests/ci/providers/test_<name>.py)."""
