"""Durations on the command line (``gc --older-than 30d``): parsed and shown.  Pure."""

from __future__ import annotations

import re

from mlflow_gitver.errors import EXIT_USAGE, GitverError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]{1,12})([smhdw])")


def parse(text: str, option: str = "--older-than") -> int:
    """Seconds in ``text``: a whole number and a unit (``30d``, ``12h``, ``90m``, ``0s``,
    ``2w``).  A unit is required: ``30`` could mean seconds or days."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise GitverError(
            f"{option} {text!r}: give a whole number and a unit, s, m, h, d or w "
            "(30d, 12h, 90m, 0s)",
            EXIT_USAGE,
        )
    return int(m.group(1)) * UNITS[m.group(2)]


def show(seconds: float) -> str:
    """An age, in its two largest units: ``3d 4h``, ``12m 5s``, ``0s``."""
    left = max(0, int(seconds))
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        n, left = divmod(left, UNITS[unit])
        if n or (unit == "s" and not parts):
            parts.append(f"{n}{unit}")
    return " ".join(parts[:2])
