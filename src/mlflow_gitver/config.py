"""``.mlflow-gitver.yaml``: load, validate, and resolve it into a frozen Config.

Every error names the file, line and column (from PyYAML's marks) and the fix.
Values are resolved here (environment interpolation, flattening, strings), so
the rest of the program only sees plain ``dict[str, str]`` params and tags.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlflow_gitver.errors import GitverError

# MLflow refuses these in LoggedModel names (mlflow/utils/validation.py).
FORBIDDEN_NAME_CHARS = "/:.%\"'"
MAX_KEY_LEN = 250
MAX_PARAM_LEN = 6000  # the limit of run params; Databricks may enforce it on models
MAX_TAG_LEN = 8000
TEMPLATE_FIELDS = ("name", "short_sha", "sha", "digest", "version_id", "branch", "params_digest")
DIFF_MODES = ("all", "tracked", "none")
SECRETS_MODES = ("redact", "refuse", "off")
SECRET_VAR = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|(\{[^}]*\}?))")

_TOP_KEYS = (
    "name",
    "experiment",
    "tracking_uri",
    "model_type",
    "untracked",
    "params",
    "tags",
    "name_template",
    "diff",
    "secrets",
    "hooks",
)
_HOOK_KEYS = ("post_commit", "pre_push")
_HOOK_OPTION_KEYS = {"post_commit": ("background",), "pre_push": ("required", "all")}


@dataclass(frozen=True)
class Config:
    name: str
    source: str  # where it was read from, for messages
    experiment: str | None = None
    tracking_uri: str | None = None
    model_type: str | None = None
    untracked: bool = True
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    name_template: str | None = None
    diff: str = "all"
    secrets: str = "redact"
    pre_push_required: bool = False
    pre_push_all: bool = False
    post_commit_background: bool = True


class ConfigError(GitverError):
    pass


def _where(source: str, node: yaml.Node | None) -> str:
    if node is None:
        return source
    m = node.start_mark
    return f"{source}:{m.line + 1}:{m.column + 1}"


class _Loader:
    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self._constructor = yaml.SafeLoader("")
        # (section, flattened key) -> the value's node: where a credential in it is reported.
        self.value_nodes: dict[tuple[str, str], yaml.Node] = {}

    def fail(self, node: yaml.Node | None, msg: str) -> ConfigError:
        return ConfigError(f"{_where(self.source, node)}: {msg}")

    # --- YAML nodes -> python, with duplicate-key checks -------------------
    def mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        seen: dict[str, yaml.Node] = {}
        items = []
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise self.fail(knode, f"{what}: keys must be plain strings")
            key = str(knode.value)
            if key == "<<":
                raise self.fail(knode, "merge keys (<<) are not supported; write the keys out")
            if key in seen:
                line = seen[key].start_mark.line + 1
                raise self.fail(knode, f"duplicate key {key!r} in {what} (first at line {line})")
            seen[key] = knode
            items.append((key, knode, vnode))
        return items

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:  # an unknown tag such as !foo
            problem = (e.problem or "cannot read this value").split(" in ")[0]
            raise self.fail(node, f"{problem}; remove the tag or quote the value") from e
        except (ValueError, TypeError, OverflowError) as e:  # a tag that does not fit: !!int x
            raise self.fail(node, f"{e}; remove the tag or quote the value") from e

    def plain(self, node: yaml.Node, what: str, depth: int = 0) -> Any:
        """A Python value for a node, for params/tags; lists become JSON later."""
        if depth > 50:  # an alias that contains itself (&a [*a]) would never end
            raise self.fail(node, f"{what} is nested too deeply (a recursive alias?)")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(n, what, depth + 1) for n in node.value]
        return {k: self.plain(v, what, depth + 1) for k, _kn, v in self.mapping(node, what)}

    # --- interpolation -------------------------------------------------------
    def interpolate(self, text: str, node: yaml.Node, what: str, *, secret_ok: bool) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group(1):
                return "$"
            if m.group(4) is not None:
                raise self.fail(
                    node,
                    f"{what}: malformed reference {m.group(0)!r}; write ${{VAR}} or "
                    "${VAR:-default}, or $$ for a literal $",
                )
            var, default = m.group(2), m.group(3)
            if not secret_ok and SECRET_VAR.search(var):
                raise self.fail(
                    node,
                    f"{what} reads ${{{var}}}, whose name looks like a secret; secrets must "
                    "never be stored in MLflow: remove it, or pass a non-secret variable",
                )
            val = self.env.get(var)
            if val is None or (val == "" and default is not None):
                if default is None:
                    raise self.fail(
                        node,
                        f"{what}: environment variable {var} is not set; set it, or give a "
                        f"default with ${{{var}:-value}}",
                    )
                return default
            return val

        return _VAR.sub(sub, text)

    # --- values --------------------------------------------------------------
    def to_str(self, value: Any, node: yaml.Node, what: str) -> str:
        if value is None:
            raise self.fail(node, f"{what} is null; give it a value, or remove the key")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()
        if isinstance(value, bytes):
            raise self.fail(node, f"{what}: binary values are not supported; use a string")
        if isinstance(value, str):
            return value
        # A list, or a mapping inside a list: a JSON string, keys sorted so
        # the same YAML always gives the same param.
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

    def resolve_strings(self, value: Any, node: yaml.Node, what: str) -> Any:
        if isinstance(value, str):
            return self.interpolate(value, node, what, secret_ok=False)
        if isinstance(value, list):
            return [self.resolve_strings(v, node, what) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve_strings(v, node, what) for k, v in value.items()}
        return value

    def flat(self, node: yaml.Node, section: str, max_len: int) -> dict[str, str]:
        """Flatten a mapping (nested keys joined with '.') into str -> str."""
        out: dict[str, str] = {}
        origin: dict[str, yaml.Node] = {}

        def walk(n: yaml.Node, prefix: str, depth: int) -> None:
            for key, knode, vnode in self.mapping(n, f"{section}{'.' if prefix else ''}{prefix}"):
                full = f"{prefix}.{key}" if prefix else key
                what = f"{section}.{_short(full)}"
                if not key.strip():
                    raise self.fail(knode, f"{what}: empty key; give it a name")
                if isinstance(vnode, yaml.MappingNode) and depth < 50:
                    walk(vnode, full, depth + 1)
                    continue
                if len(full) > MAX_KEY_LEN:
                    raise self.fail(
                        knode,
                        f"{what}: the key is {len(full)} characters long (with its parents); "
                        f"the limit is {MAX_KEY_LEN}: shorten it",
                    )
                if full in origin:
                    line = origin[full].start_mark.line + 1
                    raise self.fail(
                        knode,
                        f"{what} is defined twice after flattening nested keys "
                        f"(first at line {line}); keep one of them",
                    )
                origin[full] = knode
                raw = self.plain(vnode, what)
                if raw is None:
                    raise self.fail(vnode, f"{what} is null; give it a value, or remove the key")
                if isinstance(raw, list):
                    _reject_nulls(self, raw, vnode, what)
                value = self.to_str(self.resolve_strings(raw, vnode, what), vnode, what)
                if len(value) > max_len:
                    raise self.fail(
                        vnode,
                        f"{what} is {len(value)} characters long; the limit is {max_len}: "
                        "shorten it, or keep large content in a file and log its name",
                    )
                out[full] = value
                self.value_nodes[(section, full)] = vnode

        walk(node, "", 0)
        return out

    def typed(self, node: yaml.Node, what: str, kind: type | tuple[type, ...]) -> Any:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if not isinstance(node, yaml.ScalarNode) or not ok:
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            names = names.replace("str", "a string").replace("bool", "true or false")
            names = names.replace("int", "a number")
            raise self.fail(node, f"{what} must be {names}")
        return value


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reject_nulls(loader: _Loader, value: Any, node: yaml.Node, what: str) -> None:
    items = value.values() if isinstance(value, dict) else value
    for v in items:
        if v is None:
            raise loader.fail(node, f"{what} contains a null; give it a value")
        if isinstance(v, (list, dict)):
            _reject_nulls(loader, v, node, what)


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known keys: {', '.join(known)}"


def _check_name(loader: _Loader, name: str, node: yaml.Node) -> None:
    bad = sorted({c for c in name if c in FORBIDDEN_NAME_CHARS})
    if not name.strip():
        raise loader.fail(node, "name must not be empty")
    if bad:
        shown = " ".join(bad)
        raise loader.fail(
            node,
            f"name {name!r} contains {shown}, which MLflow refuses in model names; "
            "use letters, digits, '-' and '_'",
        )


def _check_template(loader: _Loader, template: str, node: yaml.Node) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise loader.fail(node, f"name_template: {e}; use {{field}} with braces balanced") from e
    fields = [f for _lit, f, _spec, _conv in parsed if f is not None]
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise loader.fail(
                node,
                f"name_template: unknown field {{{f}}}; fields: "
                + ", ".join("{" + t + "}" for t in TEMPLATE_FIELDS),
            )
    if not {"sha", "short_sha", "version_id"} & set(fields):
        raise loader.fail(
            node,
            "name_template must contain {short_sha}, {sha} or {version_id}, "
            "or two versions would share a name",
        )
    literal = "".join(lit for lit, _f, _spec, _conv in parsed)
    bad = sorted({c for c in literal if c in FORBIDDEN_NAME_CHARS})
    if bad:
        raise loader.fail(
            node,
            f"name_template contains {' '.join(bad)}, which MLflow refuses in model names; "
            "use '-' or '_' instead",
        )
    try:  # a format spec or conversion that cannot apply to a string ({sha:d}, {sha!z})
        template.format(**{f: "0" * 64 for f in TEMPLATE_FIELDS})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise loader.fail(node, f"name_template: {e}; write fields as plain {{field}}") from e


def parse_config(text: bytes | str, source: str, env: Mapping[str, str] | None = None) -> Config:
    """Validate and resolve a config file's text. ``source`` is shown in errors."""
    loader = _Loader(source, os.environ if env is None else env)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as e:  # bad encoding or a control character
        where = _position(text, e.position, source)
        raise ConfigError(
            f"{where}: unreadable character ({e.reason}); save the file as UTF-8 text "
            "without control characters"
        ) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = e.problem or e.context or "invalid YAML"
        if e.context and e.problem and e.problem.startswith("but "):
            problem = f"{e.context}, {e.problem}"  # "expected X, but found Y"
        raise ConfigError(f"{where}: YAML syntax error: {problem}; fix the syntax") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: YAML error: {e}; fix the syntax") from e
    if root is None:
        raise ConfigError(f"{source}: the file is empty; it needs at least 'name: <your app>'")
    if not isinstance(root, yaml.MappingNode):
        raise loader.fail(root, "the top level must be a mapping, e.g. 'name: my-app'")

    values: dict[str, Any] = {}
    nodes: dict[str, yaml.Node] = {}
    for key, knode, vnode in loader.mapping(root, "the top level"):
        if key not in _TOP_KEYS:
            raise loader.fail(knode, f"unknown key {key!r}; {_suggest(key, _TOP_KEYS)}")
        nodes[key] = vnode
        if key in ("params", "tags"):
            values[key] = loader.flat(vnode, key, MAX_PARAM_LEN if key == "params" else MAX_TAG_LEN)
        elif key == "untracked":
            values[key] = loader.typed(vnode, key, bool)
        elif key == "experiment":
            raw = loader.typed(vnode, key, (str, int))
            values[key] = loader.interpolate(str(raw), vnode, key, secret_ok=False)
        elif key == "tracking_uri":
            raw = loader.typed(vnode, key, str)
            # A URI may carry a password from the environment: allowed here, and
            # redacted wherever it is shown.
            values[key] = loader.interpolate(raw, vnode, key, secret_ok=True)
        elif key == "hooks":
            _hooks(loader, vnode, values)
        elif key in ("diff", "secrets"):
            # YAML 1.1 reads a bare `off` as false: that is what `secrets: off` means.
            raw_mode = loader.scalar(vnode) if isinstance(vnode, yaml.ScalarNode) else None
            off = key == "secrets" and raw_mode is False
            mode = "off" if off else loader.typed(vnode, key, str)
            modes = DIFF_MODES if key == "diff" else SECRETS_MODES
            if mode not in modes:
                raise loader.fail(vnode, f"{key} must be one of {', '.join(modes)}")
            values[key] = mode
        elif key in ("name", "model_type"):
            # Stored in MLflow, so secret-looking variables are refused here too.
            raw = loader.typed(vnode, key, str)
            values[key] = loader.interpolate(raw, vnode, key, secret_ok=False)
        else:
            values[key] = loader.typed(vnode, key, str)

    if "name" not in values:
        raise loader.fail(root, "'name' is missing; add 'name: <your app>' (the model name stem)")
    _check_name(loader, values["name"], nodes["name"])
    if "name_template" in values:
        _check_template(loader, values["name_template"], nodes["name_template"])
    mode = values.get("secrets", "redact")
    for section in ("params", "tags"):
        if section in values and mode != "off":
            values[section] = _without_secrets(loader, section, values[section], mode)
    hooks = values.pop("hooks", {})
    return Config(source=source, **values, **hooks)


