"""The Markdown description of a version: MLflow's ``mlflow.note.content`` tag.

The UI shows this tag as the description on a model's page, so a reviewer sees
what the version is without reading tags: the commit, its subject and author,
the branch, the CI run and pull request, the params and, for a dirty version,
the files that differ from the commit.

Pure: it reads a spec's tags (already capped, and redacted by the caller) and the
state's changes; it makes no git or MLflow call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlflow_gitver.config import MAX_TAG_LEN

TAG_NOTE = "mlflow.note.content"

# The CI tags (ci/common.py: mlflow_gitver.ci.<key>) the description links to.
_CI = "mlflow_gitver.ci."
# Enough for a reviewer; the full list is in the patch's manifest.
MAX_FILES = 50


def _code(text: str) -> str:
    """``text`` as inline code: a backtick in a file name or value must not end it."""
    text = text.replace("\n", " ").replace("\r", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str, limit: int = 200) -> str:
    """A table cell: short (a 6,000-character prompt param would use up the tag), and
    with '|' escaped (GitHub-flavoured tables split on it even inside code)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _code(text).replace("|", "\\|")


def _plain(text: str) -> str:
    """One line of prose: Markdown's own characters escaped, so a subject such as
    ``fix *all* [links](x)`` reads as written, not as markup."""
    out = text.replace("\r", " ").replace("\n", " ")
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def render(
    tags: Mapping[str, str],
    params: Mapping[str, str],
    changes: Sequence[tuple[str, str]] = (),
    omitted: Sequence[tuple[str, str]] = (),
) -> str:
    """The description of a version whose tags are ``tags``.

    ``changes``: (path, status) of a dirty version's changed files; ``omitted``:
    (path, reason) of the files its patch does not store.
    """
    from mlflow_gitver import naming as n

    commit = tags.get(n.GIT_COMMIT, "")
    dirty = tags.get(n.GIT_DIRTY) == "true"
    head = f"**Commit** {_code(commit[:12])}" + (" with uncommitted changes" if dirty else "")
    lines = [head]
    if subject := tags.get(n.TAG_SUBJECT):
        lines.append(f"\n> {_plain(subject)}")
    facts: list[str] = []
    if app := tags.get(n.TAG_APP):
        facts.append(f"- App: {_code(app)}")
    if scope := tags.get(n.TAG_SCOPE):
        facts.append(f"- Scope: {_code(scope)}")
    if author := tags.get(n.TAG_AUTHOR):
        facts.append(f"- Author: {_plain(author)}")
    if date := tags.get(n.TAG_DATE):
        facts.append(f"- Date: {_plain(date)}")
    branch = tags.get(n.GIT_BRANCH)
    facts.append(f"- Branch: {_code(branch)}" if branch else "- Branch: none (detached HEAD)")
    facts.append(f"- Version id: {_code(tags.get(n.TAG_VERSION_ID, ''))}")
    if run := tags.get(_CI + "run_url"):
        facts.append(f"- CI run: <{run}>")
    if pr := tags.get(_CI + "pr_url"):
        facts.append(f"- Pull request: <{pr}>")
    elif number := tags.get(_CI + "pr_number"):
        facts.append(f"- Pull request: #{_plain(number)}")
    lines.append("\n" + "\n".join(facts))
    if params:
        rows = ["| Param | Value |", "|---|---|"]
        rows += [f"| {_cell(k)} | {_cell(v)} |" for k, v in sorted(params.items())]
        lines.append("\n**Params**\n\n" + "\n".join(rows))
    if dirty and (changes or omitted):
        shown = [f"- {_code(p)} ({s})" for p, s in changes[:MAX_FILES]]
        if len(changes) > MAX_FILES:
            shown.append(f"- and {len(changes) - MAX_FILES} more")
        shown += [f"- {_code(p)}: not stored ({r})" for p, r in omitted[:MAX_FILES]]
        lines.append("\n**Uncommitted changes**\n\n" + "\n".join(shown))
    return cap("\n".join(lines) + "\n")


def cap(text: str) -> str:
    """``text`` within MLflow's tag limit, cut at a line so no Markdown is left open."""
    if len(text) <= MAX_TAG_LEN:
        return text
    tail = "\n\n(cut at MLflow's tag limit)\n"
    cut = text.rfind("\n", 0, MAX_TAG_LEN - len(tail))
    return text[: max(cut, 0)] + tail
