"""The uncommitted change of a dirty version, as a patch artifact.

``git apply --binary changes.patch`` on top of the version's commit rebuilds the
working tree (minus what was omitted, listed by path and content hash in
``manifest.json``).  Nothing here writes the user's index or object database
(worktreediff.py makes the diffs).

Under ``secrets: redact`` (the default) every text line of the patch passes
through secretscan.py and a credential is replaced by a marker naming its kind;
a binary file holding one is left out.  The manifest lists each redaction and
the files the patch can no longer rebuild exactly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow_gitver import git
from mlflow_gitver.errors import EXIT_USAGE, GitverError
from mlflow_gitver.gitstate import GitState
from mlflow_gitver.naming import GIT_DIFF
from mlflow_gitver.worktreediff import diffs

if TYPE_CHECKING:
    from mlflow_gitver.diffscan import Redaction

ARTIFACT_DIR = "mlflow-gitver"
PATCH_NAME = "changes.patch"
MANIFEST_NAME = "manifest.json"
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_DIFF_TAG = 8000
# Set on a dirty version whose patch was scanned: "true" when something was redacted.
TAG_REDACTED = "mlflow_gitver.patch.redacted"
# Names that look like secrets: never stored, listed by hash only.
SECRET_PATTERNS = (".env*", "*.pem", "*.key", "id_rsa*", "*.p12", "*credentials*")


@dataclass(frozen=True)
class Omitted:
    path: str
    # "secret" (a secret-looking name), "secret-content" (a binary file holding a
    # credential), "too-large" (over 1 MB), "over-total" (beyond 20 MB in all)
    reason: str
    size: int
    sha256: str  # "" for the two secret reasons: a hash of a short secret can be reversed


@dataclass(frozen=True)
class Patch:
    data: bytes  # the patch, binary-safe, for `git apply --binary`
    tracked_diff: str  # tracked changes only, as text: MLflow's mlflow.source.git.diff
    included: tuple[str, ...]
    omitted: tuple[Omitted, ...] = ()
    untracked_included: bool = True
    secrets: str = "redact"  # the config's mode: redact | refuse | off
    redactions: tuple[Redaction, ...] = ()
    # Files the patch does not rebuild exactly: (path, "markers") applies with markers
    # where the secrets were; (path, "excluded") no longer applies (`--exclude` it).
    inexact: tuple[tuple[str, str], ...] = ()

    @property
    def redacted(self) -> bool:
        return bool(self.redactions) or any(o.reason == "secret-content" for o in self.omitted)

    def tags(self) -> dict[str, str]:
        """The version's tags that come from its patch."""
        out = {} if self.diff_tag is None else {GIT_DIFF: self.diff_tag}
        if self.secrets != "off":
            out[TAG_REDACTED] = "true" if self.redacted else "false"
        return out

    def apply_for(self, commit: str) -> str:
        excludes = "".join(
            f" --exclude={shlex.quote(p)}" for p, how in self.inexact if how == "excluded"
        )
        return f"git checkout {commit} && git apply --binary{excludes} {PATCH_NAME}"

    @property
    def diff_tag(self) -> str | None:
        """The tracked diff when it fits MLflow's ``mlflow.source.git.diff`` tag."""
        if self.tracked_diff and len(self.tracked_diff) <= MAX_DIFF_TAG:
            return self.tracked_diff
        return None

    def manifest(self, version_id: str, commit: str) -> dict[str, object]:
        return {
            "version_id": version_id,
            "commit": commit,
            "apply": self.apply_for(commit),
            "untracked_included": self.untracked_included,
            "included": list(self.included),
            "omitted": [o.__dict__ for o in self.omitted],
            "secrets": self.secrets,
            "redacted": self.redacted,
            "redactions": [r.as_json() for r in self.redactions],
            "not_exact": [{"path": p, "restore": how} for p, how in self.inexact]
            + [{"path": o.path, "restore": "omitted"} for o in self.omitted],
        }

    def write(self, dest: Path, version_id: str, commit: str) -> Path:
        """Write ``changes.patch`` and ``manifest.json`` into ``dest``; returns ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        (dest / PATCH_NAME).write_bytes(self.data)
        text = json.dumps(self.manifest(version_id, commit), indent=2, ensure_ascii=False)
        (dest / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
        return dest


def looks_secret(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return any(fnmatch.fnmatchcase(name, p) for p in SECRET_PATTERNS)


def _size_and_hash(abspath: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    try:
        if abspath.is_symlink():
            data = os.fsencode(os.readlink(abspath))
            h.update(data)
            return len(data), h.hexdigest()
        if not abspath.is_file():
            return 0, ""
        size = 0
        with open(abspath, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                size += len(chunk)
                h.update(chunk)
        return size, h.hexdigest()
    except OSError:
        return 0, ""


def _size(abspath: Path) -> int:
    try:
        return abspath.lstat().st_size if abspath.exists() or abspath.is_symlink() else 0
    except OSError:
        return 0


def build_patch(
    repo: git.Repo, state: GitState, mode: str, secrets: str = "redact"
) -> Patch | None:
    """The patch of ``state`` under config ``diff: mode``; None if clean or ``none``.

    ``secrets``: ``redact`` replaces credentials by markers, ``refuse`` raises a
    :class:`GitverError` naming the first one, ``off`` stores everything verbatim.
    """
    if not state.dirty or mode == "none":
        return None
    included: list[str] = []
    omitted: list[Omitted] = []
    keep: dict[str, tuple[bytes, bool]] = {}  # shown path -> (git path, untracked)
    total = 0
    for c in sorted(state.changes, key=lambda c: c.path):
        untracked = c.status == "untracked"
        if untracked and mode == "tracked":
            continue
        shown = c.display_path
        abspath = repo.root / os.fsdecode(c.path)
        reason = None
        size = 0 if c.status in ("deleted", "submodule") else _size(abspath)
        if looks_secret(shown) and c.status != "submodule":
            reason = "secret"
        elif size > MAX_FILE_BYTES:
            reason = "too-large"
        elif total + size > MAX_TOTAL_BYTES:
            reason = "over-total"
        if reason is not None:
            real_size, digest = _size_and_hash(abspath)
            omitted.append(Omitted(shown, reason, real_size, "" if reason == "secret" else digest))
            continue
        total += size
        included.append(shown)
        keep[shown] = (c.path, untracked)
    tracked, new = diffs(repo, state, keep)
    if secrets == "off":
        return Patch(
            data=tracked + new,
            tracked_diff=tracked.decode("utf-8", "replace"),
            included=tuple(included),
            omitted=tuple(omitted),
            untracked_included=mode == "all",
            secrets=secrets,
        )
    from mlflow_gitver import diffscan

    # A binary file holding a credential cannot be redacted in place (its bytes are
    # compressed in the patch): it is left out, like a secret-looking name.
    scanned = diffscan.redact_diff(tracked + new)
    leaving = {p: k for p in scanned.binary if p in keep and (k := _binary_kinds(repo, p, keep[p]))}
    if leaving:
        for p, kinds in leaving.items():
            size, _digest = _size_and_hash(repo.root / os.fsdecode(keep.pop(p)[0]))
            omitted.append(Omitted(p, "secret-content", size, ""))
            included.remove(p)
            if secrets == "refuse":
                raise refusal(f"{p}: a binary file holding a {kinds[0]}")
        tracked, new = diffs(repo, state, keep)
        scanned = diffscan.redact_diff(tracked + new)
    if secrets == "refuse" and scanned.redactions:
        first = scanned.redactions[0]
        more = len(scanned.redactions) - 1
        where = f"{first.path}:{first.line}" + ("" if first.side == "new" else " (in HEAD)")
        raise refusal(f"{where}: a {first.kind}" + (f" (and {more} more)" if more else ""))
    redacted_tracked = scanned.data[: _tracked_len(scanned.data, tracked, new)]
    inexact = [(p, "excluded") for p in scanned.unappliable]
    inexact += [
        (p, "markers")
        for p in dict.fromkeys(r.path for r in scanned.redactions)
        if p not in scanned.unappliable
    ]
    return Patch(
        data=scanned.data,
        tracked_diff=redacted_tracked.decode("utf-8", "replace"),
        included=tuple(included),
        omitted=tuple(sorted(omitted, key=lambda o: o.path)),
        untracked_included=mode == "all",
        secrets=secrets,
        redactions=scanned.redactions,
        inexact=tuple(sorted(inexact)),
    )


def refusal(what: str) -> GitverError:
    return GitverError(
        f"{what} in the uncommitted change; 'secrets: refuse' keeps it out of MLflow: "
        "remove it (or set 'secrets: redact' in the config) and register again",
        EXIT_USAGE,
    )


def _tracked_len(redacted: bytes, tracked: bytes, new: bytes) -> int:
    """Where the tracked part ends in the redacted patch (redaction changes lengths,
    never the number of lines)."""
    if not new:
        return len(redacted)
    lines = tracked.count(b"\n")
    pos = 0
    for _ in range(lines):
        pos = redacted.index(b"\n", pos) + 1
    return pos


def _binary_kinds(repo: git.Repo, shown: str, where: tuple[bytes, bool]) -> list[str]:
    """The kinds of credential in a binary file's stored content: the working tree's
    bytes, and HEAD's for a tracked file (a binary patch carries both directions)."""
    from mlflow_gitver import secretscan

    path, untracked = where
    kinds: list[str] = []
    try:
        kinds += secretscan.find_in_binary((repo.root / os.fsdecode(path)).read_bytes(), shown)
    except OSError:
        pass  # deleted: only the old side is stored
    if not untracked:
        old = git.show_blob(repo, "HEAD", shown)
        if old is not None:
            kinds += secretscan.find_in_binary(old, shown)
    return kinds