_SECRET_KEY = re.compile(
    r"passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential",
    re.IGNORECASE,
)


def _without_secrets(
    loader: _Loader, section: str, items: dict[str, str], mode: str
) -> dict[str, str]:
    """Params and tags are stored in MLflow: a credential in a value is replaced by a
    marker (``secrets: redact``) or refused with its position (``refuse``).  Our own
    rules only (redact.py): this runs in the post-commit hook when the config changes,
    where detect-secrets' import would cost more than the hook itself."""
    from mlflow_gitver import redact

    out = {}
    for key, value in items.items():
        spans = redact.find_secrets(value) if len(value) >= 8 else []
        if not spans and _SECRET_KEY.search(key.rsplit(".", 1)[-1]) and redact.looks_random(value):
            spans = [(0, len(value), "secret-assignment")]  # a random value under a secret name
        if not spans:
            out[key] = value
            continue
        if mode == "refuse":
            raise loader.fail(
                loader.value_nodes.get((section, key)),
                f"{section}.{_short(key)} looks like a {spans[0][2]}; {section} are stored in "
                "MLflow, where everyone with access reads them: remove it (read the secret "
                "from the environment in your application), or set 'secrets: redact'",
            )
        out[key] = redact.apply_spans(value, spans)
    return out


def _position(text: bytes | str, position: int, source: str) -> str:
    """file:line:column of a character position (PyYAML's ReaderError has no mark)."""
    if isinstance(text, bytes):
        head = text[:position].decode("utf-8", "replace")
    else:
        head = text[:position]
    line = head.count("\n") + 1
    return f"{source}:{line}:{len(head) - (head.rfind(chr(10)) + 1) + 1}"


def _hooks(loader: _Loader, node: yaml.Node, values: dict[str, Any]) -> None:
    out: dict[str, bool] = {}
    for hook, knode, hnode in loader.mapping(node, "hooks"):
        if hook not in _HOOK_KEYS:
            raise loader.fail(knode, f"unknown hook {hook!r}; {_suggest(hook, _HOOK_KEYS)}")
        opts = _HOOK_OPTION_KEYS[hook]
        for opt, onode, vnode in loader.mapping(hnode, f"hooks.{hook}"):
            if opt not in opts:
                raise loader.fail(
                    onode, f"unknown option hooks.{hook}.{opt}; {_suggest(opt, opts)}"
                )
            out[f"{hook}_{opt}"] = loader.typed(vnode, f"hooks.{hook}.{opt}", bool)
    values["hooks"] = out


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
