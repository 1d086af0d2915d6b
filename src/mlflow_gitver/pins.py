"""Pin a config's prompts to concrete prompt versions, and link them to the version's model.

At registration every entry of ``prompts:`` resolves to one prompt version: an
alias (``@production``, ``@latest``) as it points now, a number as written, a file
of the repository as the version that holds its content.  The pins become params,
``prompt.<name>`` = the version number, so they are part of the version: params
are immutable, so a code version whose alias has moved since it was registered
is a conflict that names the prompt (registry.params_conflict), never a silent
reuse; ``{params_digest}`` in ``name_template`` gives each set of pins its own
model instead.

A prompt kept in a file is read from the code state registered (the commit; the
working tree for a dirty state).  Its version is the oldest one whose
``mlflow_gitver.prompt.digest`` tag is the content's digest, so the same content
always pins the same version, even after other content came in between; none:
one is created, tagged with the digest, the commit and the path.  Concurrent
registrations follow registry.py's protocol: create, settle, list again, keep
the oldest, delete the other copies.

Links: MLflow records a model's prompts in one tag (``mlflow.linkedPrompts``, a
JSON list) that its link call rewrites read-modify-write, so two processes that
link at once can lose each other's entries (a lost update; tests/test_pins.py
makes one happen).  Every pin is a param of
the model, so every process that links onto one model wants the same set: each
one, after linking, reads the model again and links what is missing, until all
its pins are there.  The last writer checks after its own write, so no link is
lost when the last of them returns; a registration that finds the model READY
repairs missing links from the tags the search returned (no extra call when
they are all there).

Every MLflow call goes through mlflow_api.py.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow_gitver import git, mlflow_api
from mlflow_gitver.config_prompts import PromptRef
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError

if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.gitstate import GitState
    from mlflow_gitver.mlflow_edge import Edge

TAG_DIGEST = "mlflow_gitver.prompt.digest"
TAG_COMMIT = "mlflow_gitver.prompt.commit"
TAG_FILE = "mlflow_gitver.prompt.file"
LINKED = "mlflow.linkedPrompts"  # MLflow's (TraceTagKey.LINKED_PROMPTS)
LINK_ROUNDS = 8

# The content of a path (from the repository root) in the code state pinned;
# None when the file is not there.
ReadFile = Callable[[str], "bytes | None"]


@dataclass(frozen=True)
class Pin:
    """An entry of ``prompts:`` resolved: ``version`` None means a file whose content
    has no version yet (a look-up that creates nothing: ``check``, ``resolve``)."""

    ref: PromptRef
    version: int | None

    @property
    def uri(self) -> str:
        return f"prompts:/{self.ref.name}/{self.version}"

    def describe(self) -> str:
        """``support = 4 (alias production)``, for ``check`` and messages."""
        if self.version is None:
            return f"{self.ref.name}: a new version at registration ({self.ref.source})"
        return f"{self.ref.name} = {self.version} ({self.ref.source})"


# The most MLflow stores as a prompt's text (mlflow/utils/validation.py:
# MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH); checked before anything is created.
MAX_TEMPLATE_CHARS = 100_000


class NotAFile(Exception):
    """A path of ``prompts:`` that names no regular file in the code: a directory,
    a symlink (git stores a link's target path, not the file), a submodule, or one
    that cannot be read.  ``args``: what it is, and how to fix it."""

    def __init__(self, what: str, fix: str = "name the prompt's file itself") -> None:
        super().__init__(what, fix)


def reader(repo: git.Repo, state: GitState) -> ReadFile:
    """Files as the code state has them: the commit's (which need not be checked
    out), and for a dirty state the working tree's of the paths its version id
    covers (its changes).  Any other working-tree file (ignored, untracked under
    ``untracked: false``, or unchanged but checked out converted, e.g. eol=crlf)
    is not what the version is: the commit's content, or none, is."""
    import os

    at_commit = from_commit(repo, state.commit)
    if not state.dirty:
        return at_commit
    changed = {c.path for c in state.changes}
    in_tree = from_dir(repo.root)

    def read(path: str) -> bytes | None:
        return in_tree(path) if os.fsencode(path) in changed else at_commit(path)

    return read


