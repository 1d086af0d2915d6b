"""The World: the campaign's clones, remote and server handle, built and put together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from testing.campaign.names import COLLEAGUE, GITIGNORE
from testing.campaign.observe import Observer
from testing.campaign.processes import Processes
from testing.campaign.sequencer import Sequencer
from testing.campaign.tree import Tree


@dataclass
class World(Tree, Sequencer, Processes, Observer):
    """A working clone, a bare remote and a colleague's clone in ``base``."""

    # -- building -------------------------------------------------------------

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
