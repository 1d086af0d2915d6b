"""The code state of a working tree, and its deterministic identifier.

No MLflow import here: ``mlflow-gitver id`` must stay as cheap as ``git status``.

The state is HEAD plus the set of paths where what git would commit from the
working tree (its bytes after git's own end-of-line conversion and clean
filters, and the mode git would record) differs from HEAD.  The index is used
only as git's stat cache (through ``git status``, with every setting that
trusts something other than the disk overridden) and for its flags: entries
marked assume-unchanged or skip-worktree are looked at here, since git never
does.  Staging a change, or staging and then reverting it, does not change the
state, because the code that runs is the working tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mlflow_gitver import git, gitstatus
from mlflow_gitver.blobhash import Seen, StatCache, new_hash, unreadable, worktree_entry
from mlflow_gitver.errors import CommandError, GitverError
from mlflow_gitver.gitindex import Index
from mlflow_gitver.identity import is_excluded, version_id
from mlflow_gitver.record import Record

# Bumped if the digest's input format ever changes: old and new ids must not meet.
_DIGEST_SCHEME = b"mlflow-gitver-digest/1\0"
_NOT_IN_TREE = "000000"
_GITLINK = "160000"
_REGULAR = ("100644", "100755")
STAT_CACHE_NAME = "mlflow-gitver/stat-cache"
# Above either, the untracked part of a state is "unusually large" (README):
# an environment or build directory that .gitignore does not cover, typically.
LARGE_UNTRACKED_FILES = 1000
LARGE_UNTRACKED_BYTES = 10 * 2**20
# Attributes under which `git add` may store other bytes than the disk holds.
_CONVERT_ATTRS = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")


class Change(Record):
    """One path whose working-tree content differs from HEAD."""

    __slots__ = ("mode", "oid", "path", "status")
    path: bytes  # relative to the repository root, as git spells it
    status: str  # "modified", "added", "deleted", "untracked", "submodule", "unreadable"
    mode: str  # working-tree mode ("000000" when deleted)
    oid: str  # blob id of the working-tree content; a submodule's version id

    def __init__(self, path: bytes, status: str, mode: str, oid: str) -> None:
        self._init(path=path, status=status, mode=mode, oid=oid)

    def digest_input(self) -> bytes:
        return b"%s\0%s\0%s\0" % (self.path, self.mode.encode(), self.oid.encode())

    @property
    def display_path(self) -> str:
        return os.fsdecode(self.path)


class GitState(Record):
    """A repository's HEAD and what differs from it in the working tree."""

    __slots__ = ("branch", "changes", "commit", "digest", "partial", "repo", "warnings")
    repo: git.Repo
    commit: str
    branch: str | None  # None when HEAD is detached
    changes: tuple[Change, ...]
    digest: str | None  # full hex digest of the uncommitted state; None when clean
    partial: tuple[str, ...]  # what could only partly be seen, one phrase each
    warnings: tuple[str, ...]  # one line each, for print_warnings()

    def __init__(
        self,
        repo: git.Repo,
        commit: str,
        branch: str | None,
        changes: tuple[Change, ...] = (),
        digest: str | None = None,
        partial: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
    ) -> None:
        self._init(
            repo=repo,
            commit=commit,
            branch=branch,
            changes=tuple(changes),
            digest=digest,
            partial=tuple(partial),
            warnings=tuple(warnings),
        )

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def git_dir(self) -> Path:
        return self.repo.git_dir

    @property
    def shallow(self) -> bool:
        return self.repo.shallow

    @property
    def object_format(self) -> str:
        return self.repo.object_format

    @property
    def dirty(self) -> bool:
        return bool(self.changes)

    @property
    def short_digest(self) -> str | None:
        return self.digest[:8] if self.digest else None

    @property
    def version_id(self) -> str:
        return version_id(self.commit, self.digest)

    def as_json(self) -> dict[str, object]:
        return {
            "version_id": self.version_id,
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "digest": self.digest,
            "changes": [{"path": c.display_path, "status": c.status} for c in self.changes],
            "root": str(self.root),
            "shallow": self.shallow,
            "warnings": list(self.warnings),
        }


def print_warnings(state: GitState) -> None:
    """Print the state's warnings to stderr, one line each."""
    import sys

    for w in state.warnings:
        sys.stderr.write(f"mlflow-gitver: warning: {w}\n")
    sys.stderr.flush()


