"""The fault-and-state campaign (issue 10, "Find the next ones yourself").

A Hypothesis state machine drives a real clone with our hooks installed for real
(the plain ``hooks/`` scripts through ``core.hooksPath``, running
``mlflow-gitver`` from ``PATH``; or the real pre-commit framework), a local bare
remote, a colleague who pushes to it without hooks, and the session's real
``mlflow server``.  Its rules interleave what people and machines do: edits
(tracked, untracked, ignored, deletes, renames, binary, executable bits,
symlinks, odd names), staging, commits, amends, branches, merges (conflicted
ones concluded by ``git commit``), rebases (``-i`` with a scripted todo list,
``--exec``, autosquash, ``--rebase-merges``), cherry-picks, reverts, ``git am``
of ``format-patch`` output, pulls, pushes, stops and starts of the server, and
SIGKILL of our background ``mlflow_gitver flush`` processes at random moments.

Checked along the way: ``mlflow-gitver id`` is a function of the bytes on disk
(the same bytes on the same commit give the same id, other bytes another id, a
tree equal to HEAD gives HEAD), and ``status`` never says all is registered
while a commit made here has no version.  Checked at the end, after a final
``mlflow-gitver flush`` with the server up:

- every commit reachable from a branch that was made in this clone (so with the
  hooks installed) has exactly one LoggedModel, READY, whose
  ``mlflow_gitver.version_id`` is the commit;
- no model has a wrong id: each names a commit that exists (its
  ``mlflow.source.git.commit`` tag the same, not dirty), or a dirty id that
  ``register`` printed for those very bytes;
- ``status`` is truthful: exit 0 exactly when it lists nothing, and then every
  such commit is registered;
- ``id`` of the final working tree equals the id of a fresh clone holding the
  same files;
- nothing we ran, and nothing in ``hook.log``, says "this is a bug".

The default run is small and derandomized, so CI is reproducible and stays
inside its budget.  Knobs (environment variables):

- ``MLFLOW_GITVER_CAMPAIGN_EXAMPLES=200``: examples per variant (default 2 for
  the main campaign, 1 for the others);
- ``MLFLOW_GITVER_CAMPAIGN_STEPS=60``: steps per example (default 24);
- ``MLFLOW_GITVER_CAMPAIGN_SEED=N``: random generation from seed N instead of
  the derandomized default;
- ``MLFLOW_GITVER_CAMPAIGN_OUTAGES=3``: server outages per example (default 1);
- ``MLFLOW_GITVER_CAMPAIGN_VERBOSE=1``: print every example's log of commands;
- ``MLFLOW_GITVER_CAMPAIGN_SHRINK=1``: let Hypothesis shrink a failure to a
  shorter program (slow: every try replays real git and a real server).

A failure prints the steps as a program (``state.merge(...)``) and our own log
of every command with its exit code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from testing.campaign.names import TAG_COMMIT, TAG_DIRTY, TAG_VERSION_ID
from testing.campaign.observe import status_of, summarize, tags_of
from testing.campaign.tree import Tree
from testing.campaign.world import World
from testing.server import MlflowServer
from testing.source import HOOKS_DIR, ROOT, SourceRepo

pytestmark = [pytest.mark.server, pytest.mark.slow]

BIN = Path(sys.executable).parent
PRE_COMMIT = str(BIN / "pre-commit")

PATHS = (
    "a.txt",
    "b.txt",
    "dir/c.txt",
    "dir/sub/d.py",
    "bin.dat",
    "sp ace ü.txt",
    "new\nline.txt",
    "-dash.txt",
)
CONTENTS = (
    b"",
    b"one\n",
    b"two\n",
    b"one\r\n",
    b"\x00\xff\xfe\x00 binary",
    b"caf\xe9 latin-1\n",
    b"long line " * 400 + b"\n",
)
contents = st.one_of(st.sampled_from(CONTENTS), st.binary(max_size=12))
MAX_BRANCHES = 4
CLEAN_ID = re.compile(r"^[0-9a-f]{40}$")
DIRTY_ID = re.compile(r"^([0-9a-f]{32})-dirty-([0-9a-f]{8})$")

# What every variant can do; some rules name a family that only the full
# campaign enables.
CORE = frozenset(
    {
        "edit",
        "index",
        "commit",
        "branch",
        "rebase",
        "rebase-i",
        "cherry-pick",
        "revert",
        "pull-rebase",
        "push",
        "outage",
        "kill",
        "register",
        "status",
    }
)
# Ways of making a commit for which git runs another hook than post-commit
# (post-merge for `git merge`/`git pull`, post-applypatch for `git am`), and a
# commit whose hook is killed: the hooks record every commit HEAD's reflog shows.
MERGING = frozenset({"merge", "pull-merge", "am", "rebase-merges", "interrupt"})


# Read at import: the autouse fixture of tests/conftest.py clears MLFLOW_* variables.
KNOBS = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_GITVER_CAMPAIGN_")}


def _env_int(name: str, default: int) -> int:
    value = KNOBS.get(name)
    return int(value) if value else default


# A server start costs seconds: one outage per example unless asked for more.
MAX_OUTAGES = _env_int("MLFLOW_GITVER_CAMPAIGN_OUTAGES", 1)


def is_ready(model: object) -> bool:
    status = getattr(model, "status", None)
    return str(status) == "READY" or getattr(status, "name", "") == "READY"


@dataclass(frozen=True)
class Setup:
    """What every example of one test shares."""

    tmp: Path
    server: MlflowServer
    env: dict[str, str]
    hooks: str
    install: Callable[[World], None]


def enabled(family: str):  # type: ignore[no-untyped-def]
    return precondition(lambda self: family in self.families)


class Campaign(RuleBasedStateMachine):
    """One example: a fresh world, a sequence of steps, the final checks."""

    families: ClassVar[frozenset[str]] = CORE
    setup: ClassVar[Setup]

    def __init__(self) -> None:
        super().__init__()
        setup = self.setup
        self.server = setup.server
        base = setup.tmp / f"ex{len(list(setup.tmp.iterdir()))}"
        self.w = World(base, self.server.url, dict(setup.env), hooks=setup.hooks)
        self.w.build(setup.install)
        self.branch_count = 0
        self.outages = 0
        self.failed_step = False
        # (HEAD, digest of the bytes) -> id, and back: id must be a function of both.
        self.ids: dict[tuple[str, str], str] = {}
        self.id_of: dict[str, tuple[str, str]] = {}
        # Dirty ids that `register` printed: they must be on the server at the end.
        self.registered_dirty: dict[str, str] = {}
        # Versions `checkout` restored (the register rule checks each).
        self.restored: list[str] = []
        # sha -> the step that made it, for the report.
        self.made_by: dict[str, str] = {}
        self._note_new_commits("initial")

    # -- bookkeeping ------------------------------------------------------------

    def _note_new_commits(self, step: str) -> None:
        text = self.w.out("rev-list", "--branches")
        for sha in text.split():
            self.made_by.setdefault(sha, step)

    def _step(self, name: str) -> None:
        self.w.note(f"step {name}")

    def _after(self, name: str) -> None:
        self.w.abort()
        self._note_new_commits(name)

    def _branches(self) -> list[str]:
        return sorted(self.w.out("for-each-ref", "--format=%(refname:short)", "refs/heads").split())

    def _others(self) -> list[str]:
        """Branches other than the current one (all of them when there is none)."""
        here = self._current()
        return [b for b in self._branches() if b != here] or self._branches()

    def _current(self) -> str | None:
        ran = self.w.git("symbolic-ref", "-q", "--short", "HEAD")
        return ran.stdout.strip() or None

    # -- edits --------------------------------------------------------------------

    @enabled("edit")
    @rule(path=st.sampled_from(PATHS), data=contents)
    def edit(self, path: str, data: bytes) -> None:
        self._step(f"edit {path!r} {data[:20]!r}")
        target = self.w.root / path
        if target.is_symlink():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    @enabled("edit")
    @rule(path=st.sampled_from(PATHS))
    def delete(self, path: str) -> None:
        self._step(f"delete {path!r}")
        target = self.w.root / path
        if os.path.lexists(target):
            target.unlink()

    @enabled("edit")
    @rule(src=st.sampled_from(PATHS), dst=st.sampled_from(PATHS), with_git=st.booleans())
    def rename(self, src: str, dst: str, with_git: bool) -> None:
        self._step(f"rename {src!r} {dst!r} with_git={with_git}")
        if src == dst or not os.path.lexists(self.w.root / src):
            return
        if with_git:
            self.w.git("mv", "-f", "--", src, dst)
        else:
            (self.w.root / dst).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.w.root / src, self.w.root / dst)

    @enabled("edit")
    @rule(path=st.sampled_from(PATHS))
    def chmod(self, path: str) -> None:
        self._step(f"chmod {path!r}")
        target = self.w.root / path
        if target.is_file() and not target.is_symlink():
            target.chmod(target.stat().st_mode ^ 0o111)

    @enabled("edit")
    @rule(to=st.sampled_from(("a.txt", "dir", "missing")))
    def symlink(self, to: str) -> None:
        self._step(f"symlink link -> {to}")
        link = self.w.root / "link"
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(to)

    @enabled("edit")
    @rule(data=contents)
    def ignored_file(self, data: bytes) -> None:
        self._step("ignored file")
        (self.w.root / "dir").mkdir(exist_ok=True)
        (self.w.root / "dir" / "build.log").write_bytes(data)

    @enabled("index")
    @rule(how=st.sampled_from(("add-all", "reset", "intent-to-add", "rm-cached", "stash")))
    def index(self, how: str) -> None:
        """Staging never changes the id; a stash round trip gives the bytes back."""
        w = self.w
        self._step(f"index {how}")
        if how == "add-all":
            w.git("add", "-A")
        elif how == "reset":
            w.git("reset", "-q")
        elif how == "intent-to-add":
            w.git("add", "-N", "--", ".")
        elif how == "rm-cached":
            w.git("rm", "-q", "--cached", "--ignore-unmatch", "--", "a.txt")
        else:
            before = w.digest(w.snapshot())
            if w.git("stash", "push", "-q", "-u").returncode == 0:
                self.check_id()
                if w.git("stash", "pop", "-q").returncode == 0:
                    # git cannot give an executable bit or a symlink back differently.
                    assert w.digest(w.snapshot()) == before, w.report()

    @rule()
    def check_id(self) -> None:
        """The id is a function of HEAD and the bytes on disk."""
        w = self.w
        head = w.head()
        assert head is not None
        snap = w.snapshot()
        digest = w.digest(snap)
        ran = w.tool("id")
        assert ran.returncode == 0, f"{ran.line()}\n{w.report()}"
        vid = ran.stdout.strip()
        self._check_vid(vid, head, digest, clean=w.is_clean(snap))

    def _check_vid(self, vid: str, head: str, digest: str, *, clean: bool) -> None:
        w = self.w
        if clean:
            assert vid == head, f"clean tree on {head}, id {vid}\n{w.report()}"
        else:
            m = DIRTY_ID.match(vid)
            assert m and m.group(1) == head[:32], f"dirty tree on {head}: id {vid}\n{w.report()}"
        key = (head, digest)
        seen = self.ids.setdefault(key, vid)
        assert seen == vid, f"same bytes on {head[:12]}, ids {seen} then {vid}\n{w.report()}"
        other = self.id_of.setdefault(vid, key)
        assert other == key, f"id {vid} for two different trees\n{w.report()}"

    # -- commits --------------------------------------------------------------------

    @enabled("commit")
    @rule(how=st.sampled_from(("add-all", "tracked", "allow-empty", "fixup")))
    def commit(self, how: str) -> None:
        self._step("commit")
        w = self.w
        n = len(self.made_by)
        if how == "add-all":
            w.git("add", "-A")
            w.git("commit", "-q", "-m", f"commit {n}")
        elif how == "tracked":
            w.git("commit", "-q", "-a", "-m", f"commit -a {n}")
        elif how == "allow-empty":
            w.git("commit", "-q", "--allow-empty", "-m", f"empty {n}")
        else:
            w.git("add", "-A")
            w.git("commit", "-q", "--allow-empty", "--fixup", "HEAD")
        self._after(f"commit {how}")

    @enabled("commit")
    @rule()
    def commit_amend(self) -> None:
        self._step("amend")
        self.w.git("add", "-A")
        self.w.git("commit", "-q", "--amend", "--no-edit")
        self._after("amend")

    @enabled("edit")
    @rule(llm=st.sampled_from(("gpt-4o-mini", "gpt-4o", "claude")))
    def edit_config(self, llm: str) -> None:
        """A new param value for the commits that follow (a valid config)."""
        self._step(f"edit config llm={llm}")
        (self.w.root / ".mlflow-gitver.yaml").write_text(self.w.config_text(llm))

    # -- branches -------------------------------------------------------------------

    @enabled("branch")
    @precondition(lambda self: self.branch_count < MAX_BRANCHES)
    @rule()
    def new_branch(self) -> None:
        self.branch_count += 1
        self.w.git("checkout", "-q", "-b", f"b{self.branch_count}")

    @enabled("branch")
    @rule(data=st.data(), force=st.booleans())
    def switch(self, data: st.DataObject, force: bool) -> None:
        to = data.draw(st.sampled_from(self._branches()), label="to")
        self.w.git("checkout", "-q", *(["-f"] if force else []), to)

    @enabled("merge")
    @rule(data=st.data(), no_ff=st.booleans(), resolve=st.booleans())
    def merge(self, data: st.DataObject, no_ff: bool, resolve: bool) -> None:
        other = data.draw(st.sampled_from(self._others()), label="other")
        self._step("merge")
        self.w.git("merge", "-q", "--no-edit", *(["--no-ff"] if no_ff else []), other)
        self.w.conclude(resolve)
        self._after(f"merge {other}")

    @enabled("merge")
    @precondition(lambda self: self.branch_count < MAX_BRANCHES)
    @rule()
    def conflicted_merge(self) -> None:
        """Both sides change conflict.txt; the merge stops and `git commit` ends it."""
        w = self.w
        here = self._current()
        if here is None:
            return
        self.branch_count += 1
        side = f"b{self.branch_count}"
        self._step("conflicted merge")
        w.git("branch", side)
        w.git("checkout", "-q", side)
        (w.root / "conflict.txt").write_bytes(f"{side} side\n".encode())
        w.git("add", "conflict.txt")
        w.git("commit", "-q", "-m", f"{side} side of conflict.txt", "--", "conflict.txt")
        w.git("checkout", "-q", here)
        (w.root / "conflict.txt").write_bytes(f"{here} side\n".encode())
        w.git("add", "conflict.txt")
        w.git("commit", "-q", "-m", f"{here} side of conflict.txt", "--", "conflict.txt")
        w.git("merge", "-q", "--no-edit", side)
        w.conclude(True)
        self._after("conflicted merge")

    # -- history rewriting ------------------------------------------------------

    def _depth(self) -> int:
        return int(self.w.out("rev-list", "--count", "--first-parent", "HEAD").strip())

    @enabled("rebase")
    @rule(data=st.data(), resolve=st.booleans())
    def rebase(self, data: st.DataObject, resolve: bool) -> None:
        onto = data.draw(st.sampled_from(self._others()), label="onto")
        self._step("rebase")
        self.w.git("rebase", "-q", "--autostash", onto)
        self.w.conclude(resolve)
        self._after(f"rebase {onto}")

    @enabled("rebase-i")
    @rule(
        mode=st.sampled_from(
            ("reverse", "squash", "fixup", "drop", "edit", "reword", "exec", "autosquash", "noop")
        ),
        depth=st.integers(1, 4),
        resolve=st.booleans(),
        merges=st.booleans(),
    )
    def rebase_i(self, mode: str, depth: int, resolve: bool, merges: bool) -> None:
        w = self.w
        depth = min(depth, self._depth() - 1)
        if depth < 1:
            return
        if merges and "rebase-merges" not in self.families:
            merges = False
        self._step(f"rebase -i {mode}")
        env = {"GIT_SEQUENCE_EDITOR": w.editor(mode), "GIT_EDITOR": w.editor("message")}
        args = ["rebase", "-q", "-i", "--autostash", *(["--rebase-merges"] if merges else [])]
        if mode == "exec":
            # A command that itself makes a commit in the middle of the rebase.
            args += ["--exec", "git commit -q --allow-empty -m 'made by --exec'"]
            env["GIT_SEQUENCE_EDITOR"] = "true"
        elif mode == "autosquash":
            w.git("commit", "-q", "--allow-empty", "--fixup", "HEAD~1" if depth > 1 else "HEAD")
            self._note_new_commits("commit --fixup")
            args.append("--autosquash")
            env["GIT_SEQUENCE_EDITOR"] = "true"
            depth += 1
        elif mode == "noop":
            args.append("--force-rebase")
            env["GIT_SEQUENCE_EDITOR"] = "true"
        w.git(*args, f"HEAD~{depth}", env=env)
        w.conclude(resolve, amend_on_stop=mode == "edit")
        self._after(f"rebase -i {mode}{' --rebase-merges' if merges else ''}")

    @enabled("cherry-pick")
    @rule(data=st.data(), count=st.integers(1, 2), resolve=st.booleans())
    def cherry_pick(self, data: st.DataObject, count: int, resolve: bool) -> None:
        other = data.draw(st.sampled_from(self._others()), label="other")
        self._step("cherry-pick")
        rev = other if count == 1 else f"{other}~{count}..{other}"
        self.w.git("cherry-pick", "-x", rev)
        self.w.conclude(resolve)
        self._after(f"cherry-pick {rev}")

    @enabled("revert")
    @precondition(lambda self: self._depth() > 1)  # never the root commit, which holds the config
    @rule(resolve=st.booleans())
    def revert(self, resolve: bool) -> None:
        self._step("revert")
        merge = self.w.git("rev-parse", "-q", "--verify", "HEAD^2").returncode == 0
        self.w.git("revert", "--no-edit", *(["-m", "1"] if merge else []), "HEAD")
        self.w.conclude(resolve)
        self._after("revert")

    @enabled("am")
    @rule(data=st.data(), count=st.integers(1, 2), resolve=st.booleans())
    def am(self, data: st.DataObject, count: int, resolve: bool) -> None:
        other = data.draw(st.sampled_from(self._others()), label="other")
        self._step("am")
        patch = self.w.git("format-patch", "--stdout", f"-{count}", other, check=True).stdout
        if patch:
            self.w.run("git", "am", "-q", "-3", input=patch.encode("utf-8", "surrogateescape"))
            self.w.conclude(resolve)
        self._after(f"am {other}")

    # -- the remote -----------------------------------------------------------------

    @enabled("pull-rebase")
    @rule(path=st.sampled_from(PATHS), data=contents)
    def colleague_pushes(self, path: str, data: bytes) -> None:
        """Someone else pushes to main (no hooks there: owed no version here)."""
        w = self.w
        c, env = w.colleague, w.colleague_env()
        w.git("fetch", "-q", "origin", cwd=c, env=env, check=True)
        w.git("reset", "-q", "--hard", "origin/main", cwd=c, env=env, check=True)
        target = c / path
        if target.is_symlink():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"colleague " + data)
        w.git("add", "-A", cwd=c, env=env, check=True)
        w.git("commit", "-q", "--allow-empty", "-m", "colleague", cwd=c, env=env, check=True)
        w.git("push", "-q", "origin", "HEAD:main", cwd=c, env=env, check=True)

    @enabled("pull-rebase")
    @rule(
        how=st.sampled_from(("--rebase", "--ff-only", "--no-rebase")),
        resolve=st.booleans(),
    )
    def pull(self, how: str, resolve: bool) -> None:
        if how == "--no-rebase" and "pull-merge" not in self.families:
            how = "--rebase"
        self._step(f"pull {how}")
        self.w.git("pull", "-q", "--no-edit", "--autostash", how, "origin", "main")
        self.w.conclude(resolve)
        self._after(f"pull {how}")

    @enabled("push")
    @rule(how=st.sampled_from(("current", "all", "force")))
    def push(self, how: str) -> None:
        self._step(f"push {how}")
        if how == "all":
            ran = self.w.git("push", "-q", "--all", "origin")
        else:
            ran = self.w.git("push", "-q", *(["-f"] if how == "force" else []), "origin", "HEAD")
        # Our pre-push blocks only on an invalid config, which the campaign never commits.
        assert "push blocked" not in ran.stderr, f"{ran.line()}\n{self.w.report()}"

    # -- faults ---------------------------------------------------------------------

    @enabled("outage")
    @precondition(lambda self: self.server.proc is not None and self.outages < MAX_OUTAGES)
    @rule()
    def server_down(self) -> None:
        self.outages += 1
        self.w.note("server stopped")
        self.server.stop()

    @enabled("outage")
    @precondition(lambda self: self.server.proc is None)
    @rule()
    def server_up(self) -> None:
        self.w.note("server starting")
        self.server.start()

    @enabled("kill")
    @rule(delay=st.sampled_from((0.0, 0.3, 0.8, 1.5, 3.0)))
    def kill(self, delay: float) -> None:
        """SIGKILL our background flushes, wherever they are."""
        self._step(f"kill after {delay}s")
        time.sleep(delay)
        self.w.kill_ours()

    @enabled("interrupt")
    @rule(delay=st.sampled_from((0.0, 0.05, 0.15, 0.4)))
    def interrupted_commit(self, delay: float) -> None:
        """SIGKILL every process of ours, the post-commit hook too, while git commits."""
        w = self.w
        self._step(f"commit, SIGKILL of our processes after {delay}s")
        proc = subprocess.Popen(
            ["git", "commit", "-q", "--allow-empty", "-m", "interrupted"],
            cwd=w.root,
            env=w.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + delay
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        w.kill_ours(flush_only=False)
        proc.wait(timeout=120)
        self._after("interrupted commit")

    @enabled("register")
    @rule()
    def register(self) -> None:
        """`register` of the working tree as it is (often dirty)."""
        w = self.w
        self._step("register")
        head = w.head()
        assert head is not None
        snap = w.snapshot()
        ran = w.tool("register", "--format", "json")
        if ran.returncode != 0:
            assert ran.returncode == 1 and self.server.proc is None, f"{ran.line()}\n{w.report()}"
            return
        out = json.loads(ran.stdout)
        vid = str(out["version_id"])
        self._check_vid(vid, head, w.digest(snap), clean=w.is_clean(snap))
        if DIRTY_ID.match(vid):
            self.registered_dirty[vid] = head
        if self.server.proc is not None:
            self._restore(str(out["model_id"]), vid, snap)

    def _restore(self, model_id: str, vid: str, snap: dict[str, tuple[str, bytes]]) -> None:
        """`checkout` of what was just registered: the same bytes on disk, or exit 1
        naming each file it could not rebuild (and those are the only differences)."""
        w = self.w
        base = w.base.parent / f"{w.base.name}-restored-{len(self.restored)}"
        self.restored.append(vid)
        dest = Tree(base, w.server_url, w.env).root  # <base>/work, as the world's
        ran = w.tool("checkout", model_id, "--dir", str(dest), "--format", "json")
        assert ran.returncode in (0, 1) and ran.stdout, f"{ran.line()}\n{w.report()}"
        out = json.loads(ran.stdout)
        got = Tree(base, w.server_url, w.env).snapshot()
        got.pop(".git", None)  # a worktree's .git is a file naming the repository
        differ = {p for p in set(snap) | set(got) if snap.get(p) != got.get(p)}
        named = {str(r["path"]) for r in out["not_exact"]}
        if ran.returncode == 0:
            assert out["recomputed_id"] == vid and not differ, (
                f"checkout of {vid} is exact by its id, but differs in {sorted(differ)}\n"
                f"{w.report()}"
            )
        else:
            assert named or out.get("why"), (
                f"checkout of {vid} not exact, nothing named\n{ran.stderr}"
            )
            assert differ <= named or out.get("why"), (
                f"checkout of {vid}: {sorted(differ - named)} differ, not named\n{w.report()}"
            )
        w.git("worktree", "remove", "--force", str(dest), check=True)

    @enabled("status")
    @precondition(lambda self: self.server.proc is not None)
    @rule()
    def quiet_status(self) -> None:
        """Once the background is idle, `status` exit 0 means: all registered."""
        w = self.w
        self._step("quiet status")
        w.settle()
        code, _ = w.status_json()
        assert code in (0, 1), f"status exit {code}\n{w.report()}"
        if code == 0:
            missing = self._missing()
            assert not missing, (
                "status says every recorded version is registered, but these commits "
                f"made here have no version:\n{missing}\n{w.report()}"
            )

    # -- the end ----------------------------------------------------------------------

    def _missing(self) -> str:
        owed = self.w.commits_owed()
        have = {tags_of(m).get(TAG_VERSION_ID) for m in self.w.models() if is_ready(m)}
        return "\n".join(
            f"  {sha[:12]} {subject!r} (made by {self.made_by.get(sha, '?')})"
            for sha, subject in owed.items()
            if sha not in have
        )

    def teardown(self) -> None:
        w = self.w
        try:
            if self.server.proc is None:
                self.server.start()
            self.final_checks()
        finally:
            w.settle()
            if KNOBS.get("MLFLOW_GITVER_CAMPAIGN_VERBOSE") == "1":
                print(w.report(10_000), file=sys.stderr)

    def final_checks(self) -> None:
        w = self.w
        w.settle()
        w.abort()
        w.note("final flush")
        flush = w.tool("flush")
        code, listed = w.status_json()
        # What status says is wrong: every non-empty list it prints, except failed
        # records of commits no branch reaches (kept for information only).
        listed_commits = {
            str(r.get("commit", r.get("file", "?")))
            for key, rows in listed.items()
            if isinstance(rows, list) and key != "pruned"
            for r in rows
            if isinstance(r, dict) and r.get("reachable") is not False
        }
        owed = w.commits_owed()
        models = w.models()
        by_vid: dict[str, list[object]] = {}
        for m in models:
            by_vid.setdefault(tags_of(m).get(TAG_VERSION_ID, ""), []).append(m)
        problems: list[str] = []

        for sha, subject in owed.items():
            found = by_vid.get(sha, [])
            how = self.made_by.get(sha, "?")
            if not found:
                problems.append(f"MISSING {sha[:12]} {subject!r} (made by {how})")
            elif len(found) > 1 or not all(is_ready(m) for m in found):
                problems.append(
                    f"NOT EXACTLY ONE READY {sha[:12]} (made by {how}): "
                    + ", ".join(status_of(m) for m in found)
                )
        for vid, found in by_vid.items():
            for m in found:
                tags = tags_of(m)
                if CLEAN_ID.match(vid):
                    if not w.commit_exists(vid) or tags.get(TAG_COMMIT) != vid:
                        problems.append(f"WRONG ID {vid}: commit tag {tags.get(TAG_COMMIT)}")
                    elif tags.get(TAG_DIRTY) != "false":
                        problems.append(f"WRONG ID {vid}: a clean id tagged dirty")
                elif DIRTY_ID.match(vid):
                    if vid not in self.registered_dirty:
                        problems.append(f"WRONG ID {vid}: a dirty id nobody registered")
                    elif tags.get(TAG_COMMIT) != self.registered_dirty[vid]:
                        problems.append(f"WRONG ID {vid}: commit tag {tags.get(TAG_COMMIT)}")
                else:
                    problems.append(f"WRONG ID {vid!r}: not a version id")
            if vid not in owed and len(found) > 1:
                problems.append(f"DUPLICATE {vid}: {len(found)} models")
        for vid in self.registered_dirty:
            found = by_vid.get(vid, [])
            if len(found) != 1 or not is_ready(found[0]):
                problems.append(f"DIRTY VERSION LOST {vid}: {len(found)} models")

        if code == 0 and listed_commits:
            problems.append(f"STATUS exit 0 but it lists {sorted(listed_commits)}")
        if code != 0 and not listed_commits:
            problems.append(f"STATUS exit {code} but lists nothing")
        if code == 0 and any(p.startswith(("MISSING", "NOT EXACTLY")) for p in problems):
            problems.append("STATUS LIES: exit 0 while commits made here have no version")

        # The id of the final tree is what a fresh clone with the same files says.
        head = w.head()
        assert head is not None
        snap = w.snapshot()
        mine = json.loads(w.tool("id", "--json").stdout)
        theirs = json.loads(w.fresh_clone_id(snap, head))
        if mine["version_id"] != theirs["version_id"]:
            problems.append(
                f"ID DIFFERS FROM A FRESH CLONE: {mine['version_id']} {mine['changes']} here, "
                f"{theirs['version_id']} {theirs['changes']} there"
            )

        log = w.root / ".git" / "mlflow-gitver" / "hook.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        for bad in ("this is a bug", "Traceback"):
            if bad in text:
                problems.append(f"HOOK LOG SAYS {bad!r}")

        assert not problems, (
            "campaign invariants broken:\n"
            + "\n".join(problems)
            + f"\n\nflush: {flush.line()}\n{flush.stdout}\nstatus json: {json.dumps(listed)[:2000]}"
            + f"\nmodels:\n{summarize(models)}\n\n{w.report(200)}"
        )


# -- running it ----------------------------------------------------------------------


def install_plain(w: World) -> None:
    w.git("config", "core.hooksPath", str(HOOKS_DIR), check=True)


def _campaign_settings(examples: int, steps: int) -> settings:
    phases = [Phase.explicit, Phase.generate]
    if KNOBS.get("MLFLOW_GITVER_CAMPAIGN_SHRINK") == "1":
        phases.append(Phase.shrink)
    return settings(
        max_examples=_env_int("MLFLOW_GITVER_CAMPAIGN_EXAMPLES", examples),
        stateful_step_count=_env_int("MLFLOW_GITVER_CAMPAIGN_STEPS", steps),
        deadline=None,
        database=None,
        derandomize="MLFLOW_GITVER_CAMPAIGN_SEED" not in KNOBS,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )


def campaign_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        # The plain hooks run `mlflow-gitver` from PATH: this venv's.
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        MLFLOW_GITVER_RETRY_SECONDS="2",
        GIT_EDITOR="true",
        GIT_MERGE_AUTOEDIT="no",
    )
    return env


def run_campaign(
    families: frozenset[str],
    *,
    tmp: Path,
    server: MlflowServer,
    examples: int,
    steps: int = 24,
    hooks: str = "plain",
    install: Callable[[World], None] = install_plain,
) -> None:
    class Variant(Campaign):
        pass

    Variant.families = families
    Variant.setup = Setup(tmp, server, campaign_env(), hooks, install)
    Variant.__name__ = Campaign.__name__
    factory = Variant
    if "MLFLOW_GITVER_CAMPAIGN_SEED" in KNOBS:
        factory = hypothesis_seed(int(KNOBS["MLFLOW_GITVER_CAMPAIGN_SEED"]))(Variant)
    run_state_machine_as_test(factory, settings=_campaign_settings(examples, steps))


def test_campaign(tmp_path: Path, mlflow_server: MlflowServer, server_url: str) -> None:
    """The main campaign: every way git makes a commit, kills and outages."""
    run_campaign(CORE | MERGING, tmp=tmp_path, server=mlflow_server, examples=2, steps=16)


# -- minimal reproductions of what the campaign found on today's code -----------------


def _repro_world(tmp: Path, server: MlflowServer) -> World:
    w = World(tmp / "repro", server.url, campaign_env())
    w.build(install_plain)
    return w


def _assert_registered(w: World, sha: str) -> None:
    """After the background is idle and a flush: ``sha`` has its one READY version,
    and ``status`` does not claim otherwise."""
    w.settle()
    w.tool("flush")
    code, listed = w.status_json()
    found = [m for m in w.models() if tags_of(m).get(TAG_VERSION_ID) == sha]
    assert len(found) == 1 and is_ready(found[0]), (
        f"{sha[:12]}: {len(found)} models; status exit {code}, lists {listed}\n{w.report()}"
    )


def test_repro_merge_commit_gets_a_version(
    tmp_path: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    """git checkout -b side; commit; git checkout main; git merge --no-ff side."""
    w = _repro_world(tmp_path, mlflow_server)
    w.git("checkout", "-q", "-b", "side", check=True)
    w.git("commit", "-q", "--allow-empty", "-m", "side", check=True)
    w.git("checkout", "-q", "main", check=True)
    w.git("merge", "-q", "--no-ff", "--no-edit", "side", check=True)
    _assert_registered(w, w.out("rev-parse", "HEAD").strip())


def test_repro_pull_merge_commit_gets_a_version(
    tmp_path: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    """A colleague pushes; commit here; git pull --no-rebase makes a merge commit."""
    w = _repro_world(tmp_path, mlflow_server)
    env = w.colleague_env()
    w.git("commit", "-q", "--allow-empty", "-m", "theirs", cwd=w.colleague, env=env, check=True)
    w.git("push", "-q", "origin", "HEAD:main", cwd=w.colleague, env=env, check=True)
    w.git("commit", "-q", "--allow-empty", "-m", "ours", check=True)
    w.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main", check=True)
    _assert_registered(w, w.out("rev-parse", "HEAD").strip())


def test_repro_am_commit_gets_a_version(
    tmp_path: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    """git format-patch -1 --stdout side | git am (on main, which has moved on)."""
    w = _repro_world(tmp_path, mlflow_server)
    w.git("checkout", "-q", "-b", "side", check=True)
    (w.root / "b.txt").write_text("b\n")
    w.git("add", "b.txt", check=True)
    w.git("commit", "-q", "-m", "b", check=True)
    w.git("checkout", "-q", "main", check=True)
    # Else am could rebuild side's very commit (same parent, tree and second).
    w.git("commit", "-q", "--allow-empty", "-m", "main moves on", check=True)
    patch = w.out("format-patch", "-1", "--stdout", "side")
    w.run("git", "am", "-q", input=patch.encode(), check=True)
    _assert_registered(w, w.out("rev-parse", "HEAD").strip())


# -- the same campaign through the real pre-commit framework ------------------------


def pre_commit_installer(source: SourceRepo) -> Callable[[World], None]:
    """Install every hook of our manifest, for every stage it names."""
    import yaml

    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = [h["id"] for h in manifest]
    stages = sorted({s for h in manifest for s in h.get("stages", [])})

    def install(w: World) -> None:
        (w.root / ".pre-commit-config.yaml").write_text(
            "repos:\n"
            f"  - repo: {source.path}\n"
            f"    rev: {source.sha}\n"
            "    hooks:\n" + "".join(f"      - id: {i}\n" for i in ids)
        )
        types = [a for s in stages for a in ("-t", s)]
        w.run(PRE_COMMIT, "install", "--install-hooks", *types, check=True)

    return install


def test_campaign_through_pre_commit(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    server_url: str,
    source_repo: SourceRepo,
) -> None:
    """The main campaign with the hooks installed by the real pre-commit."""
    run_campaign(
        CORE | MERGING,
        tmp=tmp_path,
        server=mlflow_server,
        examples=2,
        steps=12,
        hooks="pre-commit",
        install=pre_commit_installer(source_repo),
    )


def test_repro_killed_post_commit_hook_loses_no_version(
    tmp_path: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    """git commit; SIGKILL the post-commit hook as soon as it runs."""
    w = _repro_world(tmp_path, mlflow_server)
    w.settle()
    proc = subprocess.Popen(
        ["git", "commit", "-q", "--allow-empty", "-m", "killed hook"],
        cwd=w.root,
        env=w.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed: list[int] = []
    while proc.poll() is None and not killed:
        killed = w.kill_ours(flush_only=False)
        time.sleep(0.002)
    proc.wait(timeout=120)
    if not killed:
        pytest.skip("the hook ended before it could be killed")
    _assert_registered(w, w.out("rev-parse", "HEAD").strip())


def _held_by_another(path: Path) -> bool:
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_repro_push_while_the_background_registers_the_tip(
    tmp_path: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    """commit; push while the background flush still holds the commit's record."""
    w = _repro_world(tmp_path, mlflow_server)
    w.settle()
    w.git("commit", "-q", "--allow-empty", "-m", "tip", check=True)
    tip = w.out("rev-parse", "HEAD").strip()
    pending = w.root / ".git" / "mlflow-gitver" / "pending"
    deadline = time.monotonic() + 120
    while not any(_held_by_another(p) for p in pending.glob("*.json")):
        if time.monotonic() > deadline or not w.our_processes():
            pytest.skip("the background flush finished before it could be observed")
        time.sleep(0.02)
    push = w.git("push", "origin", "main")
    assert push.returncode == 0, push.line()
    assert "being registered by another process" not in push.stderr, push.line()
    assert f"refs/heads/main {tip[:12]} is app-git-" in push.stdout, push.line()
