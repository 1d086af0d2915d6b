"""``.mlflow-gitver.yaml``: the table of its keys and the frozen Config they make.

Each key is one row of :class:`Config`: its attribute, where it is in the file,
the reader that validates and resolves it (type, interpolation, flattening: in
config_readers.py), its default, and a check that needs the other keys.  The YAML side (positions,
``${VAR}``) is yamlnodes.py, imported only when a file is parsed: the hooks import
this module for :data:`CONFIG_NAME`, so it imports nothing.  What a cached answer
about a config depends on is configstamp.py.
"""

from __future__ import annotations

import os

from mlflow_gitver import config_apps as apps
from mlflow_gitver import config_prompts as prompts
from mlflow_gitver import config_readers as read
from mlflow_gitver.errors import GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from typing import Any, Generic, TypeVar

    import yaml

    from mlflow_gitver.yamlnodes import Reader

    _V = TypeVar("_V")
else:

    class Generic:  # typing costs each hook ~10 ms; at run time Key[str] is just Key
        def __class_getitem__(cls, _item: object) -> type:
            return cls

    _V = None

CONFIG_NAME = ".mlflow-gitver.yaml"
# MLflow refuses these in LoggedModel names (mlflow/utils/validation.py).
FORBIDDEN_NAME_CHARS = "/:.%\"'"
MAX_KEY_LEN = 250
MAX_PARAM_LEN = 6000  # the limit of run params; Databricks may enforce it on models
MAX_TAG_LEN = 8000
TEMPLATE_FIELDS = ("name", "short_sha", "sha", "digest", "version_id", "branch", "params_digest")
DIFF_MODES = ("all", "tracked", "none")
SECRETS_MODES = ("redact", "refuse", "off")
# A mapping of the file that holds keys rather than being one: what its unknown keys are.
SECTIONS = {"hooks": "hook"}
NAME_MISSING = "'name' is missing; add 'name: <your app>' (the model name stem)"


class ConfigError(GitverError):
    pass


class Key(Generic[_V]):
    """One row of the table: ``read(reader, node, path)`` validates and resolves the
    value at ``path`` (dotted: ``hooks.pre_push.all``); ``check(reader, value, node,
    values)`` runs once every key is read and may replace the value."""

    __slots__ = ("check", "default", "field", "path", "read", "required")

    def __init__(
        self,
        read: Callable[[Reader, yaml.Node, str], _V],
        default: _V,
        *,
        path: str = "",
        check: Callable[[Reader, _V, yaml.Node, Mapping[str, Any]], _V] | None = None,
        required: str = "",
    ) -> None:
        self.read, self.default, self.path = read, default, path
        self.check, self.required = check, required  # required: the error when it is missing
        self.field = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.field, self.path = name, self.path or name
        KEYS[name] = self

    def __get__(self, obj: Config | None, owner: object = None) -> _V:
        if obj is None:  # Config.name: the row itself (help(), introspection); use KEYS
            return self  # type: ignore[return-value]
        return obj._values[self.field]


KEYS: dict[str, Key[Any]] = {}  # attribute -> row, in file order; filled by Config's body


# --- checks: (reader, value, node, values) -> value -------------------------------------
def _check_name(r: Reader, name: str, node: yaml.Node, _values: Mapping[str, Any]) -> str:
    bad = sorted({c for c in name if c in FORBIDDEN_NAME_CHARS})
    if not name.strip():
        raise r.fail(node, "name must not be empty")
    if bad:
        raise r.fail(
            node,
            f"name {name!r} contains {' '.join(bad)}, which MLflow refuses in model names; "
            "use letters, digits, '-' and '_'",
        )
    return name