class _Entry:
    __slots__ = (
        "flag",
        "head_mode",
        "head_oid",
        "index",
        "path",
        "submodule",
        "tracked",
        "wt_mode",
    )

    def __init__(
        self,
        path: bytes,
        head_mode: str | None,  # None: unknown yet (ask ls-tree)
        head_oid: str | None,
        *,
        wt_mode: str | None = None,  # the worktree mode git saw ("000000": no file there)
        submodule: bool = False,
        tracked: bool = True,
    ) -> None:
        self.path = path
        self.head_mode = head_mode
        self.head_oid = head_oid
        self.wt_mode = wt_mode
        self.submodule = submodule
        self.tracked = tracked
        self.flag = ""  # "skip" (skip-worktree) or "assume" (assume-unchanged): git never looks
        self.index = ("", "")  # (mode, oid) in the index, for flagged entries


def _parse_status(out: bytes) -> tuple[str, str | None, list[_Entry]]:
    """(HEAD oid or "(initial)", branch or None, entries) from porcelain v2 -z."""
    head = ""
    branch: str | None = None
    entries: list[_Entry] = []
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok:
            continue
        kind = tok[:1]
        if tok.startswith(b"# branch.oid "):
            head = tok[len(b"# branch.oid ") :].decode()
        elif tok.startswith(b"# branch.head "):
            name = tok[len(b"# branch.head ") :].decode("utf-8", "surrogateescape")
            branch = None if name == "(detached)" else name
        elif kind == b"1":
            # 1 XY sub mH mI mW hH hI path
            f = tok.split(b" ", 8)
            entries.append(
                _Entry(
                    f[8],
                    f[3].decode(),
                    f[6].decode(),
                    # mW means something only if the index has the path (mI).
                    wt_mode=f[5].decode() if f[4] != b"000000" else None,
                    submodule=f[2].startswith(b"S"),
                )
            )
        elif kind == b"2":
            # 2 XY sub mH mI mW hH hI Xscore path, then origPath as its own token.
            # Only seen if --no-renames is ignored; both paths are then re-checked.
            f = tok.split(b" ", 9)
            sub = f[2].startswith(b"S")
            entries.append(_Entry(f[9], None, None, submodule=sub))
            entries.append(_Entry(tokens[i], None, None, submodule=sub))
            i += 1
        elif kind == b"u":
            # u XY sub m1 m2 m3 mW h1 h2 h3 path: an unmerged path.
            f = tok.split(b" ", 10)
            entries.append(
                _Entry(f[10], None, None, wt_mode=f[6].decode(), submodule=f[2].startswith(b"S"))
            )
        elif kind == b"?":
            entries.append(_Entry(tok[2:], _NOT_IN_TREE, "", tracked=False))
    return head, branch, entries


def _select(entries: list[_Entry], untracked: bool) -> list[_Entry]:
    """One entry per path, without MLflow's stores, and without untracked files if unwanted.

    A path can be listed twice: ``git rm --cached f`` shows f deleted from the
    index *and* untracked.  The tracked entry wins: it knows what HEAD has, so a
    file still equal to HEAD is, rightly, no change.
    """
    chosen: dict[bytes, _Entry] = {}
    for e in entries:
        key = e.path.rstrip(b"/")
        if is_excluded(key) or (not untracked and not e.tracked):
            continue
        if key not in chosen or (e.tracked and not chosen[key].tracked):
            chosen[key] = e
    return list(chosen.values())


def _add_flagged(repo: git.Repo, entries: list[_Entry], index: Index) -> None:
    """Entries git was told not to look at (skip-worktree, assume-unchanged):
    looked at here, as ``git update-index --really-refresh`` would."""
    flagged = {p: f for p, f in index.flagged.items() if not is_excluded(p)}
    if not flagged:
        return
    # Their modes and ids in the index: by name when few, else all (a sparse checkout).
    paths = list(flagged) if len(flagged) <= 100 else None
    staged: dict[bytes, tuple[str, str]] = {}
    for rec in git.ls_files_stage(repo, paths).split(b"\0"):
        meta, _tab, path = rec.partition(b"\t")
        fields = meta.decode("ascii", "replace").split(" ")
        if path in flagged and len(fields) == 3 and fields[2] == "0":
            staged[path] = (fields[0], fields[1])
    by_path = {e.path.rstrip(b"/"): e for e in entries if e.tracked}
    for path, (mode, oid) in staged.items():
        e = by_path.get(path)
        if e is None:
            # Status compares HEAD with the index for flagged entries too: not
            # listed, so HEAD has what the index has.
            e = _Entry(path, mode, oid)
            entries.append(e)
        e.wt_mode = None  # status's view of this file is the index's, not the disk's
        e.flag = flagged[path]
        e.index = (mode, oid)


