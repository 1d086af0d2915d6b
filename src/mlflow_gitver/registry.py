"""The exactly-once protocol: find or create a version's LoggedModel, and complete it.

MLflow has no unique constraint on LoggedModel names, so "exactly once" is a
protocol every caller follows (measured: ``set_active_model(name=...)`` run by 8
processes at once created 3 models):

1. Look for models with the version's name.  Models with that name but another
   ``mlflow_gitver.version_id`` tag belong to another version (a short-hash
   collision, or a model made by hand): lengthen the name and look again.
   A scoped version (``paths:``) is looked up by its version-id tag instead:
   commits that share its content have other names (their own short hash)
   and must find the one model.
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
5. A dirty version's winner is read once more at the end: ``mlflow-gitver gc``
   may delete an old dirty version while we register it (between our search
   and our return).  A deleted model is gone for every call but one (measured,
   MLflow 3.17 SQL store: get answers RESOURCE_DOES_NOT_EXIST, search leaves it
   out, a tag write answers INVALID_PARAMETER_VALUE, an artifact upload
   RESOURCE_DOES_NOT_EXIST, and ``finalize_logged_model`` succeeds without
   bringing it back), so a winner found deleted at any step, or by that last
   read, starts the protocol again, which creates a new model.  Clean versions
   skip the read: gc never deletes them, and a hook's repeat registration stays
   at two calls.  A delete after that last read happens after we finished.

Every MLflow call goes through mlflow_api.py; what a version is called and tagged
comes from its :class:`~mlflow_gitver.naming.VersionPlan`.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow_gitver import mlflow_api, mlflow_edge
from mlflow_gitver.errors import EXIT_FAILURE, Conflict, GitverError
from mlflow_gitver.naming import TAG_VERSION_ID, VersionPlan, VersionSpec

if TYPE_CHECKING:
    from mlflow_gitver.mlflow_api import LoggedModel
    from mlflow_gitver.mlflow_edge import Edge

SETTLE_SECONDS_VAR = "MLFLOW_GITVER_SETTLE_SECONDS"
# Test hook for the "interrupted registration" tests: the process kills itself
# (SIGKILL, no clean-up) right after creating a model; or, for the gc race tests,
# pauses at a point until the test lets it go on.  Checked in one place.
FAULT_VAR = "MLFLOW_GITVER_FAULT"
ROUNDS = 3  # protocol runs before "keeps disappearing": each loses to a deletion
# The settle delay (step 2) is derived from the create call it follows: a racer
# whose model is not visible yet is one whose own create is still in flight, on
# the same server under the same load, so waiting SETTLE_FACTOR times as long as
# our create took covers it; the floor covers a create answered unusually fast.
DEFAULT_SETTLE_SECONDS = 0.05
SETTLE_FACTOR = 2.0
MAX_SETTLE_SECONDS = 10.0


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
    return mlflow_api.search_models(
        edge, f"searching models named {name}", [experiment_id], f"name = '{name}'"
    )


def search_version(edge: Edge, experiment_ids: list[str] | None, version_id: str) -> list[Any]:
    """Models tagged with ``version_id`` (any name), in the given experiments."""
    flt = f"tags.`{TAG_VERSION_ID}` = '{version_id}'"
    return mlflow_api.search_models(
        edge, f"searching version {version_id}", experiment_ids or [], flt
    )


def _ours(models: list[LoggedModel], version_id: str) -> list[LoggedModel]:
    return [m for m in models if (m.tags or {}).get(TAG_VERSION_ID) == version_id]


_FAULTS_SEEN: dict[str, int] = {}


def _inject_fault(point: str) -> None:
    """``MLFLOW_GITVER_FAULT=after-create`` kills at the first model created,
    ``after-create:N`` at the N-th in this process (the N-th app of a record).

    ``pause:POINT:DIR`` pauses at the first POINT: it closes the FIFO
    ``DIR/reached`` (the test, reading it, learns we are there), then reads
    ``DIR/resume`` until the test closes it.  No polling on either side."""
    want = os.environ.get(FAULT_VAR)
    if want is None:
        return
    if want.startswith("pause:"):
        _, name, fifo_dir = [*want.split(":", 2), "", ""][:3]
        if name == point and not _FAULTS_SEEN.get(point):
            _FAULTS_SEEN[point] = 1
            with open(os.path.join(fifo_dir, "reached"), "w"):
                pass
            with open(os.path.join(fifo_dir, "resume")) as f:
                f.read()
        return
    name, _, nth = want.partition(":")
    if name == point:
        _FAULTS_SEEN[point] = _FAULTS_SEEN.get(point, 0) + 1
        if _FAULTS_SEEN[point] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


inject_fault = _inject_fault  # pins.py's point "linked"


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
    head = (
        f"version {version_id} is registered as {model.name} ({model.model_id}) with "
        f"different params: {'; '.join(diffs)}; versions are immutable: "
    )
    from mlflow_gitver.config_prompts import PARAM_PREFIX

    moved = [k[len(PARAM_PREFIX) :] for k in keys if k.startswith(PARAM_PREFIX)]
    moved = [k for k in moved if have.get(PARAM_PREFIX + k) != params.get(PARAM_PREFIX + k)]
    if moved:
        return head + (
            f"prompt {', '.join(moved)} now resolves to another version than the code was "
            "registered with (an alias moved?): pin the version (prompts:/NAME/N), or put "
            "{params_digest} in name_template so each set of pins gets its own model"
        )
    return head + (
        "restore the old values, or put {params_digest} in name_template so each set of "
        "params gets its own model"
    )


class _Gone(Exception):
    """The winner was deleted under us (gc, or a person): run the protocol again."""


def find_or_create(edge: Edge, experiment_id: str, plan: VersionPlan) -> Found:
    """The one complete LoggedModel of ``plan``'s version, created if needed (module doc).

    Models are looked up by ``plan.cheap`` (the name, params and base tags); what
    costs git calls (``plan.full``: commit facts, the diff) is only computed when
    a model is created or completed.
    """
    for _round in range(ROUNDS):
        try:
            found = _find_or_create(edge, experiment_id, plan)
        except _Gone:
            continue
        # Step 5: gc deletes only dirty versions; a dirty one is read once more.
        if not plan.state.dirty or mlflow_api.get_model(edge, found.model.model_id) is not None:
            return found
    raise GitverError(
        f"the model of version {plan.cheap().version_id} was deleted {ROUNDS} times while "
        f"registering it in experiment {experiment_id} at {edge.display_uri}; is "
        "'mlflow-gitver gc --older-than 0s' running in a loop?",
        EXIT_FAILURE,
    )


def _find_or_create(edge: Edge, experiment_id: str, plan: VersionPlan) -> Found:
    previous: str | None = None
    settle = mlflow_edge.float_env(SETTLE_SECONDS_VAR, DEFAULT_SETTLE_SECONDS)
    if plan.state.scope_digest is not None:
        spec = plan.cheap()

        def by_tag() -> list[LoggedModel]:
            return _ours(search_version(edge, [experiment_id], spec.version_id), spec.version_id)

        return _converge(edge, experiment_id, plan, spec, by_tag(), 8, settle, by_tag)
    for sha_len in range(8, len(plan.state.commit) + 1, 4):
        spec = plan.cheap(sha_len)
        if spec.name == previous:
            break  # the template has no short hash to lengthen
        previous = spec.name
        found = search_name(edge, experiment_id, spec.name)
        ours = _ours(found, spec.version_id)
        if found and not ours:
            continue  # another version holds this name: lengthen it
        name = spec.name

        def by_name(name: str = name, vid: str = spec.version_id) -> list[LoggedModel]:
            return _ours(search_name(edge, experiment_id, name), vid)

        return _converge(edge, experiment_id, plan, spec, ours, sha_len, settle, by_name)
    raise GitverError(
        f"model name {previous} is taken by another version in experiment {experiment_id} "
        "and cannot be lengthened; use {short_sha} or {sha} in name_template, or rename "
        "the other model",
        EXIT_FAILURE,
    )


def settle_after(took: float, floor: float | None = None) -> None:
    """Step 2's wait, after a create that took ``took`` seconds: creators slowed by
    a busy store are the ones whose older copy may not be visible yet, so wait
    longer when creating took longer (prompt versions follow the same protocol)."""
    if floor is None:
        floor = mlflow_edge.float_env(SETTLE_SECONDS_VAR, DEFAULT_SETTLE_SECONDS)
    time.sleep(min(max(floor, SETTLE_FACTOR * took), MAX_SETTLE_SECONDS))


def _create(edge: Edge, experiment_id: str, spec: VersionSpec) -> LoggedModel:
    return mlflow_api.create_model(
        edge, experiment_id, spec.name, spec.params, spec.tags, spec.model_type
    )


def _converge(
    edge: Edge,
    experiment_id: str,
    plan: VersionPlan,
    spec: VersionSpec,
    ours: list[LoggedModel],
    sha_len: int,
    settle: float,
    reread: Callable[[], list[LoggedModel]],
) -> Found:
    """Steps 2 to 4, from ``ours`` (the version's models found); ``reread`` finds
    them again (by name, or by version-id tag for a scoped version)."""
    created_id: str | None = None
    for _round in range(3):
        if not ours:
            t0 = time.monotonic()
            mine = _create(edge, experiment_id, plan.full(sha_len))
            _inject_fault("after-create")
            created_id = mine.model_id
            settle_after(time.monotonic() - t0, settle)
            ours = reread()
        elif not any(is_ready(m) for m in ours):
            # Only unfinished models: their creators may still be settling.
            time.sleep(settle)
            ours = reread()
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
    _inject_fault("picked")
    for m in ours:
        if m.model_id != winner.model_id:
            mlflow_api.delete_model(edge, m.model_id)
    if dict(winner.params or {}) != spec.params:
        raise Conflict(params_conflict(winner, spec.version_id, spec.params))
    was_ready = is_ready(winner)
    if not was_ready:
        spec = plan.full(sha_len)
    complete(edge, winner, plan, spec)
    created = winner.model_id == created_id
    return Found(winner, spec, created=created, completed=not was_ready and not created)


def complete(edge: Edge, model: LoggedModel, plan: VersionPlan, spec: VersionSpec) -> None:
    """Step 4: finish ``model`` (idempotent); a READY one only gets the tags it lacks."""
    if is_ready(model):
        # READY means complete: its creator (or a healer) finished it.  Tags we
        # own that it lacks (a remote added since) are added, none rewritten.
        ensure_tags(edge, model, plan.topped_up(spec, model.tags or {}))
        return
    ensure_tags(edge, model, spec)
    if plan.patch is not None:
        _upload_patch(edge, model, spec, plan)
    # Finalizing a deleted model succeeds and leaves it deleted (module doc, step 5).
    mlflow_api.finalize_ready(edge, model.model_id)


def _upload_patch(edge: Edge, model: LoggedModel, spec: VersionSpec, plan: VersionPlan) -> None:
    from mlflow_gitver.patch import ARTIFACT_DIR, MANIFEST_NAME, PATCH_NAME

    assert plan.patch is not None
    listed = mlflow_api.artifact_paths(edge, model.model_id, ARTIFACT_DIR)
    if f"{ARTIFACT_DIR}/{MANIFEST_NAME}" in listed:
        return  # uploaded before an interruption: the manifest goes last
    with tempfile.TemporaryDirectory(prefix="mlflow-gitver-") as tmp:
        d = plan.patch.write(Path(tmp) / ARTIFACT_DIR, spec.version_id, spec.commit)
        # The patch first, the manifest last: the manifest marks a complete upload.
        for name in (d / PATCH_NAME, d / MANIFEST_NAME):
            mlflow_api.upload_artifact(edge, model.model_id, str(name), ARTIFACT_DIR)


def ensure_tags(edge: Edge, model: LoggedModel, spec: VersionSpec) -> None:
    """Add the spec's tags the model lacks; values already there are kept."""
    have = model.tags or {}
    missing = {k: v for k, v in spec.tags.items() if k not in have}
    if missing and not mlflow_api.add_tags_unless_gone(edge, model.model_id, missing):
        raise _Gone(model.model_id)
