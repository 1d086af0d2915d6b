"""The post-commit hook's config check, and its cache of configs known to be valid.

The post-commit hook checks the committed config before it returns, so an
invalid one is reported by the commit that made it.  Loading YAML and the
validator costs ~30 ms, more than the rest of the hook: a config text that
validated before, read no environment variable, and was checked by this same
validator (config.py) is not checked again.  The cache is
``<store>/validated-configs.json``: ``{"stamp": [mtime_ns, size], "configs":
[[text, background], ...]}``, newest first.
"""

from __future__ import annotations

import contextlib
import json
import os

from mlflow_gitver.configstamp import WatchedEnv, schema_stamp
from mlflow_gitver.queue.records import parse_record_config, record_environ
from mlflow_gitver.redact import redact_secrets

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping

    from mlflow_gitver.config import Config
    from mlflow_gitver.queue.records import Record
    from mlflow_gitver.queue.store import Store

_KEPT = 8  # config texts remembered as valid (branches may differ)


def _validated_configs(store: Store, stamp: list[int] | None) -> list[tuple[str, bool]]:
    """The (text, background) pairs remembered for validator ``stamp``."""
    try:
        data = json.loads(store.validated.read_text(encoding="utf-8"))
        if stamp is None or data["stamp"] != stamp:
            return []
        return [(t, b) for t, b in data["configs"] if isinstance(b, bool)]
    except (OSError, ValueError, TypeError, KeyError):
        return []  # missing or damaged: it is only a cache


def known_valid(store: Store, config_text: str) -> bool | None:
    """``hooks.post_commit.background`` of a config text that validated before;
    None when it is not known to be valid."""
    for text, background in _validated_configs(store, schema_stamp()):
        if text == config_text:
            return background
    return None


def remember_valid(store: Store, config_text: str, background: bool) -> None:
    stamp = schema_stamp()
    if stamp is None or redact_secrets(config_text) != config_text:
        return  # a config that holds a credential is never written here (issue 11)
    old = [c for c in _validated_configs(store, stamp) if c[0] != config_text]
    configs = [(config_text, background), *old][:_KEPT]
    # Replaced atomically, not fsynced: a cache lost in a crash costs one check,
    # and one that cannot be written costs a check at every commit, no more.
    path = store.validated
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"stamp": stamp, "configs": configs}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


class Checked:
    """What the hook learnt of a record's config: how to register it, or why it never can."""

    __slots__ = ("background", "config", "error")

    def __init__(self, background: bool, error: str | None, config: Config | None) -> None:
        self.background = background  # hooks.post_commit.background
        self.error = error  # None: valid
        self.config = config  # None: known valid from the cache, or invalid


def check_config(store: Store, record: Record, environ: Mapping[str, str]) -> Checked:
    """The record's config as committed, checked; parsed only when not known valid.

    The parsed config is kept (``Checked.config``), so a hook that registers
    in the foreground does not parse it a second time."""
    if record.config_text is not None:
        known = known_valid(store, record.config_text)
        if known is not None:
            return Checked(known, None, None)
    from mlflow_gitver.config import ConfigError

    env = WatchedEnv(record_environ(record, environ))
    try:
        cfg = parse_record_config(record, env)
    except ConfigError as e:
        return Checked(False, e.message, None)
    if record.config_text is not None and not env.read:
        remember_valid(store, record.config_text, cfg.post_commit_background)
    return Checked(cfg.post_commit_background, None, cfg)
