"""``compare --baseline auto``: the nearest ancestor on the base branch evaluated on the
candidate's dataset.

The base branch: ``--base-branch`` (``origin/NAME`` first, then the local branch, then
any revision), else the remote's default branch (``refs/remotes/origin/HEAD``, else
``origin/main`` or ``origin/master``), else, with no remote, the current branch.  The
walk starts at the merge-base of the candidate's commit and the base branch, or at
the candidate's first parent when the candidate is on the base branch itself (the
merge-base is then the candidate), and follows first parents: one ``git rev-list
--first-parent`` for at most ``depth`` commits.  Their versions are found in batches
of :data:`BATCH` commits, one model search each
(``tags.`mlflow.source.git.commit` IN (...)``, which MLflow 3.17's
``search_logged_models`` answers on a real server), the runs of a batch in one more
search; only clean, READY versions count, and the first commit whose version has an
evaluation on the candidate's dataset is the baseline: the same digest, then (one
trace search) the same inputs.  The digest alone cannot say it: MLflow 3.17.2 computes
it from the string and number columns only (mlflow/data/digest_utils.py), and an
evaluation's ``inputs`` and ``expectations`` are dicts, so only the row count and the
column names enter (measured: changing an input's value keeps the digest, adding a
row changes it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlflow_gitver import git
from mlflow_gitver.errors import EXIT_NO_BASELINE, EXIT_USAGE, GitverError
from mlflow_gitver.evaluations import Evaluation, Version, evaluations_of, version_of_model

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.mlflow_edge import Edge

BATCH = 50  # commits per model search


@dataclass(frozen=True)
class Pick:
    version: Version
    evaluation: Evaluation
    why: str  # one sentence: where the walk started and how far it went


class NoBaseline(GitverError):
    """No version to compare with: no baseline, or no evaluation (exit 4)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_NO_BASELINE)


def _run(repo: git.Repo, args: Sequence[str]) -> tuple[int, str]:
    done = git.git(args, cwd=repo.root, env=repo.env(), check=False)
    return done.returncode, done.stdout.decode("utf-8", "surrogateescape").strip()


def base_ref(repo: git.Repo, given: str | None) -> tuple[str, str]:
    """(full hash of the base branch's tip, the name it was found by)."""
    if given is not None:
        for ref in (f"refs/remotes/origin/{given}", f"refs/heads/{given}", given):
            full = git.resolve_commit(repo, ref)
            if full is not None:
                return full, ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")
        raise GitverError(
            f"--base-branch {given!r} names no branch here (not origin/{given}, not a local "
            "branch); fetch it (git fetch origin) or pass another",
            EXIT_USAGE,
        )
    _, out = _run(
        repo,
        [
            "for-each-ref",
            "--format=%(refname)%00%(symref)",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
            "refs/remotes/origin/master",
        ],
    )
    found = dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)
    for ref in (
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
    ):
        if ref in found:
            name = (found[ref] or ref).removeprefix("refs/remotes/")
            full = git.resolve_commit(repo, name)
            if full is not None:
                return full, name
    if git.remote_url(repo) is not None:
        raise GitverError(
            "cannot tell origin's default branch (no origin/HEAD, origin/main or "
            "origin/master here): pass --base-branch NAME, or fetch it (git fetch origin; "
            "git remote set-head origin --auto)",
            EXIT_USAGE,
        )
    branch = git.current_branch(repo)
    if branch is None:
        raise GitverError(
            "no remote and a detached HEAD: pass --base-branch NAME (the branch whose "
            "versions are baselines)",
            EXIT_USAGE,
        )
    full = git.resolve_commit(repo, f"refs/heads/{branch}")
    if full is None:
        raise GitverError(f"branch {branch} has no commit yet", EXIT_USAGE)
    return full, branch


def ancestors(
    repo: git.Repo, commit: str, base: str, base_name: str, depth: int
) -> tuple[list[str], str]:
    """The first-parent chain the walk visits, nearest first, and where it started."""
    code, merge_base = _run(repo, ["merge-base", commit, base])
    if code != 0 or not merge_base:
        raise NoBaseline(
            f"commit {commit[:12]} has no common ancestor with {base_name} in this clone "
            "(a shallow clone? fetch the history: git fetch --unshallow, or actions/checkout "
            "with fetch-depth: 0)"
        )
    on_base = merge_base == commit
    code, out = _run(
        repo, ["rev-list", "--first-parent", "-n", str(depth + on_base), merge_base, "--"]
    )
    chain = out.split()
    if on_base:
        return chain[1:], f"{commit[:12]} is on {base_name}: from its first parent"
    return chain, f"from the merge-base {merge_base[:12]} of {commit[:12]} and {base_name}"


def _search(edge: Edge, eids: list[str], commits: Sequence[str], app: str | None) -> list[Version]:
    from mlflow_gitver import mlflow_api, registry
    from mlflow_gitver.naming import GIT_COMMIT, GIT_DIRTY, TAG_APP

    quoted = ", ".join(f"'{c}'" for c in commits)  # hex: nothing to escape
    flt = f"tags.`{GIT_COMMIT}` IN ({quoted}) AND tags.`{GIT_DIRTY}` = 'false'"
    if app is not None:
        flt += f" AND tags.`{TAG_APP}` = '{app}'"  # the config refuses quotes in names
    models = mlflow_api.newest_models(edge, eids, flt, None)
    return [version_of_model(m) for m in models if registry.is_ready(m)]


def find(
    edge: Edge,
    chain: Sequence[str],
    started: str,
    digest: str,
    eids: list[str],
    app: str | None,
    exclude: str,
    same_rows: Callable[[Evaluation], bool],
) -> Pick:
    """The nearest commit of ``chain`` with a clean version evaluated on ``digest``
    whose rows ``same_rows`` accepts (the digest alone ignores the rows' values)."""
    unregistered = other_data = 0
    for i in range(0, len(chain), BATCH):
        batch = chain[i : i + BATCH]
        versions = [v for v in _search(edge, eids, batch, app) if v.model_id != exclude]
        evals = evaluations_of(edge, versions)
        by_commit: dict[str, list[Version]] = {}
        for v in versions:
            by_commit.setdefault(v.commit, []).append(v)
        for n, commit in enumerate(batch, start=i + 1):
            mine = by_commit.get(commit, [])
            if not mine:
                unregistered += 1
                continue
            same = [(e, v) for v in mine for e in evals[v.model_id] if e.digest == digest]
            same.sort(key=lambda p: (-p[0].started, p[0].run_id))
            found = next(((e, v) for e, v in same if same_rows(e)), None)
            if found is None:
                other_data += 1
                continue
            evaluation, version = found
            why = (
                f"the nearest first-parent ancestor ({started}) with a clean version "
                f"evaluated on the same dataset ({digest}, the same inputs): {n} commit(s) back"
                + _skipped(unregistered, other_data)
            )
            return Pick(version, evaluation, why)
    raise NoBaseline(
        f"no baseline: none of the {len(chain)} first-parent ancestor(s) visited ({started}) "
        f"has a clean, READY version evaluated on the candidate's dataset ({digest}, the "
        "same inputs)"
        + _skipped(unregistered, other_data)
        + "; evaluate the base branch's versions, or pass --baseline VERSION"
    )


def _skipped(unregistered: int, other_data: int) -> str:
    parts = []
    if unregistered:
        parts.append(f"{unregistered} with no clean version registered")
    if other_data:
        parts.append(f"{other_data} with no evaluation on this dataset")
    return f" (skipped {', '.join(parts)})" if parts else ""
