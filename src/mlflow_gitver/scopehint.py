"""What ``id --app`` last read as an app's scope, so its git calls start before
the config is parsed.

Importing PyYAML and parsing the config takes ~30 ms, and an app's ``git status``
needs the app's pathspecs: without a hint it could start only after that.  The
hint is a guess, never a source of truth: ``id`` starts the calls for the
hinted (untracked, paths), parses the config meanwhile, and uses them only if
the config says exactly the same; otherwise it discards them, runs the right
ones and writes the new hint.  A hint that cannot be read or written only costs
that head start.
"""

from __future__ import annotations

import os

from mlflow_gitver import git

_DIR = "mlflow-gitver/scope-hints"
_MAGIC = b"mlflow-gitver scope-hint 1\0"

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

Hint = tuple[bool, tuple[str, ...]]  # (untracked, paths)


def _file(repo: git.Repo, config: Path, app: str) -> str:
    from mlflow_gitver.blobhash import new_hash

    h = new_hash("sha256")
    h.update(os.fsencode(os.path.abspath(config)) + b"\0" + app.encode("utf-8", "surrogateescape"))
    return os.path.join(repo.git_dir, _DIR, h.hexdigest()[:32])


def read(repo: git.Repo, config: Path, app: str) -> Hint | None:
    try:
        with open(_file(repo, config, app), "rb") as f:
            data = f.read()
    except OSError:
        return None
    # magic, untracked flag, then each path; a final NUL guards against a cut file.
    if not data.startswith(_MAGIC) or not data.endswith(b"\0"):
        return None
    fields = data[len(_MAGIC) : -1].split(b"\0")
    if len(fields) < 2 or fields[0] not in (b"0", b"1"):
        return None
    paths = tuple(os.fsdecode(p) for p in fields[1:])
    return fields[0] == b"1", paths


def write(repo: git.Repo, config: Path, app: str, hint: Hint) -> None:
    """Atomically; never fails the command."""
    untracked, paths = hint
    path = _file(repo, config, app)
    tmp = f"{path}.{os.getpid()}.tmp"
    data = _MAGIC + (b"1" if untracked else b"0") + b"\0"
    data += b"".join(os.fsencode(p) + b"\0" for p in paths)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
