"""The one list of commands: each one's summary, examples and argparse builder.

A command named N runs ``mlflow_gitver.commands.N`` (``cli.dispatch``).  Adding a
command: a module in ``commands/`` with ``args_of`` and ``run``, and one entry here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlflow_gitver import cli_options as opt

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable

# --- one builder per command ----------------------------------------------------------
# Each adds the options its command reads, and nothing else: an option a command
# would ignore is refused by argparse, not silently dropped.


def _id(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format: text (the identifier alone, default) or json (the whole state)",
    )
    p.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )


def _check(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_config(p)
    p.add_argument("--commit", metavar="REV", help="check the config as it is in this commit")
    opt.add_app(p)
    opt.add_format(p, "text", "json")


def _register(p: argparse.ArgumentParser) -> None:
    opt.add_register_options(p)
    opt.add_format(p, "text", "json", "env")


def _exec(p: argparse.ArgumentParser) -> None:
    opt.add_register_options(p)
    p.add_argument(
        "cmd",
        nargs=argparse.REMAINDER,
        metavar="-- CMD [ARGS...]",
        help="the command to run, after '--'",
    )


def _resolve(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_target(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--commit", metavar="REV", help="a commit (a full hash needs no checkout; default: HEAD)"
    )
    g.add_argument(
        "--version-id",
        metavar="ID",
        help="a version identifier, as 'mlflow-gitver id' prints it (needs no checkout)",
    )
    p.add_argument(
        "--name",
        metavar="APP",
        help="the application's name, when there is no config to read it from",
    )
    opt.add_app(p)
    opt.add_format(p, "text", "json", "env")


def _diff(p: argparse.ArgumentParser) -> None:
    for name in ("a", "b"):
        p.add_argument(
            name,
            metavar=name.upper(),
            help="a model id (m-...), a model name, a commit, or a version id",
        )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    opt.add_target(p)
    p.add_argument("--stat", action="store_true", help="the changed files and line counts only")
    opt.add_format(p, "text", "json")


def _checkout(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "version",
        metavar="VERSION",
        help="a model id (m-...), a model name, a commit, or a version id",
    )
    p.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="a new or empty directory for the worktree (default: <repo>-<model name> "
        "next to the repository)",
    )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    opt.add_target(p)
    opt.add_format(p, "text", "json")


def _log(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    opt.add_target(p)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N versions (20)")
    p.add_argument("--branch", metavar="NAME", help="only versions registered from this branch")
    opt.add_format(p, "text", "json")


def _gc(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--older-than",
        required=True,
        metavar="DURATION",
        help="delete only versions created longer ago than this: 30d, 12h, 90m, 0s (units "
        "s, m, h, d, w)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted; delete nothing"
    )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    opt.add_target(p)
    opt.add_format(p, "text", "json")


def _verify(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model_id",
        nargs="?",
        metavar="MODEL_ID",
        help="the LoggedModel id (default: MLFLOW_ACTIVE_MODEL_ID)",
    )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    p.add_argument("--name", metavar="APP", help="the app it must belong to, without a config")
    opt.add_target(p)
    p.add_argument(
        "--commit",
        metavar="REV",
        help="the commit being deployed (default: the CI or platform variable that names it)",
    )
    opt.add_format(p, "text", "json")


def _hook(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="hook_type", metavar="HOOK", parser_class=opt.Parser)
    sub.required = True
    h = sub.add_parser(
        "post-commit",
        help="record the new commit; register it in the background",
        description="Record HEAD's registration and register it in the background; never "
        "fails a commit (exit 1 only when that commit's config is invalid).",
        epilog="example:\n  mlflow-gitver hook post-commit          # in .git/hooks/post-commit",
    )
    opt.add_repo(h)
    h.add_argument(
        "--sync", action="store_true", help="register in the foreground (MLFLOW_GITVER_SYNC=1)"
    )
    # git runs these, not post-commit, for the commits merge, rebase/amend and am
    # make; each records every commit HEAD's reflog shows since the last hook ran.
    for stage, made_by, args_help in (
        ("post-merge", "git merge and git pull", "git's squash flag (ignored)"),
        ("post-rewrite", "git rebase and git commit --amend", "'amend' or 'rebase' (ignored)"),
        ("post-applypatch", "git am", "none"),
    ):
        h = sub.add_parser(
            stage,
            help=f"record the commits {made_by} made; register them in the background",
            description=f"Record the registration of every commit {made_by} made (and any "
            "commit an earlier hook missed), and register them in the background; never "
            "fails git.",
            epilog=f'example:\n  mlflow-gitver hook {stage} "$@"         # in .git/hooks/{stage}',
        )
        opt.add_repo(h)
        h.add_argument(
            "--sync", action="store_true", help="register in the foreground (MLFLOW_GITVER_SYNC=1)"
        )
        h.add_argument("hook_args", nargs="*", metavar="ARG", help=f"what git passes: {args_help}")
    h = sub.add_parser(
        "pre-push",
        help="register pending versions and the pushed tips; block on an invalid config",
        description="Register what post-commit left pending, then each pushed ref's tip "
        "(refs read from stdin when git passes REMOTE and URL).",
        epilog='example:\n  mlflow-gitver hook pre-push "$@"         # in .git/hooks/pre-push',
    )
    opt.add_repo(h)
    h.add_argument(
        "--all",
        action="store_true",
        help="register every pushed commit the remote lacks, not only the tips",
    )
    h.add_argument("hook_args", nargs="*", metavar="REMOTE URL", help="what git passes to the hook")


def _flush(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="move failed registrations back to pending first (once their cause is fixed)",
    )
    # Internal: the descriptor of the flush lock a hook hands to the background flush.
    p.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)


def _status(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_format(p, "text", "json")
    p.add_argument(
        "--prune",
        action="store_true",
        help="delete the failed records (they can never register as committed)",
    )


def _init(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    p.add_argument(
        "--name", metavar="APP", help="the application's name (default: the repository's)"
    )


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "version",
        nargs="?",
        metavar="VERSION",
        help="a model id (m-...), a model name, a commit, or a version id "
        "(default: the working tree's version)",
    )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_target(p)
    p.add_argument(
        "--web", action="store_true", help="open the version's page in a web browser, if it has one"
    )
    opt.add_app(p)
    opt.add_format(p, "text", "json")


def _doctor(p: argparse.ArgumentParser) -> None:
    opt.add_repo(p)
    opt.add_config(p)
    p.add_argument("--tracking-uri", metavar="URI", help=opt.TRACKING_URI_HELP)
    opt.add_format(p, "text", "json")


def _compare(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--candidate",
        metavar="VERSION",
        help="the version judged: a model id (m-...), a model name, a commit, or a version "
        "id (default: HEAD's clean version)",
    )
    p.add_argument(
        "--baseline",
        default="auto",
        metavar="auto|VERSION",
        help="the version compared with; auto (default): the nearest first-parent ancestor "
        "on the base branch evaluated on the same dataset",
    )
    p.add_argument(
        "--base-branch",
        metavar="NAME",
        help="the branch --baseline auto looks on (default: the remote's default branch, "
        "else the current branch when there is no remote)",
    )
    p.add_argument(
        "--scorer",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="compare only these scorers (default: every numeric scorer both sides have)",
    )
    p.add_argument(
        "--max-drop",
        type=float,
        metavar="X",
        help="fail when a scorer's mean drops by more than X, even if not significantly "
        "(a significant drop always fails)",
    )
    p.add_argument(
        "--depth",
        type=int,
        default=100,
        metavar="N",
        help="--baseline auto looks at most N first-parent ancestors back (100)",
    )
    p.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="also write the Markdown summary to FILE (GitHub: the step summary; other CI: "
        "mlflow-gitver-compare.md by default)",
    )
    opt.add_repo(p)
    opt.add_config(p)
    opt.add_app(p)
    opt.add_target(p)
    opt.add_format(p, "text", "json")


# name -> (summary, builder, example epilog)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "id": (
        "print the version identifier of the working tree",
        _id,
        "  mlflow-gitver id\n  mlflow-gitver id --format json --repo path/to/repo",
    ),
    "check": (
        "validate the config; print what would be registered",
        _check,
        "  mlflow-gitver check\n  mlflow-gitver check --commit HEAD~1 --format json",
    ),
    "register": (
        "find or create the LoggedModel of this version",
        _register,
        "  mlflow-gitver register\n"
        "  mlflow-gitver register --tracking-uri http://127.0.0.1:5000 --format json\n"
        "  mlflow-gitver register --dry-run",
    ),
    "env": (
        "register; print 'export MLFLOW_ACTIVE_MODEL_ID=...' lines",
        opt.add_register_options,
        '  eval "$(mlflow-gitver env)" && python app.py',
    ),
    "exec": (
        "register, then run a command with MLFLOW_ACTIVE_MODEL_ID set",
        _exec,
        "  mlflow-gitver exec -- python app.py",
    ),
    "resolve": (
        "look a version up without creating it (exit 1: absent)",
        _resolve,
        '  mlflow-gitver resolve --commit "$GIT_SHA" --name my-app --tracking-uri '
        '"$MLFLOW_TRACKING_URI"',
    ),
    "show": (
        "print one version: params, tags, link (exit 1: absent)",
        _show,
        "  mlflow-gitver show\n  mlflow-gitver show HEAD~2 --format json\n"
        "  mlflow-gitver show m-0123456789abcdef --web",
    ),
    "diff": (
        "what differs between two versions: params, tags and code",
        _diff,
        "  mlflow-gitver diff HEAD~1 HEAD\n  mlflow-gitver diff m-0123456789abcdef HEAD --stat",
    ),
    "log": (
        "list this app's versions, newest first, with their traces and evaluations",
        _log,
        "  mlflow-gitver log\n  mlflow-gitver log --branch main --limit 5 --format json",
    ),
    "compare": (
        "the evaluation gate: compare a version's evaluation with its baseline's",
        _compare,
        "  mlflow-gitver compare\n"
        "  mlflow-gitver compare --candidate m-0123456789abcdef --baseline HEAD~3 --format json\n"
        "  mlflow-gitver compare --base-branch main --scorer exact --max-drop 0.05",
    ),
    "checkout": (
        "restore the exact code of a version into a new git worktree",
        _checkout,
        "  mlflow-gitver checkout m-0123456789abcdef\n"
        "  mlflow-gitver checkout HEAD~3 --dir ../repro",
    ),
    "verify": (
        "check that a model id is this app's READY version (of the commit deployed)",
        _verify,
        "  mlflow-gitver verify                       # MLFLOW_ACTIVE_MODEL_ID, in a deploy\n"
        '  mlflow-gitver verify m-0123456789abcdef --commit "$GIT_SHA"',
    ),
    "hook": (
        "run as a git hook (post-commit, post-merge, post-rewrite, post-applypatch, pre-push)",
        _hook,
        '  mlflow-gitver hook post-commit\n  mlflow-gitver hook post-merge "$@"\n'
        '  mlflow-gitver hook pre-push "$@"',
    ),
    "flush": (
        "register pending versions recorded by the hooks",
        _flush,
        "  mlflow-gitver flush\n  mlflow-gitver flush --retry-failed",
    ),
    "status": (
        "list pending and failed registrations",
        _status,
        "  mlflow-gitver status --format json\n  mlflow-gitver status --prune",
    ),
    "doctor": (
        "check the tracking URI, store, config, hooks and pending work",
        _doctor,
        "  mlflow-gitver doctor\n  mlflow-gitver doctor --format json",
    ),
    "init": (
        "write a commented .mlflow-gitver.yaml and .gitignore lines",
        _init,
        "  mlflow-gitver init --name my-app",
    ),
    "gc": (
        "delete old dirty versions that no trace, evaluation or deploy links to",
        _gc,
        "  mlflow-gitver gc --older-than 30d --dry-run\n  mlflow-gitver gc --older-than 12h",
    ),
}
