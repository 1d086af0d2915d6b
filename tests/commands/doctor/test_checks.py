"""One line of doctor's report: the level in a column, the check, the message, the fix."""

from __future__ import annotations

from mlflow_gitver.commands.doctor.checks import ERROR, OK, WARNING, Check


def test_the_level_is_a_column_of_eight() -> None:
    lines = [Check("store", level, "m").line() for level in (OK, WARNING, ERROR)]
    assert lines == ["ok      store: m", "warning store: m", "error   store: m"]


def test_the_fix_follows_the_message() -> None:
    line = Check("hooks", ERROR, "not executable", "chmod +x x").line()
    assert line == "error   hooks: not executable; fix: chmod +x x"
    assert Check("hooks", ERROR, "m", "").line() == "error   hooks: m"  # an empty fix: none


def test_the_message_never_shows_a_credential() -> None:
    check = Check("tracking URI", ERROR, "http://alice:hunter2@h:5000 (from x): cannot connect")
    line = check.line()
    assert "hunter2" not in line
    assert line.startswith("error   tracking URI: http://") and line.endswith(": cannot connect")
