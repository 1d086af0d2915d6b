"""Ending what git left half-done: conflicts resolved and continued, or the operation aborted."""

from __future__ import annotations

import shutil
import sys

from testing.campaign.names import GITIGNORE
from testing.campaign.shell import Shell

# GIT_SEQUENCE_EDITOR (and GIT_EDITOR for reword) of `git rebase -i`: argv is
# <mode> <file>; it rewrites the todo list (or the message) the way a user would.
SEQUENCE_EDITOR = """\
import sys

mode, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    lines = f.read().split("\\n")
if mode == "message":
    lines[0] = lines[0] + " (reworded)"
else:
    picks = [i for i, x in enumerate(lines) if x.split(" ", 1)[0] in ("pick", "p")]
    def verb(i, word):
        lines[i] = word + " " + lines[i].split(" ", 1)[1]
    if mode == "reverse":
        old = [lines[i] for i in picks]
        for i, x in zip(picks, reversed(old)):
            lines[i] = x
    elif picks and mode in ("edit", "reword", "drop"):
        verb(picks[0], mode)
    elif len(picks) > 1 and mode in ("squash", "fixup"):
        verb(picks[-1], mode)
with open(path, "w") as f:
    f.write("\\n".join(lines))
"""


class Sequencer(Shell):
    """Conflicts resolved the way a user would, and operations ended."""

    def in_progress(self) -> list[str]:
        """Operations git left half-done (a merge, a rebase, ...)."""
        gd = self.root / ".git"
        names = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply")
        return [n for n in names if (gd / n).exists()]

    def editor(self, mode: str) -> str:
        """A GIT_SEQUENCE_EDITOR / GIT_EDITOR command line (git appends the file)."""
        script = self.base / "seqedit.py"
        if not script.exists():
            script.write_text(SEQUENCE_EDITOR)
        return f"'{sys.executable}' '{script}' {mode}"

    def unmerged(self) -> list[str]:
        raw = self.out("diff", "--name-only", "--diff-filter=U", "-z")
        return sorted({p for p in raw.split("\0") if p})

    def resolution(self, path: str) -> bytes:
        """What a user writes into a conflicted file (the config stays valid)."""
        if path == ".mlflow-gitver.yaml":
            return self.config_text("resolved").encode()
        if path == ".gitignore":
            return GITIGNORE.encode()
        return b"resolved " + path.encode("utf-8", "surrogateescape") + b"\n"

    def conclude(self, resolve: bool, amend_on_stop: bool = False) -> None:
        """End whatever git left half-done: resolve each conflict and continue
        (concluding a merge by ``git commit``), or abort.  Always leaves no
        operation in progress."""
        continue_args = {
            "MERGE_HEAD": ("commit", "-q", "--no-edit"),
            "CHERRY_PICK_HEAD": ("cherry-pick", "--continue"),
            "REVERT_HEAD": ("revert", "--continue"),
            "rebase-merge": ("rebase", "--continue"),
            "rebase-apply": ("am", "--continue"),
        }
        skip_args = {
            "CHERRY_PICK_HEAD": ("cherry-pick", "--skip"),
            "REVERT_HEAD": ("revert", "--skip"),
            "rebase-merge": ("rebase", "--skip"),
            "rebase-apply": ("am", "--skip"),
        }
        for _ in range(12):
            ops = self.in_progress()
            if not ops:
                return
            if not resolve:
                break
            # rebase-apply is `git am` here, or `git rebase --apply` (not used).
            op = "rebase-merge" if "rebase-merge" in ops else ops[0]
            for i, path in enumerate(self.unmerged()):
                target = self.root / path
                keep = path in (".mlflow-gitver.yaml", ".gitignore")
                if keep or target.is_symlink() or target.exists() or i % 2 == 0:
                    if target.is_symlink() or target.is_dir():
                        self.git("rm", "-q", "-r", "--cached", "--", path)
                        if target.is_dir() and not target.is_symlink():
                            shutil.rmtree(target)
                        else:
                            target.unlink()
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(self.resolution(path))
                    self.git("add", "--", path)
                else:
                    self.git("rm", "-q", "--", path)
            if amend_on_stop and op == "rebase-merge" and not self.unmerged():
                # Stopped by an `edit` line: change the commit, as a user would.
                (self.root / "edited.txt").write_bytes(b"edited during a rebase\n")
                self.git("add", "edited.txt")
                self.git("commit", "-q", "--amend", "--no-edit")
                amend_on_stop = False
            self.git("add", "-u")
            ran = self.git(*continue_args[op])
            if ran.returncode != 0 and self.in_progress() and not self.unmerged():
                if op == "MERGE_HEAD":
                    self.git("commit", "-q", "--no-edit", "--allow-empty")
                elif op in skip_args:
                    self.git(*skip_args[op])
        self.abort()

    def abort(self) -> None:
        for op, args in (
            ("rebase-merge", ("rebase", "--abort")),
            ("rebase-apply", ("am", "--abort")),
            ("CHERRY_PICK_HEAD", ("cherry-pick", "--abort")),
            ("REVERT_HEAD", ("revert", "--abort")),
            ("MERGE_HEAD", ("merge", "--abort")),
        ):
            if op in self.in_progress():
                self.git(*args)
        # A sequencer (cherry-pick/revert of a range) may survive its HEAD file.
        if (self.root / ".git" / "sequencer").exists():
            self.git("cherry-pick", "--quit")
        assert not self.in_progress(), f"could not end {self.in_progress()}\n{self.report()}"
