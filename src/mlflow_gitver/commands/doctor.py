"""``mlflow-gitver doctor``: is everything in place for versions to be registered?

One line per check: ``ok``, ``warning`` or ``error``, with the fix.  Checks the
config, the tracking URI (its scheme, then the server or the embedded store), the
experiment, the git hooks actually installed (``core.hooksPath`` included: it
makes git ignore ``.git/hooks``), and the work the hooks left pending or failed.
Exit 0 when every check is ok, 1 otherwise.  Reads only: creates no store, no
experiment, no file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import git
from mlflow_gitver.context import config_path, open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.redact import scrub

OK, WARNING, ERROR = "ok", "warning", "error"
# Schemes MLflow's tracking client takes (and ours: databricks needs its extra).
_SCHEMES = (
    "http",
    "https",
    "databricks",
    "databricks-uc",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
)
_HTTP_TIMEOUT = 5.0
HOOK_STAGES = ("post-commit", "post-merge", "post-rewrite", "pre-push")


@dataclass(frozen=True)
class Check:
    check: str
    level: str
    message: str
    fix: str | None = None

    def line(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.level:<8}{self.check}: {scrub(self.message)}{fix}"


def run(args: argparse.Namespace) -> int:
    repo = open_repo(args.repo)
    checks: list[Check] = []
    cfg = _config(repo, args.config, checks)
    from mlflow_gitver.tracking import experiment_choice, resolve_uri

    source = _uri_source(args.tracking_uri, cfg.tracking_uri if cfg else None)
    try:
        # resolve_uri refuses what can only fail (no scheme, a file store): the
        # same rule and message as every command that registers.
        uri: str | None = resolve_uri(
            args.tracking_uri, os.environ, cfg.tracking_uri if cfg else None, repo.root
        )
    except GitverError as e:
        checks.append(Check("tracking URI", ERROR, e.message))
        uri = None
    if uri is not None and _scheme_ok(uri, source, checks):
        edge = _store(uri, source, checks)
        if edge is not None:
            _experiment(
                edge, experiment_choice(None, os.environ, cfg.experiment if cfg else None), checks
            )
    _hooks(repo, checks)
    _pending(repo, checks)
    ok = all(c.level == OK for c in checks)
    if args.format == "json":
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for c in checks:
            print(c.line())
    return EXIT_OK if ok else EXIT_FAILURE


# --- config ---------------------------------------------------------------------------


def _config(repo: git.Repo, config_arg: Path | None, checks: list[Check]) -> Any:
    from mlflow_gitver.context import load_worktree_config

    path = config_path(repo, config_arg)
    try:
        cfg = load_worktree_config(repo, config_arg)
    except GitverError as e:
        fix = (
            "mlflow-gitver init"
            if not path.exists()
            else "edit the file (see 'mlflow-gitver check')"
        )
        checks.append(Check("config", ERROR, e.message, fix))
        return None
    checks.append(Check("config", OK, f"{cfg.source} is valid (name: {cfg.name})"))
    return cfg


# --- tracking URI and store -----------------------------------------------------------


def _uri_source(cli: str | None, config_uri: str | None) -> str:
    if cli:
        return "--tracking-uri"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    if config_uri:
        return "the config's tracking_uri"
    return "the default"


def _scheme_ok(uri: str, source: str, checks: list[Check]) -> bool:
    from mlflow_gitver.tracking import display

    shown = display(uri)
    scheme, sep, _rest = uri.partition(":")
    scheme = scheme.lower().split("+", 1)[0]  # postgresql+psycopg2 and the like
    if uri == "databricks" or (scheme in _SCHEMES and sep):
        return True
    checks.append(
        Check(
            "tracking URI",
            ERROR,
            f"{shown} (from {source}): unknown scheme {scheme!r}",
            "use http(s)://host:port, databricks, or sqlite:///path.db",
        )
    )
    return False


def _store(uri: str, source: str, checks: list[Check]) -> Any:
    """Check the store at ``uri``; an Edge to it when it answers, else None."""
    from mlflow_gitver.tracking import display

    shown = display(uri)
    if uri.startswith("sqlite:"):
        if not _sqlite(uri, shown, source, checks):
            return None
    elif uri.startswith(("http://", "https://")):
        if not _health(uri, shown, source, checks):
            return None
    return _client(uri, shown, source, checks)


def _sqlite(uri: str, shown: str, source: str, checks: list[Check]) -> bool:
    """The embedded store's file: writable and migrated.  False: do not open it."""
    raw = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not uri.startswith("sqlite:///") or raw in ("", ":memory:"):
        checks.append(
            Check(
                "store",
                WARNING,
                f"{shown} is not a file: versions do not persist",
                "use sqlite:///path/to/mlflow.db",
            )
        )
        return False
    path = Path(raw)  # sqlite:////abs/path or sqlite:///relative/path
    if not path.exists():
        parent = path.parent
        if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            checks.append(
                Check(
                    "store",
                    OK,
                    f"{shown} (from {source}) does not exist yet: the "
                    "first registration creates it",
                )
            )
        else:
            checks.append(
                Check(
                    "store",
                    ERROR,
                    f"{shown}: cannot create {path}: {parent} is not a writable directory",
                    "create the directory, or set another tracking URI",
                )
            )
        return False
    if not path.is_file():
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: {path} is not a file",
                "move it aside, or set another tracking URI",
            )
        )
        return False
    if not (os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: {path} (or its directory, for SQLite's journal) is not writable",
                f"chmod u+w {path} {path.parent}",
            )
        )
        return False
    have, head = _schema(path)
    if head is not None and have != head:
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: schema {have or 'none'} is not MLflow's current {head}",
                f"mlflow db upgrade {shown} (back it up first)",
            )
        )
        return False
    checks.append(Check("store", OK, f"{shown} (from {source}) is writable and migrated"))
    return True