def _gitlinks(repo: git.Repo, index: Index) -> list[bytes]:
    """Paths of submodules (from .gitmodules) that are index entries."""
    if not index.submodules:
        return []
    try:
        text = (repo.root / ".gitmodules").read_bytes()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        key, eq, value = line.strip().partition(b"=")
        if eq and key.strip().lower() == b"path":
            path = value.strip().strip(b'"').rstrip(b"/")
            if path and index.has(path):
                out.append(path)
    return out


def _walk(root: bytes, rel: bytes) -> tuple[list[bytes], list[tuple[bytes, str]]]:
    """Every file under ``root/rel`` (nested repositories as one entry), and the
    directories that could not be read, with why."""
    files: list[bytes] = []
    bad: list[tuple[bytes, str]] = []
    todo = [rel]
    while todo:
        d = todo.pop()
        try:
            with os.scandir(root + d) as it:
                items = [(x.name, x.is_dir(follow_symlinks=False)) for x in it]
        except OSError as e:
            bad.append((d, e.strerror or str(e)))
            continue
        for name, is_dir in items:
            path = d + b"/" + name
            if is_excluded(path):
                continue
            if is_dir and not os.path.lexists(root + path + b"/.git"):
                todo.append(path)
            else:
                files.append(path)
    return files, bad


def _unpopulated_submodules(
    repo: git.Repo, index: Index, entries: list[_Entry], partial: list[str]
) -> list[Change]:
    """Files put into the directory of a submodule that is not checked out: git
    sees none of them.  They become untracked entries; unreadable directories
    are returned as changes."""
    root = os.fsencode(repo.root) + b"/"
    bad_dirs: list[Change] = []
    for link in _gitlinks(repo, index):
        if is_excluded(link) or os.path.lexists(root + link + b"/.git"):
            continue  # checked out: status sees it
        try:
            if not os.listdir(root + link):
                continue  # the empty directory a plain clone leaves
        except OSError:
            continue  # no directory there (or a file): status reports what matters
        files, bad = _walk(root, link)
        entries.extend(_Entry(f, _NOT_IN_TREE, "", tracked=False) for f in files)
        partial.append(
            f"{os.fsdecode(link)}/ (files in a submodule that is not checked out: "
            "counted without ignore rules)"
        )
        bad_dirs += _unreadable_changes(bad, partial)
    return bad_dirs


def _unreadable_changes(bad: list[tuple[bytes, str]], partial: list[str]) -> list[Change]:
    out = []
    for path, why in bad:
        if is_excluded(path):
            continue
        # Counted by its presence only: an edit inside cannot change the id.
        out.append(Change(path, "unreadable", "040000", "unreadable"))
        partial.append(f"{os.fsdecode(path)}/ (cannot be read: {why}; its content is not counted)")
    return out


def _unreadable_dirs(status_err: bytes) -> list[tuple[bytes, str]]:
    """Untracked directories git could not list (it warns, and goes on)."""
    prefix = b"warning: could not open directory '"
    out = []
    for line in status_err.split(b"\n"):
        if line.startswith(prefix):
            path, _sep, why = line[len(prefix) :].rpartition(b"': ")
            out.append((path.rstrip(b"/"), why.decode("utf-8", "replace")))
    return out


def _fill_head(repo: git.Repo, entries: list[_Entry], unborn: bool) -> None:
    """Look up HEAD's mode and id for entries status did not give them for."""
    unknown = [e for e in entries if e.head_mode is None]
    if not unknown:
        return
    found: dict[bytes, tuple[str, str]] = {}
    if not unborn:
        for rec in git.ls_tree(repo, "HEAD", [e.path for e in unknown]).split(b"\0"):
            if rec:
                meta, path = rec.split(b"\t", 1)
                mode, _type, oid = meta.decode().split(" ")
                found[path] = (mode, oid)
    for e in unknown:
        e.head_mode, e.head_oid = found.get(e.path, (_NOT_IN_TREE, ""))


