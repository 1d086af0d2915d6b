"""``mlflow-gitver diff A B``: what differs between two versions.

A and B are what ``show`` takes (a model id, model name, commit or version id).
The params and tags that differ, then the code: ``git diff`` of the two commits
(in a clone that has both), and each dirty side's stored patch (its
uncommitted changes, as registered: credentials already redacted).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.context import open_repo_if_any
from mlflow_gitver.errors import EXIT_OK

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Args:
    a: str = ""
    b: str = ""
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    stat: bool = False
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def run(args: Args) -> int:
    from mlflow_gitver.commands.show import VersionFinder

    repo = open_repo_if_any(args.repo)
    finder = VersionFinder(repo, args.config, args.app, args.tracking_uri, args.experiment)
    sides = [finder.find(args.a), finder.find(args.b)]
    uri = finder.uri
    a, b = sides
    out = {
        "a": _side(a),
        "b": _side(b),
        "params": _differ(a["params"], b["params"]),
        "tags": _differ(a["tags"], b["tags"]),
        "code": _code(repo, a, b, uri, args.stat),
    }
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_lines(out)))
    return EXIT_OK


def _side(info: dict[str, Any]) -> dict[str, Any]:
    keys = ("model_id", "model_name", "version_id", "commit", "dirty", "branch")
    return {k: info[k] for k in keys}


def _differ(a: dict[str, str], b: dict[str, str]) -> dict[str, list[str | None]]:
    """Each key whose value differs: [A's, B's] (None: absent on that side)."""
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def _code(
    repo: git.Repo | None, a: dict[str, Any], b: dict[str, Any], uri: str, stat: bool
) -> dict[str, Any]:
    """The commits' diff (None, with why, when this clone cannot give it) and each
    dirty side's stored patch (or its ``--stat``)."""
    out: dict[str, Any] = {"commits": [a["commit"], b["commit"]], "diff": None, "why_not": None}
    if repo is None:
        out["why_not"] = "no git clone here: the commits cannot be compared"
    else:
        missing = [
            c for c in (a["commit"], b["commit"]) if not c or git.resolve_commit(repo, c) is None
        ]
        if missing:
            out["why_not"] = (
                f"commit {missing[0] or '(none)'} is not in this clone; fetch it "
                "(git fetch origin <commit>) and run diff again"
            )
        elif a["commit"] != b["commit"]:
            args = ["diff", "--stat" if stat else "--patch", a["commit"], b["commit"], "--"]
            done = git.git(args, cwd=repo.root, env=repo.env())
            out["diff"] = done.stdout.decode("utf-8", "replace")
        else:
            out["diff"] = ""
    for key, info in (("a_patch", a), ("b_patch", b)):
        out[key] = _stored_patch(info, uri, stat) if info["dirty"] else None
    return out


def _stored_patch(info: dict[str, Any], uri: str, stat: bool) -> str | None:
    """The uncommitted changes a dirty version stored (``git apply --stat`` of it
    with ``stat``); None when it stored none (``diff: none``)."""
    from mlflow_gitver import stored

    data = stored.read(info["model_id"], uri, manifest=False).patch
    if data is None:
        return None
    if stat:
        from mlflow_gitver.proc import git_env

        # `git apply --stat` reads the patch alone: no repository needed.
        done = git.git(
            ["apply", "--stat", "-"],
            cwd=Path(tempfile.gettempdir()),
            env=git_env(keep_repo_env=False),
            input=data,
        )
        data = done.stdout
    return data.decode("utf-8", "replace")


def _lines(out: dict[str, Any]) -> list[str]:
    a, b = out["a"], out["b"]
    lines = [f"A: {a['model_name']} ({a['model_id']}) {a['version_id']}"]
    lines.append(f"B: {b['model_name']} ({b['model_id']}) {b['version_id']}")
    for title in ("params", "tags"):
        changed = out[title]
        lines.append(f"{title}: " + ("no difference" if not changed else f"{len(changed)} differ"))
        for k, (old, new) in changed.items():
            lines.append(f"  {k}: {_shown(old)} -> {_shown(new)}")
    code = out["code"]
    if code["why_not"]:
        lines.append(f"code: {code['why_not']}")
    elif not code["diff"]:
        lines.append(
            "code: the same commit"
            if code["commits"][0] == code["commits"][1]
            else "code: no difference"
        )
    else:
        lines.append(f"code: git diff {code['commits'][0][:12]} {code['commits'][1][:12]}")
        lines.append(code["diff"].rstrip("\n"))
    for side, key in (("A", "a_patch"), ("B", "b_patch")):
        if code[key] is not None:
            lines.append(f"uncommitted changes of {side} (its stored patch):")
            lines.append(code[key].rstrip("\n"))
    return lines


def _shown(value: str | None) -> str:
    if value is None:
        return "(absent)"
    one_line = value.replace("\n", "\\n")
    return repr(one_line if len(one_line) <= 80 else one_line[:77] + "...")