def _schema(path: Path) -> tuple[str | None, str | None]:
    """(the file's alembic revision, MLflow's latest); None where unknown."""
    import sqlite3

    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        head: str | None = str(_get_latest_schema_revision())
    except Exception:  # a private helper of MLflow's: not knowing is fine
        head = None
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None, head
    return (str(row[0]) if row else None), head


def _tls_context(uri: str) -> Any:
    """The TLS settings MLflow's client would use (its MLFLOW_TRACKING_* variables)."""
    if not uri.startswith("https://"):
        return None
    import ssl

    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        return ssl._create_unverified_context()  # what the user asked MLflow for, too
    return ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"))


def _health(uri: str, shown: str, source: str, checks: list[Check]) -> bool:
    """GET /health of an MLflow server: it answers before any API call needs auth."""
    import urllib.error
    import urllib.request

    from mlflow_gitver.redact import redact_url

    base = redact_url(uri).rstrip("/")
    try:
        with urllib.request.urlopen(
            f"{base}/health", timeout=_HTTP_TIMEOUT, context=_tls_context(uri)
        ) as r:
            status = int(r.status)
    except urllib.error.HTTPError as e:
        status = int(e.code)
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        checks.append(
            Check(
                "tracking URI",
                ERROR,
                f"{shown} (from {source}): cannot connect ({reason})",
                "start the server, or fix the URI",
            )
        )
        return False
    if status == 404:
        checks.append(
            Check(
                "tracking URI",
                ERROR,
                f"{shown} (from {source}): HTTP 404 for /health: not the root of an MLflow server",
                "use the server's root URL, without a path such as /api",
            )
        )
        return False
    if status >= 500:
        checks.append(
            Check(
                "tracking URI", ERROR, f"{shown}: HTTP {status} for /health", "see the server's log"
            )
        )
        return False
    return True


@contextlib.contextmanager
def _short_retries() -> Iterator[None]:
    """A diagnosis should not wait out the full retry budget (unless the user set one)."""
    from mlflow_gitver.mlflow_failures import RETRY_SECONDS_VAR

    if RETRY_SECONDS_VAR in os.environ:
        yield
        return
    os.environ[RETRY_SECONDS_VAR] = "2"
    try:
        yield
    finally:
        os.environ.pop(RETRY_SECONDS_VAR, None)


def _client(uri: str, shown: str, source: str, checks: list[Check]) -> Any:
    from mlflow.exceptions import MlflowException

    from mlflow_gitver import mlflow_api, tracking
    from mlflow_gitver.mlflow_api import quiet as quiet_mlflow

    quiet_mlflow()
    try:
        with tracking.mlflow_env(uri), _short_retries():
            edge = mlflow_api.connect(uri)
            edge.call("listing experiments", edge.client.search_experiments, max_results=1)
    except GitverError as e:
        checks.append(Check("tracking URI", ERROR, e.message, "fix the URI or the server"))
        return None
    except MlflowException as e:
        text = scrub(str(e)).replace("\n", " ")[:200]
        checks.append(Check("tracking URI", ERROR, f"{shown}: {text}", "fix the URI or the server"))
        return None
    if not uri.startswith("sqlite:"):
        checks.append(Check("tracking URI", OK, f"{shown} (from {source}) answers"))
    return edge


