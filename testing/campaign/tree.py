"""The working tree read byte by byte from the file system, and HEAD's tree to compare with."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from testing.campaign.names import NEVER_COUNTS
from testing.campaign.shell import Shell


class Tree(Shell):
    """The bytes that count in the working clone, and whether HEAD holds them."""

    # -- observing the working tree ------------------------------------------

    def ignored(self) -> set[str]:
        """Untracked files git ignores, by git's own rules (a tracked file that
        matches a pattern is not ignored, and the patterns may change)."""
        raw = subprocess.run(
            ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard"],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=True,
        ).stdout
        return {os.fsdecode(p) for p in raw.split(b"\0") if p}

    def snapshot(self) -> dict[str, tuple[str, bytes]]:
        """path -> (git mode, bytes or link target) of every file that counts,
        read from the file system itself."""
        ignored = self.ignored()
        out: dict[str, tuple[str, bytes]] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != ".git"]
            # A symlink to a directory is listed in dirnames: git tracks it as a link.
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = [d for d in dirnames if d not in NEVER_COUNTS and d not in links]
            for name in [*filenames, *links]:
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel in ignored or name.startswith(NEVER_COUNTS):
                    continue
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    out[rel] = ("120000", os.fsencode(os.readlink(full)))
                elif stat.S_ISREG(st.st_mode):
                    mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
                    out[rel] = (mode, Path(full).read_bytes())
        return out

    @staticmethod
    def digest(snap: Mapping[str, tuple[str, bytes]]) -> str:
        h = hashlib.sha256()
        for path in sorted(snap):
            mode, data = snap[path]
            h.update(f"{path}\0{mode}\0{len(data)}\0".encode("utf-8", "surrogateescape"))
            h.update(data)
        return h.hexdigest()

    def head(self) -> str | None:
        ran = self.git("rev-parse", "-q", "--verify", "HEAD^{commit}")
        return ran.stdout.strip() if ran.returncode == 0 else None

    def head_tree(self, rev: str = "HEAD") -> dict[str, tuple[str, str]]:
        """path -> (mode, blob id) of the commit ``rev``."""
        raw = subprocess.run(
            ["git", "ls-tree", "-r", "-z", rev],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=True,
        ).stdout
        out = {}
        for item in raw.split(b"\0"):
            if not item:
                continue
            meta, path = item.split(b"\t", 1)
            mode, _kind, blob = meta.split(b" ")
            out[os.fsdecode(path)] = (mode.decode(), blob.decode())
        return out

    @staticmethod
    def blob_id(data: bytes) -> str:
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def is_clean(self, snap: Mapping[str, tuple[str, bytes]]) -> bool:
        """Whether the bytes on disk are exactly HEAD's tree."""
        mine = {p: (m, self.blob_id(d)) for p, (m, d) in snap.items()}
        return mine == self.head_tree()
