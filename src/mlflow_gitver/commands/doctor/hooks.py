"""doctor's checks of the git hooks installed (ours, or a hook manager's: managers.py), and
of the work they left pending or failed."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.commands.doctor import managers
from mlflow_gitver.commands.doctor.checks import ERROR, OK, WARNING, Check
from mlflow_gitver.commands.hook import PRE_COMMIT_STAGES


def _git_text(repo: git.Repo, *args: str) -> str | None:
    out = git.git(list(args), cwd=repo.root, env=repo.env(), check=False)
    text = out.stdout.decode("utf-8", "surrogateescape").strip()
    return text if out.returncode == 0 and text else None


def stages() -> list[str]:
    from mlflow_gitver.cli import hook_types

    return [s for s in PRE_COMMIT_STAGES if s in hook_types()]


def hooks(repo: git.Repo, checks: list[Check]) -> None:
    hooks_path = _git_text(repo, "config", "--get", "core.hooksPath")
    effective = _git_text(repo, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    hooks_dir = Path(effective) if effective else repo.common_dir / "hooks"
    default_dir = repo.common_dir / "hooks"
    if hooks_path is not None:
        # Ours in .git/hooks, but git runs another script (or none) for that stage.
        ours_ignored = [
            s
            for s in stages()
            if _hook(repo.root, default_dir, s)[0] and not _hook(repo.root, hooks_dir, s)[0]
        ]
        if ours_ignored and hooks_dir.resolve() != default_dir.resolve():
            # husky regenerates its directory: our lines go to .husky/<stage> instead.
            husky = (hooks_dir / "h").is_file() and "husky" in _read(hooks_dir / "h")
            put = (
                f"add our lines to husky's {hooks_dir.parent}/<stage> files (below)"
                if husky
                else f"put the hooks in {hooks_dir}"
            )
            checks.append(
                Check(
                    "hooks",
                    ERROR,
                    f"core.hooksPath is {hooks_path}, so git ignores "
                    f"{default_dir}, where our {', '.join(ours_ignored)} hook(s) are",
                    f"git config --unset core.hooksPath (then pre-commit install), or {put}",
                )
            )
    for stage in stages():
        checks.append(_hook(repo.root, hooks_dir, stage)[1])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _hook(root: Path, hooks_dir: Path, stage: str) -> tuple[bool, Check]:
    """Whether the script git runs for ``stage`` runs mlflow-gitver (ours, or through a
    hook manager), and the line that says so or what to fix."""
    name = f"{stage} hook"
    path = hooks_dir / stage
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        hook = managers.Hook(name, stage, path, "", root)
        lefthook = managers.lefthook_install(hook, os.environ)
        if lefthook is not None:
            return False, lefthook
        install = (
            f"{managers.installer(hooks_dir)} install -t {stage}, "
            f"or copy hooks/{stage} of mlflow-gitver to {path}"
        )
        return False, Check(name, WARNING, f"not installed ({path} does not exist)", install)
    except OSError as e:
        return False, Check(name, ERROR, f"{path}: {e.strerror}", f"check {path}")
    if not os.access(path, os.X_OK):
        return False, Check(
            name, ERROR, f"{path} is not executable: git skips it", f"chmod +x {path}"
        )
    if managers.runs_us(text, stage):
        import shutil

        if shutil.which("mlflow-gitver") is None:
            # Our plain hooks then try python3 -m mlflow_gitver, else skip quietly.
            return True, Check(
                name,
                WARNING,
                f"{path} runs mlflow-gitver, which is not on PATH here",
                "install mlflow-gitver where git runs, or put it on PATH",
            )
        return True, Check(name, OK, f"{path} runs mlflow-gitver")
    found = managers.managed(managers.Hook(name, stage, path, text, root))
    if found is not None:
        return found
    return False, Check(
        name,
        WARNING,
        f"{path} exists but does not run mlflow-gitver",
        f"call 'mlflow-gitver hook {stage}' from it",
    )


# --- pending work --------------------------------------------------------------------------


def pending_work(repo: git.Repo, checks: list[Check]) -> None:
    from mlflow_gitver.queue.store import Store

    store = Store(repo.common_dir)
    pending, failed = store.list_pending(), store.list_failed()
    if failed:
        last = failed[-1].state.last_error or "unknown error"
        checks.append(
            Check(
                "pending work",
                ERROR,
                f"{len(failed)} registration(s) failed for good (last: {last})",
                "fix the cause, then mlflow-gitver flush --retry-failed; "
                "'mlflow-gitver status' lists them",
            )
        )
    if pending:
        error = pending[-1].state.last_error
        why = f" (last error: {error})" if error else ""
        checks.append(
            Check(
                "pending work",
                WARNING,
                f"{len(pending)} registration(s) pending{why}",
                "mlflow-gitver flush",
            )
        )
    if not pending and not failed:
        checks.append(Check("pending work", OK, "every recorded version is registered"))
