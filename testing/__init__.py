"""Helpers shared by the tests (not shipped): real repositories, real servers, real CLI runs.

Tests import these as ``testing.<module>``; conftest.py files hold only fixtures,
which call into this package.
"""