def from_commit(repo: git.Repo, commit: str) -> ReadFile:
    """Files of ``commit``; a path that is a tree, a link or a submodule there raises
    NotAFile (``git cat-file blob`` would hand over a link's target path as its text)."""

    def read(path: str) -> bytes | None:
        out = git.git(["ls-tree", "-z", commit, "--", path], cwd=repo.root, env=repo.env())
        entry = out.stdout.split(b"\0")[0]
        if not entry:
            return None
        mode, kind, _oid = entry.partition(b"\t")[0].split(b" ")
        if kind == b"tree":
            raise NotAFile("a directory, not a file")
        if mode == b"120000":
            raise NotAFile("a symlink, not a file")
        if kind != b"blob":
            raise NotAFile("a submodule, not a file")
        return git.show_blob(repo, commit, path)

    return read


def check_scope(repo: git.Repo, state: GitState, refs: Sequence[PromptRef]) -> None:
    """A scoped app's prompt files must be inside its paths: a change to one must
    make a new version, or a later commit with the same scoped id would pin other
    content and conflict.  Matched as git matches the paths (against the index: a
    file it does not hold is left to the read that follows)."""
    if state.scope_digest is None:
        return
    from mlflow_gitver import scope

    files = [r for r in refs if r.file is not None]
    if not files:
        return
    wanted = [str(r.file).encode() for r in files]
    held = scope.inside(repo, wanted, state.scope)
    literal = [":(literal)" + str(r.file) for r in files]
    out = git.git(["ls-files", "-z", "--full-name", "--", *literal], cwd=repo.root, env=repo.env())
    listed = set(out.stdout.split(b"\0"))
    for r, path in zip(files, wanted, strict=True):
        if path in listed and path not in held:
            raise GitverError(
                f"{r.where}: prompt {r.name!r}: {r.file} is outside the app's paths "
                f"({', '.join(state.scope)}); add it to 'paths', so that a change to it "
                "makes a new version",
                EXIT_USAGE,
            )


def from_dir(root: Path) -> ReadFile:
    """Files under ``root`` (a deploy bundle, a working tree)."""

    def read(path: str) -> bytes | None:
        # A link anywhere below root may point outside it: its target is not the code.
        here = root
        for part in path.split("/"):
            here = here / part
            if here.is_symlink():
                raise NotAFile("a symlink, not a file")
        if here.is_dir():
            raise NotAFile("a directory, not a file")
        try:
            return here.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:  # a permission, an I/O error: the user's to fix, not a crash
            raise NotAFile(f"unreadable ({e.strerror})", "make it readable") from e

    return read


@dataclass(frozen=True)
class Lookup:
    """What a look-up (``resolve``) needs to pin a config's prompts as ``register``
    would, creating nothing: a file whose content has no prompt version means the
    version is not registered."""

    refs: tuple[PromptRef, ...]
    read_file: ReadFile
    commit: str

    def params(self, edge: Edge, base: Mapping[str, str], shown_uri: str) -> dict[str, str]:
        pins = pin_all(
            edge, self.refs, self.read_file, commit=self.commit, create=False, secrets="off"
        )
        for p in pins:
            if p.version is None:
                raise GitverError(
                    f"prompt {p.ref.name!r}: the content of {p.ref.file} has no prompt "
                    f"version at {shown_uri}, so this code is not registered there; "
                    "register it with 'mlflow-gitver register'",
                    EXIT_FAILURE,
                )
        return {**base, **{p.ref.param: str(p.version) for p in pins}}