def _nested_version(path: Path, untracked: bool, partial: list[str], key: bytes) -> str | None:
    """The version id of a submodule or nested repository checked out at ``path``."""
    if not os.path.lexists(os.path.join(path, ".git")):  # never raises (EACCES: no)
        return None
    name = os.fsdecode(key)
    try:
        state = read_state(path, untracked=untracked, keep_repo_env=False, allow_unborn=True)
    except GitverError as e:
        partial.append(f"{name}/ (a repository git cannot read: {e}; counted by its presence)")
        return "unreadable"
    partial.extend(f"{name}/{p}" for p in state.partial)
    if state.commit.strip("0"):
        return state.version_id
    # No commit yet: git shows only "name/"; its files count, one by one.
    partial.append(f"{name}/ (a nested repository with no commit yet: counted by its files)")
    return "unborn-" + (state.digest or "empty")


def _classify(e: _Entry, mode: str) -> str:
    if mode == _NOT_IN_TREE:
        return "deleted"
    if e.submodule or mode == _GITLINK:
        return "submodule"
    if not e.tracked:
        return "untracked"
    if e.head_mode == _NOT_IN_TREE:
        return "added"
    return "modified"


class _Row:
    """One entry, with what is on disk for it, before it is compared with HEAD."""

    __slots__ = ("entry", "key", "mode", "oid", "seen")

    def __init__(self, entry: _Entry, key: bytes, mode: str, oid: str, seen: Seen | None) -> None:
        self.entry = entry
        self.key = key
        self.mode = mode
        self.oid = oid
        self.seen = seen


def _look(
    repo: git.Repo,
    snap: gitstatus.Snapshot,
    entries: list[_Entry],
    untracked: bool,
    cache: StatCache,
    partial: list[str],
) -> list[_Row]:
    file_mode = snap.flag("core.filemode", True)
    symlinks = snap.flag("core.symlinks", True)
    rows: list[_Row] = []
    root = os.fsencode(repo.root) + b"/"
    missing: set[bytes] = set()  # directories known absent (sparse checkouts)
    try:
        root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as err:
        raise unreadable(root, err) from err
    try:
        for e in entries:
            key = e.path.rstrip(b"/")
            parent = key.rpartition(b"/")[0]
            got: Seen | None
            if e.wt_mode == _NOT_IN_TREE or (e.flag == "skip" and parent in missing):
                # git saw no file there (mW 000000): trust it, even if lstat finds
                # one through a symlinked parent directory, which git never follows.
                got = None
            else:
                # Paths relative to the root's descriptor: a deep root never makes
                # them too long for the system when git's own were not.
                got = worktree_entry(key, key, cache, root_fd)
            if got is None and e.flag == "skip":
                # Not checked out (sparse checkout): as the index has it.
                if parent and not os.path.lexists(root + parent):
                    missing.add(parent)
                rows.append(_Row(e, key, e.index[0], e.index[1], None))
                continue
            mode, oid = (got.mode, got.oid) if got is not None else (_NOT_IN_TREE, "")
            if mode in _REGULAR:
                # The mode git would record.  With core.symlinks=false a symlink is
                # checked out as a file holding its target; with core.fileMode=false
                # (file systems without an executable bit) git keeps HEAD's mode, and
                # a new file is 100644.  From HEAD, not the index: staging (`git rm
                # --cached`, `git add -N`) must not change the id.
                if not symlinks and e.head_mode == "120000":
                    mode = "120000"
                elif not file_mode:
                    mode = e.head_mode if e.head_mode in _REGULAR else "100644"
            if mode == "040000":
                # A directory where git expects a file or a gitlink: a submodule, or
                # an untracked nested repository ("dir/" in status).  Any other
                # directory's files are listed one by one by -uall.
                nested = _nested_version(Path(os.fsdecode(root + key)), untracked, partial, key)
                if nested is None and e.head_mode == _GITLINK:
                    continue  # a submodule that is not checked out: as after a plain clone
                if nested is None:
                    mode, oid = _NOT_IN_TREE, ""
                else:
                    mode, oid = _GITLINK, nested
            rows.append(_Row(e, key, mode, oid, got))
    finally:
        os.close(root_fd)
    return rows