def _check_template(
    r: Reader, template: str | None, node: yaml.Node, _values: Mapping[str, Any]
) -> str | None:
    import string

    assert template is not None  # checks run on the keys the file has
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise r.fail(node, f"name_template: {e}; use {{field}} with braces balanced") from e
    fields = [f for _lit, f, _spec, _conv in parsed if f is not None]
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise r.fail(
                node,
                f"name_template: unknown field {{{f}}}; fields: "
                + ", ".join("{" + t + "}" for t in TEMPLATE_FIELDS),
            )
    if not {"sha", "short_sha", "version_id"} & set(fields):
        raise r.fail(
            node,
            "name_template must contain {short_sha}, {sha} or {version_id}, "
            "or two versions would share a name",
        )
    literal = "".join(lit for lit, _f, _spec, _conv in parsed)
    bad = sorted({c for c in literal if c in FORBIDDEN_NAME_CHARS})
    if bad:
        raise r.fail(
            node,
            f"name_template contains {' '.join(bad)}, which MLflow refuses in model names; "
            "use '-' or '_' instead",
        )
    try:  # a format spec or conversion that cannot apply to a string ({sha:d}, {sha!z})
        template.format(**{f: "0" * 64 for f in TEMPLATE_FIELDS})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise r.fail(node, f"name_template: {e}; write fields as plain {{field}}") from e
    return template


def _stored(
    section: str,
) -> Callable[[Reader, dict[str, str], yaml.Node, Mapping[str, Any]], dict[str, str]]:
    """Params or tags as MLflow will store them: see the ``secrets`` key."""

    def check(
        r: Reader, items: dict[str, str], _node: yaml.Node, values: Mapping[str, Any]
    ) -> dict[str, str]:
        mode = values.get("secrets", KEYS["secrets"].default)
        return items if mode == "off" else r.without_secrets(section, items, mode)

    return check


class Config:
    """A validated config: one attribute per key, and ``source`` (where it was read
    from, for messages).  The rows are in the order errors list the known keys."""

    __slots__ = ("_values", "source")
    _values: dict[str, Any]
    source: str

    # The table: attribute: type = Key(reader, default, path= if not the attribute, check=)
    name: Key[str] = Key(read.text, "", check=_check_name, required=NAME_MISSING)
    experiment: Key[str | None] = Key(read.text_or_number, None)
    tracking_uri: Key[str | None] = Key(read.uri, None)
    model_type: Key[str | None] = Key(read.text, None)
    untracked: Key[bool] = Key(read.boolean, True)
    params: Key[dict[str, str]] = Key(read.flat(MAX_PARAM_LEN), {}, check=_stored("params"))
    tags: Key[dict[str, str]] = Key(read.flat(MAX_TAG_LEN), {}, check=_stored("tags"))
    name_template: Key[str | None] = Key(read.literal, None, check=_check_template)
    paths: Key[tuple[str, ...]] = Key(read.pathspecs, ())
    diff: Key[str] = Key(read.one_of(*DIFF_MODES), "all")
    secrets: Key[str] = Key(read.one_of(*SECRETS_MODES, false="off"), "redact")
    post_commit_background: Key[bool] = Key(read.boolean, True, path="hooks.post_commit.background")
    pre_push_required: Key[bool] = Key(read.boolean, False, path="hooks.pre_push.required")
    pre_push_all: Key[bool] = Key(read.boolean, False, path="hooks.pre_push.all")
    # After params: its check refuses a param that a pin would record.
    prompts: Key[tuple[prompts.PromptRef, ...]] = Key(prompts.read, (), check=prompts.check)
    # Last: its check builds each app's Config from the other keys, checked by then.
    apps: Key[tuple[Config, ...]] = Key(apps.read, (), check=apps.check)

    def __init__(self, *, source: str, **values: Any) -> None:
        unknown = sorted(set(values) - set(KEYS))
        missing = [k for k, row in KEYS.items() if row.required and k not in values]
        if values.get("apps"):
            missing = []  # each app has its name; the file's own Config has none
        if unknown or missing:
            raise TypeError(f"Config: unknown keys {unknown}, missing keys {missing}")
        # A dict default is copied: one Config's params are not another's.
        full = {k: values[k] if k in values else _copy(row.default) for k, row in KEYS.items()}
        object.__setattr__(self, "_values", full)
        object.__setattr__(self, "source", source)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Config is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return (self.source, self._values) == (other.source, other._values)

    __hash__ = None  # type: ignore[assignment]  # params and tags are dicts

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Config(source={self.source!r}, {shown})"

    def with_params(self, extra: Mapping[str, str]) -> Config:
        """This config with ``extra`` params added (the prompt pins, pins.py)."""
        values = {**self._values, "params": {**self._values["params"], **extra}}
        return Config(source=self.source, **values)

    def fingerprint(self) -> str:
        """A digest of every resolved value, apps' included, and not of where they
        were read from: two commits with the same config have one fingerprint."""
        import hashlib

        return hashlib.sha256(self._canon().encode()).hexdigest()

    def _canon(self) -> str:
        from mlflow_gitver.redact import redact_url

        def canon(k: str, v: Any) -> Any:
            if k == "apps":
                return [a._canon() for a in v]
            # A password in the URI is not a reason to re-register, nor to be digested.
            return redact_url(v) if k == "tracking_uri" and v else v

        values = [(k, canon(k, v)) for k, v in self._values.items()]
        return repr(values)  # dicts keep the file's order: deterministic for one text


