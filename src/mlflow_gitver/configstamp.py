"""What a cached answer about a config depends on besides its bytes: the
validator's code (:func:`schema_stamp`) and whether the parse read the
environment (:class:`WatchedEnv`).  The post-commit hook's cache of valid
configs (queue/validated.py) and ``id --app``'s scope hints (scopehint.py) keep
an answer only for the same bytes, stamp and no environment read.  Imports
nothing: both run on hot paths.
"""

from __future__ import annotations

import os

# The modules whose code decides whether a config text is valid.  The post-commit
# hook remembers texts that validated (queue); a change in any of these (another
# release, an edited checkout, a new key) must forget them.  tests/test_config.py
# checks this list against the modules parse_config imports.
VALIDATING_MODULES = (
    "config.py",
    "config_apps.py",
    "config_readers.py",
    "config_prompts.py",
    "yamlnodes.py",
    "redact.py",
    "identity.py",
)


def schema_stamp() -> list[int] | None:
    """What decides a config's validity besides its text and environment: the size and
    mtime of :data:`VALIDATING_MODULES`; None if one cannot be read (cache nothing)."""
    here = os.path.dirname(__file__)
    try:
        stats = [os.stat(os.path.join(here, name)) for name in VALIDATING_MODULES]
    except OSError:
        return None
    return [n for st in stats for n in (st.st_mtime_ns, st.st_size)]


class WatchedEnv(dict[str, str]):
    """An environment that notes whether a config read a variable from it: a parse
    that read none depends on the text alone (so its result may be cached)."""

    read = False

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read = True
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read = True
        return super().__contains__(key)
