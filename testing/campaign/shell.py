"""The campaign's clones and remote, and every command run in them, logged for the report."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

GIT_TIMEOUT = 300


@dataclass
class Ran:
    """One command the campaign ran, kept for the failure report."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def line(self) -> str:
        err = self.stderr.strip().replace("\n", " | ")
        return f"$ {' '.join(self.args)} -> {self.returncode}" + (f"  [{err[:300]}]" if err else "")


@dataclass
class Shell:
    """Where the campaign lives in ``base``, and how it runs commands there."""

    base: Path
    server_url: str
    env: dict[str, str]
    hooks: str = "plain"  # or "pre-commit"
    experiment: str = field(default_factory=lambda: f"campaign-{uuid.uuid4().hex[:12]}")
    log: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.base / "work"

    @property
    def remote(self) -> Path:
        return self.base / "remote.git"

    @property
    def colleague(self) -> Path:
        return self.base / "colleague"

    # -- running things -------------------------------------------------------

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        check: bool = False,
    ) -> Ran:
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            list(args),
            cwd=cwd or self.root,
            env=full_env,
            input=input,
            capture_output=True,
            timeout=GIT_TIMEOUT,
        )
        ran = Ran(
            list(args),
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )
        self.log.append(ran.line())
        assert "Traceback" not in ran.stderr, f"a traceback:\n{ran.stderr}\n{self.report()}"
        if check and ran.returncode != 0:
            raise AssertionError(f"{ran.line()}\n{ran.stdout}\n{self.report()}")
        return ran

    def git(self, *args: str, **kw: object) -> Ran:
        return self.run("git", *args, **kw)  # type: ignore[arg-type]

    def out(self, *args: str, cwd: Path | None = None) -> str:
        return self.git(*args, cwd=cwd, check=True).stdout

    def tool(self, *args: str) -> Ran:
        return self.run("mlflow-gitver", *args)

    def note(self, text: str) -> None:
        self.log.append(f"# {text}")

    def report(self, last: int = 60) -> str:
        return "campaign log (last steps):\n" + "\n".join(self.log[-last:])

    # -- the config the clone commits ----------------------------------------

    def config_text(self, llm: str = "gpt-4o-mini") -> str:
        return (
            "name: app\n"
            f"experiment: {self.experiment}\n"
            f"tracking_uri: {self.server_url}\n"
            "params:\n"
            f"  llm: {llm}\n"
            "  retrieval:\n"
            "    k: 5\n"
        )
