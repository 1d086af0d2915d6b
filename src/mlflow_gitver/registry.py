"""The MLflow edge: find or create a version's LoggedModel exactly once.

MLflow has no unique constraint on LoggedModel names, so "exactly once" is a
protocol every caller follows (measured: ``set_active_model(name=...)`` run by 8
processes at once created 3 models):

1. Look for models with the version's name.  Models with that name but another
   ``mlflow_gitver.version_id`` tag belong to another version (a short-hash
   collision, or a model made by hand): lengthen the name and look again.
2. None of ours: create one (PENDING, with its params and tags in the same call,
   which SQL stores write in one transaction), wait a settle delay so that
   concurrent creators' models are visible, and read all of ours again.
3. Keep one winner, the same for every caller: a READY model first, then the
   oldest by ``creation_timestamp``, then by ``model_id``.  Delete the others
   (a loser deletes its own copy; a later caller deletes duplicates a killed
   loser left behind).
4. If the winner is not READY (its creator was killed, or is still busy),
   complete it: missing tags, the patch artifact, READY.  Every step is
   idempotent, so completing it twice is harmless.  Params are never logged
   after creation: SQL stores refuse a second write of a key, even the same value.
   A READY winner only gets the tags it lacks (say, the repository URL after a
   `git remote add`); a tag that exists is never rewritten.

A 404 that is not MLflow's RESOURCE_DOES_NOT_EXIST means nothing serves MLflow's
API at that URI (a path after the host, an old server): bad input, never retried.
"""

from __future__ import annotations

import functools
import os
import random
import re
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError
from mlflow_gitver.naming import TAG_VERSION_ID, VersionSpec
from mlflow_gitver.redact import scrub

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel

T = TypeVar("T")

RETRY_SECONDS_VAR = "MLFLOW_GITVER_RETRY_SECONDS"
SETTLE_SECONDS_VAR = "MLFLOW_GITVER_SETTLE_SECONDS"
# Test hook for the "interrupted registration" test: the process kills itself
# (SIGKILL, no clean-up) right after creating the model.  Checked in one place.
FAULT_VAR = "MLFLOW_GITVER_FAULT"
DEFAULT_RETRY_SECONDS = 10.0
# A server that refuses connections is down, not busy: give up sooner, so a git
# hook with no server to talk to does not hold the terminal.
REFUSED_RETRY_SECONDS = 2.0
DEFAULT_SETTLE_SECONDS = 0.5
MAX_SETTLE_SECONDS = 10.0
MAX_SEARCH = 100


class ServerUnavailable(GitverError):
    """The tracking server could not be reached or kept failing (connection, 5xx,
    timeouts) for the whole retry budget.  Worth retrying later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


class AuthFailed(GitverError):
    """The server refused our credentials (401/403).  Not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


class Conflict(GitverError):
    """The version is registered already, with different params."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError as e:
        raise GitverError(f"{name}={raw!r} is not a number of seconds; fix or unset it") from e


# MLflow's text for a non-JSON error answer names the endpoint it asked for.
_ENDPOINT = re.compile(r"API request to endpoint (\S+) failed with error code (\d+)")


def _kind(exc: BaseException) -> tuple[str, str]:
    """("auth" | "wrong-uri" | "transient" | "refused" | "other", short reason) of an
    MLflow failure; for "wrong-uri" the reason is the endpoint path asked for."""
    msg = str(exc)
    low = msg.lower()
    status = 0
    getter = getattr(exc, "get_http_status_code", None)
    if callable(getter):
        try:
            status = int(getter())
        except (TypeError, ValueError):
            status = 0
    if status in (401, 403):
        return "auth", f"HTTP {status}"
    m = _ENDPOINT.search(msg)
    code = getattr(exc, "error_code", None)
    # A 404 that is not MLflow's RESOURCE_DOES_NOT_EXIST: nothing serves MLflow's API
    # at that path (measured: a wrong path answers HTML, MLflow calls it ENDPOINT_NOT_FOUND).
    if code == "ENDPOINT_NOT_FOUND" or (m is not None and m.group(2) == "404"):
        return "wrong-uri", m.group(1) if m else ""
    if "connection refused" in low or "failed to establish a new connection" in low:
        return "refused", "connection refused"
    if "api request to" in low and "failed with" in low:
        # requests/urllib3 failures.  MLflow's own retries are off (tracking.mlflow_env),
        # so a 429 or 5xx answer also surfaces here, as "too many 503 error responses".
        if "timeout" in low or "timed out" in low:
            return "transient", "timed out"
        if "too many" in low and "error responses" in low:
            return "transient", "server error"
        return "transient", "connection failed"
    if "database is locked" in low or type(exc).__name__ == "OperationalError":
        return "transient", "database busy"  # a SQLite store another process is writing
    return "other", msg


class Edge:
    """An MlflowClient with our retry policy and a redacted URI for messages."""

    def __init__(self, client: MlflowClient, display_uri: str) -> None:
        self.client = client
        self.display_uri = display_uri
        self.budget = _float_env(RETRY_SECONDS_VAR, DEFAULT_RETRY_SECONDS)
        self.settle = _float_env(SETTLE_SECONDS_VAR, DEFAULT_SETTLE_SECONDS)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried with backoff on transient failures.

        Raises AuthFailed at once on 401/403, ServerUnavailable when the budget is
        spent, and re-raises any other MLflow error for the caller to judge.
        """
        start = time.monotonic()
        delay = 0.1
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                kind, reason = _kind(e)
                if kind == "other":
                    raise
                if kind == "wrong-uri":
                    raise wrong_uri(self.display_uri, reason, what) from e
                if kind == "auth":
                    raise AuthFailed(
                        f"{self.display_uri} refused the request ({reason}) while {what}; "
                        "check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/"
                        "MLFLOW_TRACKING_PASSWORD (or your Databricks auth)"
                    ) from e
                budget = (
                    min(self.budget, REFUSED_RETRY_SECONDS) if kind == "refused" else (self.budget)
                )
                elapsed = time.monotonic() - start
                if elapsed + delay > budget:
                    raise ServerUnavailable(
                        f"cannot reach the MLflow tracking server at {self.display_uri} "
                        f"({reason}, {attempts} attempt{'s' if attempts > 1 else ''} in "
                        f"{elapsed:.1f}s) while {what}; check that it is running, or set "
                        f"--tracking-uri / MLFLOW_TRACKING_URI ({RETRY_SECONDS_VAR} sets "
                        "how long to retry)"
                    ) from e
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)