def _copy(value: _V) -> _V:
    return dict(value) if isinstance(value, dict) else value  # type: ignore[return-value]


# --- parsing ------------------------------------------------------------------------------
def parse_config(text: bytes | str, source: str, env: Mapping[str, str] | None = None) -> Config:
    """Validate and resolve a config file's text. ``source`` is shown in errors."""
    import yaml

    from mlflow_gitver.yamlnodes import Reader, compose

    r = Reader(source, os.environ if env is None else env)
    root = compose(text, source)
    if root is None:
        raise ConfigError(f"{source}: the file is empty; it needs at least 'name: <your app>'")
    if not isinstance(root, yaml.MappingNode):
        raise r.fail(root, "the top level must be a mapping, e.g. 'name: my-app'")
    values: dict[str, Any] = {}
    nodes: dict[str, yaml.Node] = {}
    _read(r, root, "", values, nodes)
    for field, row in KEYS.items():
        if field in values:
            if row.check is not None:
                values[field] = row.check(r, values[field], nodes[field], values)
        elif row.required and "apps" not in values:
            raise r.fail(root, row.required)
    return Config(source=source, **values)


def _read(
    r: Reader, node: yaml.Node, prefix: str, values: dict[str, Any], nodes: dict[str, yaml.Node]
) -> None:
    """Read the keys of the mapping at ``prefix`` ("": the top level) into ``values``."""
    depth = prefix.count(".") + 1 if prefix else 0
    # name -> its row, or None for a section (a mapping of keys such as hooks.pre_push).
    known: dict[str, Key[Any] | None] = {}
    for row in KEYS.values():
        parts = row.path.split(".")
        if ".".join(parts[:depth]) == prefix and len(parts) > depth:
            known.setdefault(parts[depth], row if len(parts) == depth + 1 else None)
    for key, knode, vnode in r.mapping(node, prefix or "the top level"):
        path = f"{prefix}.{key}" if prefix else key
        if key not in known:
            raise r.fail(knode, f"{_unknown(prefix, key)}; {_suggest(key, tuple(known))}")
        found = known[key]
        if found is None:
            _read(r, vnode, path, values, nodes)
        else:
            values[found.field], nodes[found.field] = found.read(r, vnode, path), vnode


def _unknown(prefix: str, key: str) -> str:
    if not prefix:
        return f"unknown key {key!r}"
    if prefix in SECTIONS:
        return f"unknown {SECTIONS[prefix]} {key!r}"
    return f"unknown option {prefix}.{key}"


def _suggest(key: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known keys: {', '.join(known)}"


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(
            f"{path}: no config file; create one with 'mlflow-gitver init' or pass --config FILE"
        ) from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config: {e.strerror}") from e
    return parse_config(data, str(path), env)
