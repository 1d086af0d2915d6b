"""duration.py: what ``gc --older-than`` takes, and how an age is shown."""

from __future__ import annotations

import pytest

from mlflow_gitver import duration
from mlflow_gitver.errors import EXIT_USAGE, GitverError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("90m", 5400), ("12h", 43200), ("30d", 2592000), ("2w", 1209600), (" 5s ", 5)],
)
def test_parse(text: str, seconds: int) -> None:
    assert duration.parse(text) == seconds


@pytest.mark.parametrize("text", ["30", "", "d", "-1d", "1.5h", "1y", "1d12h", "30 d", "1D"])
def test_parse_refuses_with_one_line(text: str) -> None:
    with pytest.raises(GitverError) as e:
        duration.parse(text)
    assert e.value.exit_code == EXIT_USAGE
    assert "\n" not in e.value.message and "--older-than" in e.value.message


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h"), (90061, "1d 1h"), (86460, "1d 1m")],
)
def test_show(seconds: int, shown: str) -> None:
    assert duration.show(seconds) == shown
