"""``mlflow-gitver check``: validate the config, show what a registration sends."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow_gitver import ci, git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.context import app_states, load_worktree_config, open_repo, unscoped
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import GitState
from mlflow_gitver.naming import TAG_PARAMS_DIGEST, VersionPlan, build_spec
from mlflow_gitver.patch import Patch, refusal

if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.diffscan import Redaction

_PENDING_NAME = (
    "decided at registration ({params_digest} covers the pin of a prompt version "
    "registration creates)"
)
# Stands for the commit in a name computed before there is one; no config
# value can hold it, so replacing it cannot touch what the user wrote.
_NO_SHA = "\x01" * 64


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    config: Path | None = None
    commit: str | None = None
    fmt: str = "text"  # text | json
    app: str | None = None


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns, fmt=ns.format)


def unborn_repo(repo_arg: Path | None) -> git.Repo | None:
    """The repository of ``repo_arg`` if it has no commit yet, else None."""
    try:
        repo = open_repo(repo_arg)
    except GitverError:
        return None
    return repo if git.resolve_commit(repo, "HEAD") is None else None


def item_lines(title: str, items: Mapping[str, str]) -> list[str]:
    """``title:`` and one ``  key = value`` line per item (long values cut, one line each)."""
    out = [f"{title}:" if items else f"{title}: (none)"]
    for k, v in sorted(items.items()):
        shown = v if len(v) <= 120 else v[:117] + "..."
        out.append(f"  {k} = {shown}".replace("\n", "\\n"))
    return out


def _before_first_commit(repo: git.Repo, config_arg: Path | None, fmt: str) -> int:
    """No commit yet: validate the config, say what the first commit becomes."""
    cfg = unscoped(load_worktree_config(repo, config_arg), "check before the first commit")
    state = GitState(repo, _NO_SHA[:40], git.current_branch(repo))
    spec = build_spec(cfg, state)
    # The first commit's hash is not known: show where it goes in the name.
    name = spec.name.replace(_NO_SHA[:40], "<commit>").replace(_NO_SHA[:8], "<short sha>")
    if fmt == "json":
        out = {
            "config": cfg.source,
            "commit": None,
            "model_name": name,
            "model_type": spec.model_type,
            "params": spec.params,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"config: {cfg.source}: valid")
    print(f"no commit yet in {repo.root}: the first commit will be registered as")
    print(f"model name: {name} (<short sha>: the commit's first 8 hex digits)")
    if spec.model_type:
        print(f"model type: {spec.model_type}")
    print("params:" if spec.params else "params: (none)")
    for k, v in sorted(spec.params.items()):
        print(f"  {k} = {v}")
    print("commit, then run 'mlflow-gitver register' (or let the hooks do it)")
    return 0


def run(args: Args) -> int:
    repo = open_repo(args.repo)
    if args.commit is None and git.resolve_commit(repo, "HEAD") is None:
        return _before_first_commit(repo, args.config, args.fmt)
    pairs = app_states(repo, args.commit, args.config, args.app)
    named = len(pairs) > 1 or args.app is not None or any(st.scope for st, _c in pairs)
    # The plan `register` sends (and `register --dry-run` prints): CI's branch and
    # tags as `register --ci auto` detects them.
    ctx = ci.detect(None, os.environ)
    items, refused = [], []
    for i, (state, cfg) in enumerate(pairs):
        branch = ctx.branch if state.branch is None else None
        pin_lines, pins_json, cfg, pending = _pins(repo, state, cfg)
        plan = VersionPlan(repo, state, cfg, branch, ctx.tags, refuse=False)
        spec = plan.full()
        # A pin not made yet (a file's new content) is not in the params: their
        # digest, and a name built from it, are decided at registration.
        tags = {k: v for k, v in spec.tags.items() if not (pending and k == TAG_PARAMS_DIGEST)}
        name: str | None = spec.name
        if pending and "{params_digest}" in (cfg.name_template or ""):
            name = None
        found = secrets_of(cfg.secrets, plan.patch) if state.dirty else None  # what it redacts
        refused.append(found)
        if args.fmt == "json":
            items.append(
                {
                    **({"app": cfg.name} if named else {}),
                    "config": cfg.source,
                    "model_name": name,
                    "version_id": spec.version_id,
                    "model_type": spec.model_type,
                    "params": spec.params,
                    "tags": tags,
                    **pins_json,
                    "secrets": None if found is None else found.as_json(),
                }
            )
            continue
        if i:
            print()
        print(f"config: {cfg.source}: valid" + (f" (app {cfg.name})" if named else ""))
        print(f"model name: {name or _PENDING_NAME}")
        print(f"version id: {spec.version_id}")
        if spec.model_type:
            print(f"model type: {spec.model_type}")
        for title, values in (("params", spec.params), ("tags", tags)):
            print("\n".join(item_lines(title, values)))
        for line in pin_lines:
            print(line)
        for line in found.lines() if found is not None else []:
            print(line)
    if args.fmt == "json":
        print(json.dumps(items[0] if len(items) == 1 else items, indent=2, ensure_ascii=False))
    for found in refused:
        _refused(found)
    return 0


def _pins(
    repo: git.Repo, state: GitState, cfg: Config
) -> tuple[list[str], dict[str, object], Config, bool]:
    """What ``check`` shows of the prompt pins (contacting the registry, creating
    nothing), the config with the pins as params, as registering would send, and
    whether a pin waits for registration (a file's new content, or unresolved)."""
    if not cfg.prompts:
        return [], {}, cfg, False
    from mlflow_gitver import pins

    found, why = pins.preview(repo, state, cfg)
    if found is None:
        names = ", ".join(r.name for r in cfg.prompts)
        return (
            [f"prompts: unresolved ({names}): {why}"],
            {"prompts": None, "prompts_unresolved": why},
            cfg,
            True,
        )
    lines = ["prompts (as they resolve now):"] + [f"  {p.describe()}" for p in found]
    pinned = {p.ref.name: p.version for p in found}
    pending = any(p.version is None for p in found)
    return lines, {"prompts": pinned}, pins.pinned(cfg, found), pending


def _refused(found: SecretsCheck | None) -> int:
    if found is not None and found.error is not None:
        raise found.error  # secrets: refuse: the registration would fail the same way
    return 0


@dataclass(frozen=True)
class SecretsCheck:
    """What ``check`` shows of the credentials in a dirty state's patch."""

    mode: str
    redactions: tuple[Redaction, ...]
    left_out: tuple[str, ...]  # binary files holding a credential

    @property
    def error(self) -> GitverError | None:
        """Under ``secrets: refuse``, the error registration would fail with."""
        if self.mode != "refuse" or not (self.redactions or self.left_out):
            return None
        if self.left_out:
            return refusal(f"{self.left_out[0]}: a binary file holding a credential")
        r = self.redactions[0]
        more = len(self.redactions) - 1
        return refusal(f"{r.path}:{r.line}: a {r.kind}" + (f" (and {more} more)" if more else ""))

    def lines(self) -> list[str]:
        if self.mode == "off":
            return ["secrets: off (the patch is stored verbatim, unscanned)"]
        verb = {"redact": "would redact", "refuse": "would refuse"}[self.mode]
        if not (self.redactions or self.left_out):
            return ["secrets: none found in the patch"]
        out = [f"secrets: {verb}:"]
        for r in self.redactions:
            out.append(f"  {r.path}:{r.line}: {r.kind}" + (" (in HEAD)" if r.side == "old" else ""))
        out += [f"  {p}: binary file holding a credential (left out)" for p in self.left_out]
        return out

    def as_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "redactions": [r.as_json() for r in self.redactions],
            "left_out": list(self.left_out),
        }


def secrets_of(mode: str, p: Patch | None) -> SecretsCheck | None:
    """What ``check`` shows of the credentials in ``p`` (built under ``redact``,
    or ``off``) for the config's ``mode``; None when nothing would be stored."""
    if mode == "off":
        return SecretsCheck("off", (), ())
    if p is None:
        return None
    left = tuple(o.path for o in p.omitted if o.reason == "secret-content")
    return SecretsCheck(mode, p.redactions, left)
