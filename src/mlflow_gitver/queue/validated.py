"""The hooks' config check, and their cache of configs known to be valid.

The post-commit hook checks the committed config before it returns, so an
invalid one is reported by the commit that made it; the pre-push hook checks
each pushed tip's.  Loading YAML and the validator costs ~30 ms, more than the
rest of a hook: a config text that validated before, read no environment
variable, and was checked by this same validator (config.py) is not checked
again, and what the hooks need of it (:class:`Facts`) is read from the cache.
The cache is ``<store>/validated-configs.json``: ``{"stamp": [mtime_ns, size],
"configs": [[text, facts], ...]}``, newest first.
"""

from __future__ import annotations

import contextlib
import json
import os

from mlflow_gitver.configstamp import WatchedEnv, schema_stamp
from mlflow_gitver.queue.records import parse_record_config, record_environ
from mlflow_gitver.record import Record as _Value
from mlflow_gitver.redact import redact_secrets

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping

    from mlflow_gitver.config import Config
    from mlflow_gitver.queue.records import Record
    from mlflow_gitver.queue.store import Store

_KEPT = 8  # config texts remembered as valid (branches may differ)


class Facts(_Value):
    """What the hooks need of a valid config, kept so that a text known valid is
    not parsed again: its hook settings, its target, and its fingerprint (the
    journal of registrations keys on it, queue/registered.py)."""

    __slots__ = (
        "background",
        "experiment",
        "fingerprint",
        "pre_push_all",
        "pre_push_required",
        "tracking_uri",
    )
    background: bool  # hooks.post_commit.background
    experiment: str | None
    fingerprint: str  # Config.fingerprint()
    pre_push_all: bool
    pre_push_required: bool
    tracking_uri: str | None

    def __init__(
        self,
        background: bool,
        experiment: str | None,
        fingerprint: str,
        pre_push_all: bool,
        pre_push_required: bool,
        tracking_uri: str | None,
    ) -> None:
        self._init(
            background=background,
            experiment=experiment,
            fingerprint=fingerprint,
            pre_push_all=pre_push_all,
            pre_push_required=pre_push_required,
            tracking_uri=tracking_uri,
        )

    @classmethod
    def of(cls, cfg: Config) -> Facts:
        return cls(
            background=cfg.post_commit_background,
            experiment=cfg.experiment,
            fingerprint=cfg.fingerprint(),
            pre_push_all=cfg.pre_push_all,
            pre_push_required=cfg.pre_push_required,
            tracking_uri=cfg.tracking_uri,
        )

    @classmethod
    def load(cls, data: object) -> Facts | None:
        if not isinstance(data, dict) or set(data) != set(cls.__slots__):
            return None
        facts = cls(**data)
        kinds: tuple[type | tuple[type, ...], ...] = (
            bool,
            (str, type(None)),
            str,
            bool,
            bool,
            (str, type(None)),
        )
        ok = all(
            isinstance(facts._asdict()[n], k) for n, k in zip(cls.__slots__, kinds, strict=True)
        )
        return facts if ok else None


def _validated_configs(store: Store, stamp: list[int] | None) -> list[tuple[str, Facts]]:
    """The (text, facts) pairs remembered for validator ``stamp``."""
    try:
        data = json.loads(store.validated.read_text(encoding="utf-8"))
        if stamp is None or data["stamp"] != stamp:
            return []
        pairs = [(t, Facts.load(f)) for t, f in data["configs"] if isinstance(t, str)]
        return [(t, f) for t, f in pairs if f is not None]
    except (OSError, ValueError, TypeError, KeyError):
        return []  # missing or damaged: it is only a cache


def known_valid(store: Store, config_text: str) -> Facts | None:
    """The facts of a config text that validated before; None when it is not
    known to be valid."""
    for text, facts in _validated_configs(store, schema_stamp()):
        if text == config_text:
            return facts
    return None


def remember_valid(store: Store, config_text: str, facts: Facts) -> None:
    stamp = schema_stamp()
    if stamp is None or redact_secrets(config_text) != config_text:
        return  # a config that holds a credential is never written here (issue 11)
    old = [c for c in _validated_configs(store, stamp) if c[0] != config_text]
    configs = [(config_text, facts), *old][:_KEPT]
    # Replaced atomically, not fsynced: a cache lost in a crash costs one check,
    # and one that cannot be written costs a check at every commit, no more.
    path = store.validated
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        tmp.write_text(
            json.dumps({"stamp": stamp, "configs": [(t, f._asdict()) for t, f in configs]}),
            encoding="utf-8",
        )
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


class Checked:
    """What the hook learnt of a record's config: how to register it, or why it never can."""

    __slots__ = ("config", "error", "facts")

    def __init__(self, facts: Facts | None, error: str | None, config: Config | None) -> None:
        self.facts = facts  # None: invalid
        self.error = error  # None: valid
        self.config = config  # None: known valid from the cache, or invalid

    @property
    def background(self) -> bool:
        """hooks.post_commit.background (False for an invalid config)."""
        return self.facts is not None and self.facts.background


def check_config(store: Store, record: Record, environ: Mapping[str, str]) -> Checked:
    """The record's config as committed, checked; parsed only when not known valid.

    The parsed config is kept (``Checked.config``), so a hook that registers
    in the foreground does not parse it a second time.  Raises nothing for an
    invalid config: ``Checked.error`` says what is wrong."""
    if record.config_text is not None:
        known = known_valid(store, record.config_text)
        if known is not None:
            return Checked(known, None, None)
    from mlflow_gitver.config import ConfigError

    env = WatchedEnv(record_environ(record, environ))
    try:
        cfg = parse_record_config(record, env)
    except ConfigError as e:
        return Checked(None, e.message, None)
    facts = Facts.of(cfg)
    if record.config_text is not None and not env.read:
        remember_valid(store, record.config_text, facts)
    return Checked(facts, None, cfg)