def wrong_uri(display_uri: str, endpoint: str, what: str) -> GitverError:
    """HTTP 404 from the server's API: the URI points at something that is not MLflow."""
    parts = urlsplit(display_uri)
    path = parts.path.rstrip("/") + endpoint if endpoint else (parts.path or "/")
    root = f"{parts.scheme}://{parts.netloc}"
    return GitverError(
        f"{display_uri} answered HTTP 404 for {path} while {what}: there is no MLflow API at "
        f"that path; the tracking URI must be the server's root (e.g. {root}), and the "
        "server MLflow 3 or later",
        EXIT_USAGE,
    )


def mlflow_error(exc: BaseException, what: str, display_uri: str) -> GitverError:
    """An MLflow error no retry helps with, as one line without credentials."""
    text = scrub(str(exc)).replace("\n", " ").strip()
    if len(text) > 300:
        text = text[:297] + "..."
    return GitverError(f"MLflow at {display_uri} failed while {what}: {text}", EXIT_FAILURE)


# --- the protocol ------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    model: LoggedModel
    spec: VersionSpec
    created: bool
    completed: bool = False  # an earlier, interrupted call's model was finished here


def is_ready(m: LoggedModel) -> bool:
    return str(m.status) == "READY" or getattr(m.status, "name", "") == "READY"


def pick(ours: Sequence[LoggedModel]) -> LoggedModel:
    """The winner among models of one version: READY first, then oldest, then id."""
    return min(ours, key=lambda m: (not is_ready(m), m.creation_timestamp or 0, m.model_id))


def search_name(edge: Edge, experiment_id: str, name: str) -> list[LoggedModel]:
    # Names never hold quotes: naming.sanitize and the config refuse them.
    flt = f"name = '{name}'"
    return list(
        edge.call(
            f"searching models named {name}",
            edge.client.search_logged_models,
            experiment_ids=[experiment_id],
            filter_string=flt,
            max_results=MAX_SEARCH,
        )
    )


def search_version(edge: Edge, experiment_ids: list[str] | None, version_id: str) -> list[Any]:
    """Models tagged with ``version_id`` (any name), in the given experiments."""
    flt = f"tags.`{TAG_VERSION_ID}` = '{version_id}'"
    return list(
        edge.call(
            f"searching version {version_id}",
            edge.client.search_logged_models,
            experiment_ids=experiment_ids or [],
            filter_string=flt,
            max_results=MAX_SEARCH,
        )
    )


def _ours(models: list[LoggedModel], version_id: str) -> list[LoggedModel]:
    return [m for m in models if (m.tags or {}).get(TAG_VERSION_ID) == version_id]