def _attribute_files(repo: git.Repo, snap: gitstatus.Snapshot) -> bool:
    """Whether an attributes file outside the tree exists (git's other sources)."""
    if snap.setting("core.attributesfile"):
        return True
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.environ.get("HOME", "/"), ".config")
    places = [str(repo.common_dir / "info" / "attributes"), os.path.join(xdg, "git", "attributes")]
    if not os.environ.get("GIT_ATTR_NOSYSTEM"):
        places += ["/etc/gitattributes", "/usr/local/etc/gitattributes"]
    return any(os.path.exists(p) for p in places)


def _needs_git(attrs: dict[str, str], cr: bool, autocrlf: bool) -> bool:
    """Whether ``git add`` may store other bytes than the file holds."""
    if attrs.get("filter", "unspecified") not in ("unspecified", "unset"):
        return True
    if attrs.get("ident") == "set":
        return True
    if attrs.get("working-tree-encoding", "unspecified") not in ("unspecified", "unset"):
        return True
    if not cr:
        return False  # end-of-line conversion on check-in only turns CRLF into LF
    text, crlf = attrs.get("text", "unspecified"), attrs.get("crlf", "unspecified")
    if text == "unset" or crlf == "unset":
        return False
    if text != "unspecified" or crlf != "unspecified":
        return True
    return autocrlf or attrs.get("eol", "unspecified") != "unspecified"


def _apply_conversion(
    repo: git.Repo, snap: gitstatus.Snapshot, index: Index, rows: list[_Row]
) -> None:
    """Replace the raw blob id with the one git would store, where git may convert.

    Only for files whose attributes or core.autocrlf ask for conversion; git
    itself (``hash-object``) then computes it, clean filters included.
    """
    files = [r for r in rows if r.seen is not None and r.seen.mode in _REGULAR]
    if not files:
        return
    value = (snap.setting("core.autocrlf") or "false").strip().lower()
    autocrlf = value == "input" or snap.flag("core.autocrlf", False)
    attributes = (
        index.attributes
        or any(r.key.endswith(b".gitattributes") for r in rows)
        or _attribute_files(repo, snap)
    )
    if attributes:
        found: dict[bytes, dict[str, str]] = {}
        out = git.check_attr(repo, _CONVERT_ATTRS, [r.key for r in files]).split(b"\0")
        for i in range(0, len(out) - 2, 3):
            found.setdefault(out[i], {})[out[i + 1].decode()] = out[i + 2].decode()
        need = [r for r in files if _needs_git(found.get(r.key, {}), r.seen.cr, autocrlf)]  # type: ignore[union-attr]
    elif autocrlf:
        need = [r for r in files if r.seen.cr]  # type: ignore[union-attr]
    else:
        return
    need = [r for r in need if r.oid != r.entry.head_oid]  # the raw bytes are HEAD's: unchanged
    if not need:
        return
    try:
        oids = git.hash_paths(repo, [r.key for r in need])
    except CommandError as e:
        said = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitverError(
            f"git cannot compute what it would store for {len(need)} changed file(s) "
            f"({os.fsdecode(need[0].key)}, ...): {said[-1] if said else f'exit {e.returncode}'}; "
            "fix the file or its filter configuration"
        ) from e
    if len(oids) != len(need):
        raise GitverError(f"git hash-object gave {len(oids)} ids for {len(need)} files; run again")
    for r, oid in zip(need, oids, strict=True):
        r.oid = oid


def _changes(rows: list[_Row]) -> list[Change]:
    changes: list[Change] = []
    for r in rows:
        e, mode, oid = r.entry, r.mode, r.oid
        if (mode, oid) == (e.head_mode, e.head_oid):
            continue  # same as HEAD: staged and reverted, or only stat-dirty
        if mode == _NOT_IN_TREE and e.head_mode == _NOT_IN_TREE:
            continue  # added to the index, then removed from the working tree
        changes.append(Change(r.key, _classify(e, mode), mode, oid))
    return changes