def preview(repo: git.Repo, state: GitState, cfg: Config) -> tuple[tuple[Pin, ...] | None, str]:
    """The pins of ``cfg`` as they resolve now, creating nothing (``check``): the
    pins, or None and why they are unresolved (no store yet, a server that does
    not answer).  An unknown prompt or alias raises, as registering would."""
    import os

    from mlflow_gitver import tracking
    from mlflow_gitver.errors import ServerUnavailable

    check_scope(repo, state, cfg.prompts)
    chosen = tracking.target(None, os.environ, cfg.tracking_uri, repo.root)
    db = tracking.db_file(chosen.uri)
    if db is not None and not db.exists():
        return None, f"no MLflow store at {db} yet"
    try:
        with tracking.mlflow_env(chosen.uri):
            mlflow_api.quiet()
            edge = mlflow_api.connect(chosen.uri)
            with mlflow_api.failing("pinning the prompts", chosen.display):
                pins = pin_all(
                    edge,
                    cfg.prompts,
                    reader(repo, state),
                    commit=state.commit,
                    create=False,
                    secrets=cfg.secrets,
                )
    except ServerUnavailable as e:
        return None, str(e)
    return pins, ""


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def pin_all(
    edge: Edge,
    refs: Sequence[PromptRef],
    read_file: ReadFile,
    *,
    commit: str,
    create: bool,
    secrets: str = "redact",
) -> tuple[Pin, ...]:
    """Each entry of ``refs`` resolved now; ``create``: a file's new content gets
    its prompt version (registration), else it pins None (a look-up).

    Nothing is created before everything that can fail has been checked: every
    file is read, and every registry prompt resolved, first."""
    contents = {r.name: _content(r, read_file, commit, secrets) for r in refs if r.file is not None}
    found = {r.name: _registry_pin(edge, r) for r in refs if r.file is None}
    # Listing is a read: a name MLflow will not list (a registered model's) fails here,
    # before an earlier entry has created its version.
    have = {n: _listed(edge, r, digest(contents[n][0])) for r in refs if (n := r.name) in contents}
    for r in refs:
        if r.file is not None:
            version = _file_version(edge, r, contents[r.name], commit, create, have[r.name])
            found[r.name] = Pin(r, version)
    if create:
        from mlflow_gitver import registry

        registry.inject_fault("pinned")  # between the pins and the link (tests)
    return tuple(found[r.name] for r in refs)


def pinned(cfg: Config, pins: Sequence[Pin]) -> Config:
    """``cfg`` with the pins as params (``prompt.<name>``); a pin not resolved is left out."""
    extra = {p.ref.param: str(p.version) for p in pins if p.version is not None}
    clash = sorted(set(extra) & set(cfg.params))
    if clash:  # an app's own params (the top level's are refused when the file is read)
        ref = next(p.ref for p in pins if p.ref.param == clash[0])
        raise GitverError(
            f"{ref.where}: params set {clash[0]!r}, the param that records the pin of prompt "
            f"{ref.name!r}; rename the param",
            EXIT_USAGE,
        )
    return cfg.with_params(extra) if extra else cfg


def _registry_pin(edge: Edge, ref: PromptRef) -> Pin:
    wanted = str(ref.version) if ref.version is not None else str(ref.alias)
    found = mlflow_api.prompt_version(edge, ref.name, wanted)
    if found is None:
        raise _unknown(edge, ref)
    return Pin(ref, int(found.version))


def _unknown(edge: Edge, ref: PromptRef) -> GitverError:
    at = edge.display_uri
    if mlflow_api.get_prompt(edge, ref.name) is None:
        problem = f"there is no prompt {ref.name!r} at {at}"
        fix = "register it (mlflow.genai.register_prompt), or fix the name"
    elif ref.alias is not None:
        problem = f"prompt {ref.name!r} has no alias {ref.alias!r} at {at}"
        fix = "set it (mlflow.genai.set_prompt_alias), or pin a version: prompts:/NAME/N"
    else:
        problem = f"prompt {ref.name!r} has no version {ref.version} at {at}"
        fix = "pin a version that exists"
    return GitverError(f"{ref.where}: {problem}; {fix}", EXIT_USAGE)


def _content(ref: PromptRef, read_file: ReadFile, commit: str, secrets: str) -> tuple[bytes, str]:
    assert ref.file is not None
    try:
        data = read_file(ref.file)
    except NotAFile as e:
        what, fix = e.args
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r}: {ref.file} is {what} in the code registered "
            f"({commit[:12]}); {fix}",
            EXIT_USAGE,
        ) from e
    if data is None:
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r}: {ref.file} is not in the code registered "
            f"({commit[:12]}); commit the file, or fix the path",
            EXIT_USAGE,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r}: {ref.file} is not UTF-8 text "
            f"(byte {e.start}); save it as UTF-8",
            EXIT_USAGE,
        ) from e
    if len(text) > MAX_TEMPLATE_CHARS:
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r}: {ref.file} holds {len(text):,} characters, "
            f"more than MLflow stores in a prompt ({MAX_TEMPLATE_CHARS:,}); shorten or split it",
            EXIT_USAGE,
        )
    if secrets != "off":
        _refuse_secrets(ref, text)
    return data, text