def _delete(edge: Edge, model_id: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        edge.call(f"deleting duplicate {model_id}", edge.client.delete_logged_model, model_id)
    except MlflowException as e:
        if e.error_code != "RESOURCE_DOES_NOT_EXIST":  # someone else repaired it first
            raise


def _inject_fault(point: str) -> None:
    if os.environ.get(FAULT_VAR) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def conflict_message(model: LoggedModel, spec: VersionSpec) -> str:
    return params_conflict(model, spec.version_id, spec.params)


def params_conflict(model: Any, version_id: str, params: Mapping[str, str]) -> str:
    """One line naming each param that differs between ``model`` and ``params``."""
    have = dict(model.params or {})
    keys = sorted(set(have) | set(params))
    diffs = []
    for k in keys:
        old, new = have.get(k), params.get(k)
        if old != new:
            shown_old = "(absent)" if old is None else repr(old)
            shown_new = "(absent)" if new is None else repr(new)
            diffs.append(f"{k}: registered {shown_old}, now {shown_new}")
    return (
        f"version {version_id} is registered as {model.name} ({model.model_id}) with "
        f"different params: {'; '.join(diffs)}; versions are immutable: restore the old "
        "values, or put {params_digest} in name_template so each set of params gets its "
        "own model"
    )


Completer = Callable[[Edge, "LoggedModel", VersionSpec], None]


def find_or_create(
    edge: Edge,
    experiment_id: str,
    spec_for: Callable[[int], VersionSpec],
    complete: Completer,
    commit_len: int,
    full_spec: Callable[[int], VersionSpec] | None = None,
) -> Found:
    """The one LoggedModel of a version, created if needed (see the module doc).

    ``spec_for(sha_len)`` is the cheap spec (the name, params and base tags);
    ``full_spec(sha_len)`` adds what costs git calls (commit facts, the diff tag)
    and is only called when a model is created or completed.
    """
    previous: str | None = None
    for sha_len in range(8, commit_len + 1, 4):
        spec = spec_for(sha_len)
        if spec.name == previous:
            break  # the template has no short hash to lengthen
        previous = spec.name
        found = search_name(edge, experiment_id, spec.name)
        ours = _ours(found, spec.version_id)
        if found and not ours:
            continue  # another version holds this name: lengthen it
        full = functools.partial(full_spec or spec_for, sha_len)
        return _converge(edge, experiment_id, spec, ours, complete, full)
    raise GitverError(
        f"model name {previous} is taken by another version in experiment {experiment_id} "
        "and cannot be lengthened; use {short_sha} or {sha} in name_template, or rename "
        "the other model",
        EXIT_FAILURE,
    )


def _create(edge: Edge, experiment_id: str, spec: VersionSpec) -> LoggedModel:
    return edge.call(
        f"creating model {spec.name}",
        edge.client.create_logged_model,
        experiment_id=experiment_id,
        name=spec.name,
        params=spec.params or None,
        tags=spec.tags,
        model_type=spec.model_type,
    )


def _converge(
    edge: Edge,
    experiment_id: str,
    spec: VersionSpec,
    ours: list[LoggedModel],
    complete: Completer,
    enrich: Callable[[], VersionSpec],
) -> Found:
    created_id: str | None = None
    for _round in range(3):
        if not ours:
            t0 = time.monotonic()
            mine = _create(edge, experiment_id, enrich())
            _inject_fault("after-create")
            created_id = mine.model_id
            # Creators slowed by a busy store are the ones whose older model may
            # not be visible yet: wait longer when creating took longer.
            took = time.monotonic() - t0
            time.sleep(min(max(edge.settle, 2 * took), MAX_SETTLE_SECONDS))
            ours = _ours(search_name(edge, experiment_id, spec.name), spec.version_id)
        elif not any(is_ready(m) for m in ours):
            # Only unfinished models: their creators may still be settling.
            time.sleep(edge.settle)
            ours = _ours(search_name(edge, experiment_id, spec.name), spec.version_id)
        if ours:
            break
        # Everything we saw was deleted under us: start over.
    else:
        raise GitverError(
            f"model {spec.name} keeps disappearing in experiment {experiment_id} at "
            f"{edge.display_uri}; is another tool deleting it?",
            EXIT_FAILURE,
        )
    winner = pick(ours)
    for m in ours:
        if m.model_id != winner.model_id:
            _delete(edge, m.model_id)
    if dict(winner.params or {}) != spec.params:
        raise Conflict(conflict_message(winner, spec))
    was_ready = is_ready(winner)
    if not was_ready:
        spec = enrich()
    complete(edge, winner, spec)
    created = winner.model_id == created_id
    return Found(winner, spec, created=created, completed=not was_ready and not created)


def ensure_tags(edge: Edge, model: LoggedModel, spec: VersionSpec) -> None:
    """Add the spec's tags the model lacks; values already there are kept."""
    have = model.tags or {}
    missing = {k: v for k, v in spec.tags.items() if k not in have}
    if missing:
        edge.call(
            f"tagging model {model.model_id}",
            edge.client.set_logged_model_tags,
            model.model_id,
            missing,
        )


def finalize(edge: Edge, model: LoggedModel) -> None:
    from mlflow.entities import LoggedModelStatus

    edge.call(
        f"finalizing model {model.model_id}",
        edge.client.finalize_logged_model,
        model.model_id,
        LoggedModelStatus.READY,
    )


def all_experiment_ids(edge: Edge) -> list[str]:
    """Every active experiment's id (for lookups with no experiment given)."""
    from mlflow.entities import ViewType

    ids: list[str] = []
    token: str | None = None
    while True:
        page = edge.call(
            "listing experiments",
            edge.client.search_experiments,
            view_type=ViewType.ACTIVE_ONLY,
            max_results=1000,
            page_token=token,
        )
        ids.extend(str(e.experiment_id) for e in page)
        token = page.token
        if not token:
            return ids
