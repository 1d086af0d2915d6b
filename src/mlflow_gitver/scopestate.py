"""An app's scoped state: the listing of HEAD under its paths and its ``git status``,
started together (possibly early, from scopehint.py) and read as one state."""

from __future__ import annotations

from mlflow_gitver import git, gitstatus
from mlflow_gitver import scope as scopes
from mlflow_gitver.errors import CommandError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.gitstate import GitState


class ScopeRun:
    """The git calls of one scoped state, running from construction on."""

    def __init__(self, repo: git.Repo, untracked: bool, scope: tuple[str, ...]) -> None:
        self.repo, self.untracked, self.scope = repo, untracked, scope
        # git status first: it takes longest.
        self._status = gitstatus.PendingStatus(
            str(repo.root), repo.keep_repo_env, untracked, repo.env(), scope
        )
        try:
            self._listing = scopes.start_listing(repo, "HEAD", scope)
        except BaseException:
            self._status.discard()
            raise

    def answers(self, untracked: bool, scope: tuple[str, ...]) -> bool:
        """Whether these calls are the ones (untracked, scope) needs."""
        return (self.untracked, self.scope) == (untracked, scope)

    def discard(self) -> None:
        """Reap the calls without reading them (their answer is not needed)."""
        try:
            self._status.discard()
        finally:
            self._listing.wait(check=False)

    def state(self) -> GitState:
        from mlflow_gitver.gitstate import from_snapshot

        try:
            snap = self._status.result(self.repo)
        finally:
            done = self._listing.wait(check=False)
        # An unborn HEAD is reported by the state, in its own words; any other
        # failure of the listing here.
        ok = done.returncode == 0
        listing = done.stdout if ok else b""
        state = from_snapshot(
            self.repo, snap, self.untracked, scope=self.scope, scope_listing=listing
        )
        if not ok:
            raise CommandError(self._listing.args, done.returncode, done.stderr)
        return state
