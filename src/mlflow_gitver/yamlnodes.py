"""The config's YAML reader: values with their file:line:column, and ``${VAR}`` interpolation.

PyYAML's composed nodes keep where each value is, so every error here is one line
that names the place and the fix.  What the keys mean is config.py's business;
this module knows mappings, scalars, flattening, environment references and the
credentials that must not reach MLflow.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from mlflow_gitver import redact
from mlflow_gitver.config import MAX_KEY_LEN, ConfigError

# ${VAR}, ${VAR:-default}, $$; group 4 is a malformed "${..." to report.
_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|(\{[^}]*\}?))")


def where(source: str, node: yaml.Node | None) -> str:
    """``file:line:column`` of a node (1-based), or the file alone."""
    if node is None:
        return source
    m = node.start_mark
    return f"{source}:{m.line + 1}:{m.column + 1}"


def position(text: bytes | str, pos: int, source: str) -> str:
    """file:line:column of a character position (PyYAML's ReaderError has no mark)."""
    head = text[:pos].decode("utf-8", "replace") if isinstance(text, bytes) else text[:pos]
    line = head.count("\n") + 1
    return f"{source}:{line}:{len(head) - (head.rfind(chr(10)) + 1) + 1}"


def compose(text: bytes | str, source: str) -> yaml.Node | None:
    """The root node of a YAML text (None: empty); a syntax error is a ConfigError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as e:  # bad encoding or a control character
        raise ConfigError(
            f"{position(text, e.position, source)}: unreadable character ({e.reason}); save "
            "the file as UTF-8 text without control characters"
        ) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = e.problem or e.context or "invalid YAML"
        if e.context and e.problem and e.problem.startswith("but "):
            problem = f"{e.context}, {e.problem}"  # "expected X, but found Y"
        raise ConfigError(f"{at}: YAML syntax error: {problem}; fix the syntax") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: YAML error: {e}; fix the syntax") from e


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Reader:
    """Reads nodes of one file into Python values; errors name their position."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self._constructor = yaml.SafeLoader("")
        # (section, flattened key) -> the value's node: where a credential in it is reported.
        self.value_nodes: dict[tuple[str, str], yaml.Node] = {}

    def fail(self, node: yaml.Node | None, msg: str) -> ConfigError:
        return ConfigError(f"{where(self.source, node)}: {msg}")

    def twice(self, node: yaml.Node, first: yaml.Node, problem: str, fix: str = "") -> ConfigError:
        """The error for ``node`` repeating ``first``: "<problem> (first at line N)[; fix]"."""
        line = first.start_mark.line + 1
        return self.fail(node, f"{problem} (first at line {line})" + (f"; {fix}" if fix else ""))

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
                raise self.twice(knode, seen[key], f"duplicate key {key!r} in {what}")
            seen[key] = knode
            items.append((key, knode, vnode))
        return items

    def sequence(self, node: yaml.Node, what: str, *, one_ok: bool = False) -> list[yaml.Node]:
        """The items of a list node; with ``one_ok`` a lone scalar is a list of one."""
        if one_ok and isinstance(node, yaml.ScalarNode) and self.scalar(node) is not None:
            return [node]
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:  # an unknown tag such as !foo
            problem = (e.problem or "cannot read this value").split(" in ")[0]
            raise self.fail(node, f"{problem}; remove the tag or quote the value") from e
        except (ValueError, TypeError, OverflowError) as e:  # a tag that does not fit: !!int x
            raise self.fail(node, f"{e}; remove the tag or quote the value") from e

    def scalar_or_none(self, node: yaml.Node) -> Any:
        """The value of a scalar node; None for a mapping or a sequence."""
        return self.scalar(node) if isinstance(node, yaml.ScalarNode) else None

    def plain(self, node: yaml.Node, what: str, depth: int = 0) -> Any:
        """A Python value for a node, for params/tags; lists become JSON later."""
        if depth > 50:  # an alias that contains itself (&a [*a]) would never end
            raise self.fail(node, f"{what} is nested too deeply (a recursive alias?)")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(n, what, depth + 1) for n in node.value]
        return {k: self.plain(v, what, depth + 1) for k, _kn, v in self.mapping(node, what)}

    def typed(self, node: yaml.Node, what: str, kind: type | tuple[type, ...]) -> Any:
        value = self.scalar_or_none(node)
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if not isinstance(node, yaml.ScalarNode) or not ok:
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            names = names.replace("str", "a string").replace("bool", "true or false")
            names = names.replace("int", "a number")
            raise self.fail(node, f"{what} must be {names}")
        return value

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
            if not secret_ok and re.search(redact.SECRET_VAR_NAME, var, re.IGNORECASE):
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
                what = f"{section}.{short(full)}"
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
                    problem = f"{what} is defined twice after flattening nested keys"
                    raise self.twice(knode, origin[full], problem, "keep one of them")
                origin[full] = knode
                raw = self.plain(vnode, what)
                if raw is None:
                    raise self.fail(vnode, f"{what} is null; give it a value, or remove the key")
                if isinstance(raw, list):
                    self._reject_nulls(raw, vnode, what)
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

    def _reject_nulls(self, value: Any, node: yaml.Node, what: str) -> None:
        for v in value.values() if isinstance(value, dict) else value:
            if v is None:
                raise self.fail(node, f"{what} contains a null; give it a value")
            if isinstance(v, (list, dict)):
                self._reject_nulls(v, node, what)

    # --- credentials -----------------------------------------------------------
    def without_secrets(self, section: str, items: dict[str, str], mode: str) -> dict[str, str]:
        """Params and tags are stored in MLflow: a credential in a value is replaced by a
        marker (``secrets: redact``) or refused with its position (``refuse``).  Our own
        rules only (redact.py): this runs in the post-commit hook when the config changes,
        where detect-secrets' import would cost more than the hook itself."""
        out = {}
        for key, value in items.items():
            spans = redact.find_secrets(value) if len(value) >= 8 else []
            name = key.rsplit(".", 1)[-1]
            if not spans and redact.secret_name(name) and redact.looks_random(value):
                spans = [(0, len(value), "secret-assignment")]  # a random value, a secret name
            if not spans:
                out[key] = value
                continue
            if mode == "refuse":
                raise self.fail(
                    self.value_nodes.get((section, key)),
                    f"{section}.{short(key)} looks like a {spans[0][2]}; {section} are stored "
                    "in MLflow, where everyone with access reads them: remove it (read the "
                    "secret from the environment in your application), or set 'secrets: redact'",
                )
            out[key] = redact.apply_spans(value, spans)
        return out
