"""One line of doctor's report: a check, its level (ok, warning, error) and its fix."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow_gitver.redact import scrub

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass(frozen=True)
class Check:
    check: str
    level: str
    message: str
    fix: str | None = None

    def line(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.level:<8}{self.check}: {scrub(self.message)}{fix}"