def _experiment(edge: Any, choice: tuple[str, str] | None, checks: list[Check]) -> None:
    from mlflow.exceptions import MlflowException

    try:
        if choice is None or choice[0] == "id":
            eid = "0" if choice is None else choice[1]
            try:
                exp = edge.call(f"reading experiment {eid}", edge.client.get_experiment, eid)
            except MlflowException:
                exp = None
            if exp is None:
                checks.append(
                    Check(
                        "experiment",
                        ERROR,
                        f"experiment id {eid} does not exist at {edge.display_uri}",
                        "pass an existing id, or a name (created if missing)",
                    )
                )
                return
        else:
            exp = edge.call(
                f"reading experiment {choice[1]!r}", edge.client.get_experiment_by_name, choice[1]
            )
            if exp is None:
                checks.append(
                    Check(
                        "experiment",
                        OK,
                        f"{choice[1]!r} does not exist yet: the first registration creates it",
                    )
                )
                return
    except GitverError as e:
        checks.append(Check("experiment", ERROR, e.message))
        return
    if getattr(exp, "lifecycle_stage", "active") == "deleted":
        checks.append(
            Check(
                "experiment",
                ERROR,
                f"{exp.name} (id {exp.experiment_id}) is deleted",
                f"mlflow experiments restore --experiment-id {exp.experiment_id}, "
                "or choose another experiment",
            )
        )
        return
    checks.append(Check("experiment", OK, f"{exp.name} (id {exp.experiment_id})"))


# --- hooks -------------------------------------------------------------------------------


def _git_text(repo: git.Repo, *args: str) -> str | None:
    out = git.git(list(args), cwd=repo.root, env=repo.env(), check=False)
    text = out.stdout.decode("utf-8", "surrogateescape").strip()
    return text if out.returncode == 0 and text else None


def _stages() -> list[str]:
    from mlflow_gitver.cli import hook_types

    return [s for s in HOOK_STAGES if s in hook_types()]


def _hooks(repo: git.Repo, checks: list[Check]) -> None:
    hooks_path = _git_text(repo, "config", "--get", "core.hooksPath")
    effective = _git_text(repo, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    hooks_dir = Path(effective) if effective else repo.common_dir / "hooks"
    default_dir = repo.common_dir / "hooks"
    pc_config = repo.root / ".pre-commit-config.yaml"
    pc_text = pc_config.read_text(encoding="utf-8", errors="replace") if pc_config.is_file() else ""
    if hooks_path is not None:
        # Ours in .git/hooks, but git runs another script (or none) for that stage.
        ours_ignored = [
            s
            for s in _stages()
            if _runs_us(default_dir / s, s, pc_text) and not _runs_us(hooks_dir / s, s, pc_text)
        ]
        if ours_ignored and hooks_dir.resolve() != default_dir.resolve():
            checks.append(
                Check(
                    "hooks",
                    ERROR,
                    f"core.hooksPath is {hooks_path}, so git ignores "
                    f"{default_dir}, where our {', '.join(ours_ignored)} hook(s) are",
                    "git config --unset core.hooksPath (then pre-commit install), or "
                    f"put the hooks in {hooks_dir}",
                )
            )
    for stage in _stages():
        checks.append(_hook(hooks_dir, stage, pc_text))


def _runs_us(path: Path, stage: str, pc_text: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if f"mlflow-gitver hook {stage}" in text or f"mlflow_gitver hook {stage}" in text:
        return True
    return _is_pre_commit(text) and f"mlflow-gitver-{stage}" in pc_text


def _is_pre_commit(text: str) -> bool:
    return "File generated by pre-commit" in text


def _hook(hooks_dir: Path, stage: str, pc_text: str) -> Check:
    name = f"{stage} hook"
    path = hooks_dir / stage
    install = f"pre-commit install -t {stage}, or copy hooks/{stage} of mlflow-gitver to {path}"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Check(name, WARNING, f"not installed ({path} does not exist)", install)
    except OSError as e:
        return Check(name, ERROR, f"{path}: {e.strerror}", f"check {path}")
    if not os.access(path, os.X_OK):
        return Check(name, ERROR, f"{path} is not executable: git skips it", f"chmod +x {path}")
    if f"mlflow-gitver hook {stage}" in text or f"mlflow_gitver hook {stage}" in text:
        import shutil

        if shutil.which("mlflow-gitver") is None:
            # Our plain hooks then try python3 -m mlflow_gitver, else skip quietly.
            return Check(
                name,
                WARNING,
                f"{path} runs mlflow-gitver, which is not on PATH here",
                "install mlflow-gitver where git runs, or put it on PATH",
            )
        return Check(name, OK, f"{path} runs mlflow-gitver")
    if _is_pre_commit(text):
        if f"mlflow-gitver-{stage}" in pc_text:
            return Check(name, OK, f"{path} runs pre-commit, which runs mlflow-gitver-{stage}")
        return Check(
            name,
            WARNING,
            f"{path} runs pre-commit, but .pre-commit-config.yaml has "
            f"no mlflow-gitver-{stage} hook",
            "add it (see 'mlflow-gitver init')",
        )
    return Check(
        name,
        WARNING,
        f"{path} exists but does not run mlflow-gitver",
        f"call 'mlflow-gitver hook {stage}' from it",
    )


# --- pending work --------------------------------------------------------------------------


def _pending(repo: git.Repo, checks: list[Check]) -> None:
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
