"""What ``id --app`` last read as an app's scope, so that its git calls start
before the config is parsed, or without parsing it at all.

Importing PyYAML and parsing the config costs ~30 ms of CPU, and an app's ``git
status`` needs the app's pathspecs.  The hint holds the (untracked, paths) the
last parse gave, and, when that parse read no environment variable, the digest
of the config's bytes and the validator's stamp (configstamp.schema_stamp):

- trusted: the same bytes, read by the same validator, give the same answer, so
  ``id`` uses the hint and does not parse;
- otherwise a guess: ``id`` starts the calls for it, parses meanwhile, and uses
  them only if the config says exactly the same; if not, it discards them.

A hint that cannot be read or written only costs that head start.
"""

from __future__ import annotations

import os

from mlflow_gitver import git
from mlflow_gitver.cachefile import replace_quietly

_DIR = "mlflow-gitver/scope-hints"
_MAGIC = b"mlflow-gitver scope-hint 2\0"

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

Scope = tuple[bool, tuple[str, ...]]  # (untracked, paths)


class Hint:
    __slots__ = ("scope", "trust")

    def __init__(self, scope: Scope, trust: str) -> None:
        self.scope = scope
        self.trust = trust  # "<stamp> <sha256 of the config>", or "" (a guess)

    def trusted(self, config: bytes) -> bool:
        return bool(self.trust) and self.trust == trust_key(config)


def trust_key(config: bytes) -> str:
    """What the parse of ``config`` depends on besides the environment; "" when
    the validator cannot be stamped (then nothing is trusted)."""
    from mlflow_gitver.blobhash import new_hash
    from mlflow_gitver.configstamp import schema_stamp

    stamp = schema_stamp()
    if stamp is None:
        return ""
    h = new_hash("sha256")
    h.update(config)
    return ",".join(map(str, stamp)) + " " + h.hexdigest()


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
    # magic, trust, untracked flag, then each path; a final NUL guards a cut file.
    if not data.startswith(_MAGIC) or not data.endswith(b"\0"):
        return None
    fields = data[len(_MAGIC) : -1].split(b"\0")
    if len(fields) < 3 or fields[1] not in (b"0", b"1"):
        return None
    paths = tuple(os.fsdecode(p) for p in fields[2:])
    return Hint((fields[1] == b"1", paths), fields[0].decode("ascii", "replace"))


def write(repo: git.Repo, config: Path, app: str, hint: Hint) -> None:
    """Atomically; never fails the command."""
    untracked, paths = hint.scope
    data = _MAGIC + hint.trust.encode("ascii") + b"\0" + (b"1" if untracked else b"0") + b"\0"
    data += b"".join(os.fsencode(p) + b"\0" for p in paths)
    replace_quietly(_file(repo, config, app), data)