def _refuse_secrets(ref: PromptRef, text: str) -> None:
    """A prompt's template is stored verbatim (redacting it would change what the
    app runs), so a credential in it is refused under ``redact`` and ``refuse`` alike."""
    from mlflow_gitver import secretscan

    spans = secretscan.find(text, str(ref.file))
    if spans:
        start, _end, kind = spans[0]
        line = text.count("\n", 0, start) + 1
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r}: {ref.file}:{line}: a {kind}; a prompt is "
            "stored in MLflow verbatim, so it must hold no credential: move the secret "
            "out of the prompt (the app can read it from the environment)",
            EXIT_USAGE,
        )


def _with_digest(edge: Edge, name: str, want: str) -> list[int]:
    """The numbers of the versions of ``name`` that hold the content ``want``, oldest first."""
    versions = mlflow_api.prompt_versions(edge, name)
    return sorted(int(v.version) for v in versions if (v.tags or {}).get(TAG_DIGEST) == want)


def _listed(edge: Edge, ref: PromptRef, want: str) -> list[int]:
    """:func:`_with_digest`, with MLflow's refusal to list the name (it is a registered
    model's, not a prompt's) as one line naming the config's line."""
    try:
        return _with_digest(edge, ref.name, want)
    except mlflow_api.NotAPrompt as e:
        raise GitverError(
            f"{ref.where}: prompt {ref.name!r} cannot be kept at {edge.display_uri}: {e}; "
            "give the prompt another name",
            EXIT_USAGE,
        ) from e


def _file_version(
    edge: Edge,
    ref: PromptRef,
    content: tuple[bytes, str],
    commit: str,
    create: bool,
    have: list[int],
) -> int | None:
    from mlflow_gitver import registry

    data, text = content
    want = digest(data)
    if have or not create:
        return have[0] if have else None
    tags = {TAG_DIGEST: want, TAG_COMMIT: commit, TAG_FILE: str(ref.file)}
    for _round in range(3):
        t0 = time.monotonic()
        mlflow_api.create_prompt_version(
            edge, ref.name, text, f"{ref.file} at {commit[:12]} (mlflow-gitver)", tags
        )
        registry.inject_fault("prompt-created")  # a kill before the model is made (tests)
        registry.settle_after(time.monotonic() - t0)
        have = _listed(edge, ref, want)
        if have:
            # The oldest wins, for every racer alike; the others' copies go.
            for extra in have[1:]:
                mlflow_api.delete_prompt_version(edge, ref.name, extra)
            return have[0]
        # Deleted under us (a person, a racer's repair gone wrong): make it again.
    raise GitverError(
        f"versions of prompt {ref.name!r} keep disappearing at {edge.display_uri}; "
        "is another tool deleting them?",
        EXIT_FAILURE,
    )


def linked(tags: Mapping[str, str]) -> set[tuple[str, str]]:
    """The (prompt, version) pairs a model's tags record as linked."""
    try:
        entries = json.loads(tags.get(LINKED) or "[]")
    except ValueError:
        return set()
    if not isinstance(entries, list):
        return set()
    return {(str(e.get("name")), str(e.get("version"))) for e in entries if isinstance(e, dict)}


def link(edge: Edge, model: Any, pins: Sequence[Pin]) -> Any:
    """Link every pin to ``model`` (module doc); the model as last read."""
    from mlflow_gitver import registry

    want = {(p.ref.name, str(p.version)) for p in pins if p.version is not None}
    for _round in range(LINK_ROUNDS):
        missing = sorted(want - linked(model.tags or {}))
        if not missing:
            return model
        if _round:
            time.sleep(random.uniform(0.0, 0.05 * _round))  # out of step with the racer
        for name, version in missing:
            mlflow_api.link_prompt(edge, name, int(version), model.model_id)
        registry.inject_fault("linked")  # a racer's stale rewrite lands here (tests)
        model = mlflow_api.get_model(edge, model.model_id) or model
    raise GitverError(
        f"the prompt links of {model.model_id} kept being overwritten at {edge.display_uri} "
        f"({LINK_ROUNDS} rounds); run the registration again",
        EXIT_FAILURE,
    )