def _large_untracked(rows: list[_Row], changes: list[Change]) -> str | None:
    """A warning when the untracked part of the state is unusually large."""
    untracked = {c.path for c in changes if c.status == "untracked"}
    if len(untracked) < 2:
        return None
    files = 0
    total = 0
    dirs: dict[bytes, list[int]] = {}
    for r in rows:
        if r.key not in untracked or r.seen is None:
            continue
        files += 1
        total += r.seen.size
        top = r.key.split(b"/", 1)[0] + b"/" if b"/" in r.key else b"./"
        d = dirs.setdefault(top, [0, 0])
        d[0] += 1
        d[1] += r.seen.size
    if files <= LARGE_UNTRACKED_FILES and total <= LARGE_UNTRACKED_BYTES:
        return None
    biggest = sorted(dirs.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))[:3]
    where = ", ".join(f"{os.fsdecode(d)} {n:,} files {_mb(b)}" for d, (n, b) in biggest)
    return (
        f"the untracked part of this state is unusually large: {files:,} files, "
        f"{_mb(total)} (most in {where}); add what is not code to .gitignore, "
        "or set 'untracked: false' in .mlflow-gitver.yaml"
    )


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def digest_of(changes: list[Change] | tuple[Change, ...]) -> str:
    h = new_hash("sha256")
    h.update(_DIGEST_SCHEME)
    for c in changes:
        h.update(c.digest_input())
    return h.hexdigest()


def read_state(
    start: Path | None = None,
    *,
    untracked: bool | Callable[[git.Repo], bool] = True,
    keep_repo_env: bool = True,
    pending: gitstatus.PendingStatus | None = None,
    allow_unborn: bool = False,
) -> GitState:
    """The state of the working tree containing ``start`` (default: the current directory).

    ``untracked`` may be a function of the repository (its config says), so
    that ``git status`` can start before the repository's root is known;
    ``pending`` is such a status, started early (see ``commands/id.py``).
    ``allow_unborn``: a repository with no commit yet has the null commit
    (for nested repositories) instead of being an error.
    """
    repo, snap = gitstatus.discover_with_status(
        start or Path.cwd(), keep_repo_env=keep_repo_env, pending=pending
    )
    want = untracked(repo) if callable(untracked) else untracked
    if not want:
        # The early status listed untracked files we must not count; the
        # unreadable-directory warnings it gave are not ours either.
        snap = gitstatus.Snapshot(snap.status, b"", snap.index, snap.config)
    return _state(repo, snap, want, allow_unborn)


def state_of(repo: git.Repo, *, untracked: bool = True) -> GitState:
    return _state(repo, gitstatus.snapshot(repo, untracked=untracked), untracked)


def _state(
    repo: git.Repo, snap: gitstatus.Snapshot, untracked: bool, allow_unborn: bool = False
) -> GitState:
    head, branch, entries = _parse_status(snap.status)
    unborn = head in ("", "(initial)")
    if unborn and not allow_unborn:
        raise GitverError(
            f"{repo.root} has no commit yet (unborn branch {branch or 'HEAD'}); "
            "make a first commit, then run again"
        )
    entries = _select(entries, untracked)
    index = Index(snap.index)
    _add_flagged(repo, entries, index)
    partial: list[str] = []
    extra: list[Change] = []
    if untracked:
        extra += _unpopulated_submodules(repo, index, entries, partial)
        extra += _unreadable_changes(_unreadable_dirs(snap.status_err), partial)
    _fill_head(repo, entries, unborn)
    cache = StatCache(repo.git_dir / STAT_CACHE_NAME, repo.object_format)
    rows = _look(repo, snap, entries, untracked, cache, partial)
    _apply_conversion(repo, snap, index, rows)
    changes = _changes(rows) + extra
    changes.sort(key=lambda c: c.path)
    cache.save()
    warnings = []
    if partial:
        warnings.append("could only partly be seen: " + "; ".join(partial))
    large = _large_untracked(rows, changes) if untracked else None
    if large:
        warnings.append(large)
    null = "0" * (64 if repo.object_format == "sha256" else 40)
    return GitState(
        repo=repo,
        commit=null if unborn else head,
        branch=branch,
        changes=tuple(changes),
        digest=digest_of(changes) if changes else None,
        partial=tuple(partial),
        warnings=tuple(warnings),
    )


def state_at_commit(repo: git.Repo, rev: str) -> GitState:
    """The (clean) state of a commit that need not be checked out."""
    commit = git.resolve_commit(repo, rev)
    if commit is None:
        raise GitverError(f"{rev!r} does not name a commit in {repo.root}; check --commit")
    return GitState(repo=repo, commit=commit, branch=None)
