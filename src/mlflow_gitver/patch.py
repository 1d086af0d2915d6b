"""The uncommitted change of a dirty version, as a patch artifact.

``git apply --binary changes.patch`` on top of the version's commit rebuilds the
working tree (minus what was omitted, listed by path and content hash in
``manifest.json``).  Nothing here writes the user's index or object database:
tracked changes come from ``git diff HEAD`` (``--no-optional-locks``), and
untracked files are diffed through a throw-away index that holds only them as
intent-to-add entries, with a throw-away object directory for the one blob
``git add -N`` writes (the empty one).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.gitstate import GitState

ARTIFACT_DIR = "mlflow-gitver"
PATCH_NAME = "changes.patch"
MANIFEST_NAME = "manifest.json"
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_DIFF_TAG = 8000
# Names that look like secrets: never stored, listed by hash only.
SECRET_PATTERNS = (".env*", "*.pem", "*.key", "id_rsa*", "*.p12", "*credentials*")
_DIFF_FLAGS = (
    "diff",
    "--binary",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


@dataclass(frozen=True)
class Omitted:
    path: str
    reason: str  # "secret", "too-large" (over 1 MB), "over-total" (beyond 20 MB in all)
    size: int
    sha256: str


@dataclass(frozen=True)
class Patch:
    data: bytes  # the patch, binary-safe, for `git apply --binary`
    tracked_diff: str  # tracked changes only, as text: MLflow's mlflow.source.git.diff
    included: tuple[str, ...]
    omitted: tuple[Omitted, ...] = ()
    untracked_included: bool = True
    extra: dict[str, str] = field(default_factory=dict)

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
            "apply": f"git checkout {commit} && git apply --binary {PATCH_NAME}",
            "untracked_included": self.untracked_included,
            "included": list(self.included),
            "omitted": [o.__dict__ for o in self.omitted],
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


def _literal(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def build_patch(repo: git.Repo, state: GitState, mode: str) -> Patch | None:
    """The patch of ``state`` under config ``diff: mode``; None if clean or ``none``."""
    if not state.dirty or mode == "none":
        return None
    included: list[str] = []
    omitted: list[Omitted] = []
    keep_tracked: list[bytes] = []
    drop_tracked: list[bytes] = []
    keep_untracked: list[bytes] = []
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
            omitted.append(Omitted(shown, reason, real_size, digest))
            if not untracked:
                drop_tracked.append(c.path)
            continue
        total += size
        included.append(shown)
        (keep_untracked if untracked else keep_tracked).append(c.path)
    tracked = _tracked_diff(repo, drop_tracked) if keep_tracked else b""
    new = _untracked_diff(repo, keep_untracked) if keep_untracked else b""
    return Patch(
        data=tracked + new,
        tracked_diff=tracked.decode("utf-8", "replace"),
        included=tuple(included),
        omitted=tuple(omitted),
        untracked_included=mode == "all",
    )


def _tracked_diff(repo: git.Repo, drop: Sequence[bytes]) -> bytes:
    excludes = [":(exclude,literal)" + _literal(p) for p in drop]
    return git.git(
        [*_DIFF_FLAGS, "HEAD", "--", ".", *git.EXCLUDED_PATHSPECS, *excludes],
        cwd=repo.root,
        env=repo.env(),
    ).stdout


def _untracked_diff(repo: git.Repo, paths: Sequence[bytes]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mlflow-gitver-") as tmp:
        env = repo.env()
        # An index of our own holding only these files: the user's index is untouched,
        # and `git diff` (index against working tree) shows exactly these as new files.
        env["GIT_INDEX_FILE"] = str(Path(tmp) / "index")
        env["GIT_LITERAL_PATHSPECS"] = "1"
        # `add -N` writes the empty blob: send writes to a throw-away object
        # directory that borrows the real one for reads.
        objects = (
            git.git(
                ["rev-parse", "--path-format=absolute", "--git-path", "objects"],
                cwd=repo.root,
                env=repo.env(),
            )
            .stdout.decode("utf-8", "surrogateescape")
            .strip()
        )
        (Path(tmp) / "objects").mkdir()
        env["GIT_OBJECT_DIRECTORY"] = str(Path(tmp) / "objects")
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = objects
        git.git(
            ["add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul"],
            cwd=repo.root,
            env=env,
            input=b"\0".join(paths) + b"\0",
        )
        return git.git([*_DIFF_FLAGS], cwd=repo.root, env=env).stdout
