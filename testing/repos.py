"""Real git repositories for tests: init, write files, commit, clone."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, input=input)
    return out.stdout.decode("utf-8", "surrogateescape")


def init_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    return path


def write(path: Path, content: str | bytes, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    if mode is not None:
        path.chmod(mode)
    return path


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def clone(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(
        ["git", "clone", "-q", *args, src.as_uri(), str(dst)], check=True, capture_output=True
    )
    return dst
