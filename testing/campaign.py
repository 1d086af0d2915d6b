"""The world of the fault-and-state campaign (tests/test_campaign.py).

A working clone with our hooks installed for real, a local bare remote
``origin``, a colleague's clone that pushes to it without hooks, and the
session's real ``mlflow server``.  Everything here observes real processes and
real files: the working tree is read byte by byte (never through git's view of
it) so that the campaign can tell whether ``mlflow-gitver id`` saw every byte,
and the models are read back from the server with MLflow's own client.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TAG_VERSION_ID = "mlflow_gitver.version_id"
TAG_COMMIT = "mlflow.source.git.commit"
TAG_DIRTY = "mlflow.source.git.dirty"
# The colleague's commits are made elsewhere, without our hooks: this clone owes
# them no version.  They are told apart by their committer.
COLLEAGUE = "Colleague"
# Files the campaign writes that git ignores: they must never change the id.
IGNORED_SUFFIX = ".log"
# What our tool and MLflow may leave in a working tree that never counts.
NEVER_COUNTS = ("mlflow.db", "mlruns", "mlartifacts", "mlflow-gitver.env")
GIT_TIMEOUT = 300
GITIGNORE = "mlflow.db*\nmlruns/\nmlartifacts/\n.pre-commit-config.yaml\n*" + IGNORED_SUFFIX + "\n"

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
class World:
    """A working clone, a bare remote and a colleague's clone in ``base``."""

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

    # -- building -------------------------------------------------------------

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

    def build(self, install: Callable[[World], None]) -> None:
        self.base.mkdir(parents=True)
        self.git("init", "-q", "--bare", "-b", "main", str(self.remote), cwd=self.base, check=True)
        self.git("init", "-q", "-b", "main", str(self.root), cwd=self.base, check=True)
        self.git("remote", "add", "origin", str(self.remote), check=True)
        (self.root / ".mlflow-gitver.yaml").write_text(self.config_text())
        (self.root / ".gitignore").write_text(GITIGNORE)
        install(self)
        self.git("add", "-A", check=True)
        self.git("commit", "-q", "-m", "initial", check=True)
        # The root commit holds the config: nothing the campaign does reverts it.
        (self.root / "a.txt").write_text("a\n")
        self.git("add", "-A", check=True)
        self.git("commit", "-q", "-m", "a.txt", check=True)
        self.git("push", "-q", "-u", "origin", "main", check=True)
        self.git("clone", "-q", str(self.remote), str(self.colleague), cwd=self.base, check=True)

    def colleague_env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": COLLEAGUE,
            "GIT_AUTHOR_EMAIL": "colleague@example.com",
            "GIT_COMMITTER_NAME": COLLEAGUE,
            "GIT_COMMITTER_EMAIL": "colleague@example.com",
        }

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

    # -- our processes --------------------------------------------------------

    def our_processes(self, *, flush_only: bool = True) -> list[int]:
        """Live processes of mlflow-gitver working on this clone, read from /proc:
        by default the background flushes (``mlflow_gitver flush``)."""
        pids = []
        root = str(self.root).encode()
        for p in Path("/proc").iterdir():
            if not p.name.isdigit() or int(p.name) == os.getpid():
                continue
            try:
                argv = (p / "cmdline").read_bytes().split(b"\0")
                state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
                cwd = os.readlink(p / "cwd").encode()
            except OSError:
                continue
            if state == "Z":
                continue
            ours = any(b"mlflow_gitver" in a or b"mlflow-gitver" in a for a in argv)
            if not ours:
                continue
            if flush_only and b"flush" not in argv:
                continue
            if any(root in a for a in argv) or cwd == root or cwd.startswith(root + b"/"):
                pids.append(int(p.name))
        return pids

    def kill_ours(self, *, flush_only: bool = True) -> list[int]:
        killed = []
        for pid in self.our_processes(flush_only=flush_only):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        self.note(f"SIGKILL {killed}")
        return killed

    def settle(self, timeout: float = 240) -> None:
        """Wait until no background flush of this clone is running."""
        deadline = time.monotonic() + timeout
        while self.our_processes():
            if time.monotonic() > deadline:
                raise AssertionError(f"background flush still running after {timeout}s")
            time.sleep(0.2)

    # -- the server's view ----------------------------------------------------

    def models(self) -> list[object]:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.server_url)
        exp = client.get_experiment_by_name(self.experiment)
        if exp is None:
            return []
        found: list[object] = []
        token = None
        while True:
            page = client.search_logged_models(
                experiment_ids=[exp.experiment_id], max_results=100, page_token=token
            )
            found.extend(page)
            token = page.token
            if not token:
                return found

    def commits_owed(self) -> dict[str, str]:
        """sha -> subject of every commit reachable from a branch of the working
        clone that was made in it (so while the hooks were installed)."""
        text = self.out("log", "--branches", "--format=%H%x00%cn%x00%s")
        owed = {}
        for line in text.splitlines():
            sha, committer, subject = line.split("\0", 2)
            if committer != COLLEAGUE:
                owed[sha] = subject
        return owed

    def commit_exists(self, sha: str) -> bool:
        ran = self.git("cat-file", "-e", f"{sha}^{{commit}}")
        return ran.returncode == 0

    def status_json(self) -> tuple[int, dict[str, list[dict[str, object]]]]:
        ran = self.tool("status", "--format", "json")
        try:
            data = json.loads(ran.stdout or "{}")
        except ValueError as e:
            raise AssertionError(f"status --format json is not JSON: {ran.stdout!r}") from e
        return ran.returncode, data

    def fresh_clone_id(self, snap: Mapping[str, tuple[str, bytes]], head: str) -> str:
        """``id --json`` of a fresh clone at ``head`` holding the files of ``snap``."""
        clone = self.base / f"clone-{uuid.uuid4().hex[:6]}"
        self.git(
            "clone", "-q", "--no-checkout", str(self.root), str(clone), cwd=self.base, check=True
        )
        self.git("checkout", "-q", "--detach", head, cwd=clone, check=True)
        for entry in clone.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for path, (mode, data) in snap.items():
            dest = clone / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(os.fsdecode(data), dest)
            else:
                dest.write_bytes(data)
                dest.chmod(0o755 if mode == "100755" else 0o644)
        ran = self.run("mlflow-gitver", "id", "--json", cwd=clone, check=True)
        return ran.stdout.strip()


def tags_of(model: object) -> dict[str, str]:
    return dict(getattr(model, "tags", None) or {})


def status_of(model: object) -> str:
    return str(getattr(model, "status", ""))


def summarize(models: Iterable[object]) -> str:
    rows = []
    for m in models:
        t = tags_of(m)
        rows.append(
            f"  {getattr(m, 'model_id', '?')} {getattr(m, 'name', '?')} {status_of(m)} "
            f"version_id={t.get(TAG_VERSION_ID)}"
        )
    return "\n".join(rows)
