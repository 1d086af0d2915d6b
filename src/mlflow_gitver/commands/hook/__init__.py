"""``mlflow-gitver hook <stage>``: what the git hooks run, dispatched by stage.

post-commit, post-merge, post-rewrite and post-applypatch only record
(post_commit.py: it runs on every commit, and must not import what pre-push
needs); pre-push registers what is pushed (pre_push.py).  ``main`` builds the
post-commit :class:`Args` from argv itself, before argparse is even imported:
this package's ``__init__`` therefore imports nothing but ``record``.
"""

from __future__ import annotations

from mlflow_gitver.record import Record

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    import argparse
    from pathlib import Path


# The stages `init` installs through pre-commit and `doctor` looks for: pre-commit
# cannot install post-applypatch (the plain hooks/ directory has it).
PRE_COMMIT_STAGES = ("post-commit", "post-merge", "post-rewrite", "pre-push")


class Args(Record):
    """The typed arguments of one hook run (a Record, not a dataclass: see record.py)."""

    __slots__ = ("all_pushed", "hook_args", "repo", "stage", "sync")
    stage: str  # post-commit, post-merge, ..., pre-push
    repo: Path | None  # --repo; None: the current directory (and GIT_DIR)
    sync: bool  # recording stages: register in the foreground
    all_pushed: bool  # pre-push --all: every pushed commit, not only the tips
    hook_args: tuple[str, ...]  # what git passes the hook

    def __init__(
        self,
        stage: str,
        repo: Path | None = None,
        *,
        sync: bool = False,
        all_pushed: bool = False,
        hook_args: tuple[str, ...] = (),
    ) -> None:
        self._init(stage=stage, repo=repo, sync=sync, all_pushed=all_pushed, hook_args=hook_args)


def args_of(ns: argparse.Namespace) -> Args:
    return Args(
        ns.hook_type,
        ns.repo,
        sync=getattr(ns, "sync", False),
        all_pushed=getattr(ns, "all", False),
        hook_args=tuple(getattr(ns, "hook_args", ())),
    )


def run(args: Args) -> int:
    if args.stage == "pre-push":
        from mlflow_gitver.commands.hook import pre_push

        return pre_push.run(args)
    from mlflow_gitver.commands.hook import post_commit

    return post_commit.run(args)
