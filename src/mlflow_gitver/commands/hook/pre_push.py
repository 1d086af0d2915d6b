"""``mlflow-gitver hook pre-push``: register what is pushed before anyone can deploy it.

It registers what the hooks left pending, then each pushed tip and the pushed
merge commits the recording hooks may have missed; it blocks only for what
would fail in CI too (an invalid config at a pushed tip) or when the config
says the server is required.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from mlflow_gitver import git, tracking
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.queue import journal, registered
from mlflow_gitver.queue.flusher import (
    BUSY,
    HOOK_WAIT_SECONDS,
    PROG,
    REGISTERED,
    Flusher,
    Outcome,
    store_of,
)
from mlflow_gitver.queue.records import Entry, Record, State, new_record, record_environ
from mlflow_gitver.queue.scoped import NO_APP_CHANGED
from mlflow_gitver.queue.store import Store, fix_for
from mlflow_gitver.queue.validated import Checked, Facts, check_config
from mlflow_gitver.record import Record as _Value

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

    from mlflow_gitver.commands.hook import Args
    from mlflow_gitver.config import Config

PROGRESS_ABOVE = 10  # print progress when registering more commits than this


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


class Push(_Value):
    """One ref git is about to push (not a dataclass: see record.py)."""

    __slots__ = ("local_ref", "local_sha", "remote_ref", "remote_sha")
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str | None  # None: the remote does not have the ref (a new branch)

    def __init__(
        self, local_ref: str, local_sha: str, remote_ref: str, remote_sha: str | None
    ) -> None:
        self._init(
            local_ref=local_ref, local_sha=local_sha, remote_ref=remote_ref, remote_sha=remote_sha
        )


def _branch_of(ref: str) -> str | None:
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def _zero(sha: str) -> bool:
    return set(sha) == {"0"}


def parse_ref_lines(data: bytes) -> list[Push]:
    """git's pre-push stdin: ``<local ref> <local sha> <remote ref> <remote sha>`` lines.
    Deleted refs (local sha all zeros) are left out: there is nothing to register."""
    out = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=3)
        if len(parts) != 4:
            raise GitverError(f"pre-push: unexpected line from git on stdin: {line!r}")
        local_ref, local_sha, remote_ref, remote_sha = parts
        if _zero(local_sha):
            continue
        out.append(
            Push(local_ref, local_sha, remote_ref, None if _zero(remote_sha) else remote_sha)
        )
    return out


def pushes_from_pre_commit(repo: git.Repo, environ: Mapping[str, str]) -> list[Push] | None:
    """What pre-commit tells its pre-push hooks (pre_commit/commands/hook_impl.py):
    only the first ref with something to push, and no stdin.  PRE_COMMIT_TO_REF and
    _FROM_REF are unset when the pushed history includes a root commit; the local
    branch names the tip then.  Deleted refs are skipped by pre-commit itself, and a
    push with nothing to send runs no hook at all."""
    to_ref = environ.get("PRE_COMMIT_TO_REF")
    local = environ.get("PRE_COMMIT_LOCAL_BRANCH")
    if not to_ref and not local:
        return None
    tip = git.resolve_commit(repo, to_ref or local or "HEAD")
    if tip is None:
        raise GitverError(f"pre-push: {to_ref or local!r} names no commit in {repo.root}")
    return [
        Push(
            local_ref=local or to_ref or "HEAD",
            local_sha=tip,
            remote_ref=environ.get("PRE_COMMIT_REMOTE_BRANCH", ""),
            remote_sha=environ.get("PRE_COMMIT_FROM_REF") or None,
        )
    ]


def _rev_list(repo: git.Repo, args: Sequence[str]) -> list[str]:
    out = git.git(["rev-list", "--reverse", *args], cwd=repo.root, env=repo.env())
    return out.stdout.decode().split()


def pushed_commits(
    repo: git.Repo, push: Push, remote: str | None, only: Sequence[str] = ()
) -> list[str]:
    """Every commit the push sends that the remote does not have, oldest first.
    ``only``: rev-list options that narrow the list (``--merges``, ``--since=``)."""
    if push.remote_sha is not None and git.resolve_commit(repo, push.remote_sha):
        return _rev_list(repo, [*only, f"{push.remote_sha}..{push.local_sha}"])
    if remote:
        return _rev_list(repo, [*only, push.local_sha, "--not", f"--remotes={remote}"])
    return _rev_list(repo, [*only, push.local_sha])


def _merges_since(repo: git.Repo, store: Store) -> list[str] | None:
    """rev-list options for the pushed merge commits made since the hooks first
    ran here: post-commit never sees a merge that ``git merge`` made, and
    post-merge may not be installed.  Cheap: the walk stops at older commits.
    None before the hooks ever ran (nothing to bound the walk by)."""
    cursor = journal.read_cursor(journal.store_cursor(store, repo))
    if cursor is None:
        return None
    return ["--merges", f"--since={int(cursor.since) - 1}"]


class _Target(_Value):
    __slots__ = ("cfg", "commit", "facts", "push", "source", "tip")
    push: Push
    commit: str
    tip: bool
    facts: Facts  # what the hook needs of the commit's config
    cfg: Config | None  # parsed (None: known valid from the cache, not parsed again)
    source: str  # where the config was read from, for messages

    def __init__(
        self, push: Push, commit: str, tip: bool, facts: Facts, cfg: Config | None, source: str
    ) -> None:
        self._init(push=push, commit=commit, tip=tip, facts=facts, cfg=cfg, source=source)


def _peeled(repo: git.Repo, pushes: Sequence[Push]) -> list[Push]:
    """``pushes`` with each tag pushed as the commit it names (git passes an annotated
    tag's own object); a tag of no commit (of a tree, a blob) is left out."""
    out = []
    for push in pushes:
        if push.local_ref.startswith("refs/heads/") or push.local_ref == "HEAD":
            out.append(push)
            continue
        commit = git.resolve_commit(repo, push.local_sha)
        if commit is None:
            _say(f"warning: {push.local_ref} names no commit; nothing to register for it")
            continue
        out.append(push.replace(local_sha=commit))
    return out


def _target(push: Push, record: Record, tip: bool, checked: Checked) -> _Target:
    assert checked.facts is not None
    source = f"{record.commit[:12]}:{record.config_path}"
    return _Target(push, record.commit, tip, checked.facts, checked.config, source)


def run(args: Args) -> int:
    repo = open_repo(args.repo)
    environ = os.environ
    remote: str | None = None
    if args.hook_args:  # a plain git hook: <remote name> <remote url>, refs on stdin
        remote = args.hook_args[0]
        pushes = parse_ref_lines(sys.stdin.buffer.read())
    else:
        remote = environ.get("PRE_COMMIT_REMOTE_NAME")
        found = pushes_from_pre_commit(repo, environ)
        if found is None:  # run by hand: register HEAD
            head = git.resolve_commit(repo, "HEAD")
            if head is None:
                raise GitverError(f"pre-push: HEAD names no commit in {repo.root}")
            found = [Push("HEAD", head, "", None)]
        pushes = found
    store = store_of(repo)
    merges = _merges_since(repo, store)

    # 1. Configs first: an invalid one at a pushed tip blocks before any network.
    targets: list[_Target] = []
    records: dict[str, Record] = {}
    errors: list[str] = []
    for push in _peeled(repo, pushes):
        branch = _branch_of(push.local_ref)
        record = new_record(repo, push.local_sha, "pre-push", environ, branch)
        checked = check_config(store, record, environ)
        if checked.facts is None:
            errors.append(f"{push.local_ref} ({push.local_sha[:12]}): {checked.error}")
            continue
        records[push.local_sha] = record
        commits = [push.local_sha]
        if args.all_pushed or checked.facts.pre_push_all:
            commits = pushed_commits(repo, push, remote) or commits
        elif merges is not None:
            merged = pushed_commits(repo, push, remote, merges)
            commits = [*(c for c in merged if c != push.local_sha), push.local_sha]
        for c in commits:
            if c != push.local_sha:
                rec = new_record(repo, c, "pre-push", environ, branch)
                c_checked = check_config(store, rec, environ)
                if c_checked.facts is None:
                    # Not a tip: CI builds tips, so this one is reported, not blocking.
                    store.add_failed(rec, str(c_checked.error))
                    _say(f"warning: {c[:12]} is not registered: {c_checked.error}")
                    continue
                records[c] = rec
                targets.append(_target(push, rec, False, c_checked))
        targets.append(_target(push, record, True, checked))
    if errors:
        for line in errors:
            _say(f"error: {line}")
        _say(
            "push blocked: fix the config, commit, and push again "
            "(CI would fail on this commit too); 'git push --no-verify' skips this check"
        )
        return EXIT_FAILURE

    # 2. What this clone registered already for the same target (queue/registered.py)
    # needs no MLflow import and no server call.
    flusher = Flusher(repo, store, wait=HOOK_WAIT_SECONDS)
    known: dict[str, Outcome] = {}
    for t in targets:
        rec = records[t.commit]
        env = record_environ(rec, environ)
        uri = tracking.choose(None, env, t.facts.tracking_uri, repo.root).uri
        said = registered.recall(store, flusher.journal_key(rec, t.facts, env), uri)
        if said is not None:
            known[t.commit] = Outcome(
                Entry(store.pending / rec.key, rec, State()), REGISTERED, said
            )
    todo = [t for t in targets if t.commit not in known]

    # 3. What the hooks missed, then what is left to do.
    try:
        journal.catch_up(store, repo, environ, source="pre-push", branch=git.current_branch(repo))
        earlier = store.list_pending()
    except OSError as e:
        if todo:
            return _not_recorded(e, store, targets)
        # Every pushed version is registered: only what the hooks missed is not noted.
        _say(
            f"warning: cannot write {e.filename or store.root}: {e.strerror}; "
            f"{fix_for(e, store.root)}, then run '{PROG} flush' (the pushed versions exist)"
        )
        return _report(targets, known)
    if not todo and not earlier:
        return _report(targets, known)

    # 4. The rest, each under its lock.
    try:
        seen: set[str] = set()
        entries = []
        # The configs step 1 parsed, for the flusher: each is parsed once per run.
        configs: dict[Path, Config] = {}
        for t in todo:
            if t.commit not in seen:
                seen.add(t.commit)
                entries.append(store.add_entry(records[t.commit]))
                if t.cfg is not None:
                    configs[entries[-1].path] = t.cfg
    except OSError as e:
        return _not_recorded(e, store, targets)
    total = len(entries)

    def progress(done: int, n: int) -> None:
        if n > PROGRESS_ABOVE and (done % PROGRESS_ABOVE == 0 or done == n):
            _say(f"registered {done}/{n} pushed commits")

    _say(_plan_line(total, len({t.commit for t in targets}), len(earlier)))
    flusher.flush([e for e in earlier if e.path not in {x.path for x in entries}])
    flusher.progress = progress
    outcomes = {**known, **{o.commit: o for o in flusher.flush(entries, configs)}}
    return _report(targets, outcomes)


def _plan_line(todo: int, pushed: int, earlier: int) -> str:
    """The one line a push that has work to do shows before doing it."""
    parts = []
    if todo == pushed:
        parts.append(f"registering {todo} pushed commit{'s' * (todo != 1)}")
    elif todo:
        parts.append(f"registering {todo} of {pushed} pushed commits ({pushed - todo} journaled)")
    if earlier:
        parts.append(f"{'and ' if todo else 'registering '}{earlier} left pending earlier")
    return " ".join(parts)


def _not_recorded(e: OSError, store: Store, targets: Sequence[_Target]) -> int:
    """Nothing can be recorded: say so; block only where the config asks for it."""
    required = any(t.facts.pre_push_required for t in targets)
    _say(
        f"{'error' if required else 'warning'}: "
        f"pushed versions NOT recorded: cannot write {e.filename or store.root}: "
        f"{e.strerror}; {fix_for(e, store.root)}, then run '{PROG} flush'"
    )
    return EXIT_FAILURE if required else EXIT_OK


def _report(targets: Sequence[_Target], outcomes: Mapping[str, Outcome]) -> int:
    missing = [t for t in targets if outcomes[t.commit].status != REGISTERED]
    for t in targets:
        o = outcomes[t.commit]
        if t.tip and o.status == REGISTERED:
            # A scoped commit that changed no app has no version of its own to name.
            verb = ":" if o.message.startswith(NO_APP_CHANGED) else " is"
            print(f"{PROG}: {t.push.local_ref} {t.commit[:12]}{verb} {o.message}")
        elif o.status == BUSY:
            # Still held after the wait: its holder will register it, or leave it pending.
            _say(f"warning: {t.commit[:12]} is being registered by another process")
    blocking = [
        t for t in missing if t.facts.pre_push_required and outcomes[t.commit].status != BUSY
    ]
    if blocking:
        o = outcomes[blocking[0].commit]
        _say(
            f"error: push blocked: {len(blocking)} pushed version(s) not registered ({o.message}); "
            f"hooks.pre_push.required is true in {blocking[0].source}; start the server or "
            "fix the cause, or bypass once with 'git push --no-verify'"
        )
        return EXIT_FAILURE
    failed = [t for t in missing if outcomes[t.commit].status not in (BUSY,)]
    if failed:
        o = outcomes[failed[0].commit]
        _say(
            f"warning: {len(failed)} pushed version(s) kept pending ({o.message}); "
            f"the push goes on; '{PROG} flush' registers them later"
        )
    return EXIT_OK
