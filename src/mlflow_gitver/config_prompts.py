"""``prompts:``, the prompts a version pins: each entry read into a :class:`PromptRef`.

A part of config.py's table (the ``prompts`` row).  An entry names a registry
prompt by alias or version (``uri: prompts:/support@production``, or the URI
alone as a string) or a prompt kept in the repository (``name:`` and ``file:``).
What an entry pins is decided at registration (pins.py); here only its form is
checked, with file:line errors.  The hooks import config.py, so this module
imports nothing at run time.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    import yaml

    from mlflow_gitver.yamlnodes import Reader

# The param a pin is stored in: `prompt.<name>` = the prompt version's number.
PARAM_PREFIX = "prompt."
# prompts:/<name>/<version> or prompts:/<name>@<alias>, as MLflow's load_prompt reads them.
_URI = re.compile(r"prompts:/(?P<name>[^/@]+)(?:/(?P<version>[0-9]+)|@(?P<alias>[^/@]+))")
# MLflow's own rule for prompt names (mlflow/prompt/registry_utils.py: validate_prompt_name),
# with the dots Unity Catalog's three-level names need.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_ENTRY_KEYS = ("uri", "name", "file")
USAGE = (
    "write '- uri: prompts:/NAME@ALIAS' (or prompts:/NAME/VERSION), or "
    "'- name: NAME' with 'file: PATH' for a prompt kept in the repository"
)


class PromptRef:
    """One entry of ``prompts:``: a registry prompt (``alias`` or ``version``) or a
    file (``file``, a path from the repository root).  ``where`` (file:line) is for
    messages and is left out of equality: moving a line changes no version."""

    __slots__ = ("alias", "file", "name", "version", "where")

    def __init__(
        self,
        name: str,
        *,
        alias: str | None = None,
        version: int | None = None,
        file: str | None = None,
        where: str = "",
    ) -> None:
        self.name, self.alias, self.version, self.file = name, alias, version, file
        self.where = where

    @property
    def param(self) -> str:
        return PARAM_PREFIX + self.name

    @property
    def source(self) -> str:
        """How the entry names its version, for messages: ``alias production``."""
        if self.file is not None:
            return f"file {self.file}"
        if self.alias is not None:
            return f"alias {self.alias}"
        return f"version {self.version}"

    def _key(self) -> tuple[str, str | None, int | None, str | None]:
        return (self.name, self.alias, self.version, self.file)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptRef) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:  # part of Config.fingerprint: no `where`
        return f"PromptRef{self._key()!r}"


def read(r: Reader, node: yaml.Node, what: str) -> tuple[PromptRef, ...]:
    from mlflow_gitver import config_readers as text
    from mlflow_gitver.yamlnodes import where

    out: list[PromptRef] = []
    seen: dict[str, yaml.Node] = {}
    for i, item in enumerate(r.sequence(node, what)):
        at = f"{what}[{i}]"
        got: dict[str, tuple[str, yaml.Node]] = {}
        if r.scalar_or_none(item) is not None:
            got["uri"] = (text.text(r, item, at), item)
        else:
            for key, knode, vnode in r.mapping(item, at):
                if key not in _ENTRY_KEYS:
                    raise r.fail(knode, f"{at}: unknown key {key!r}; {USAGE}")
                got[key] = (text.text(r, vnode, f"{at}.{key}"), vnode)
        ref = _entry(r, item, at, got, where(r.source, item))
        if ref.name in seen:
            problem = f"{at}: prompt {ref.name!r} is pinned twice"
            raise r.twice(item, seen[ref.name], problem, "keep one entry")
        seen[ref.name] = item
        out.append(ref)
    return tuple(out)


def _entry(
    r: Reader, item: yaml.Node, at: str, got: dict[str, tuple[str, yaml.Node]], here: str
) -> PromptRef:
    if "uri" in got:
        if "file" in got:
            raise r.fail(item, f"{at}: give 'uri' or 'file', not both; {USAGE}")
        uri, unode = got["uri"]
        m = _URI.fullmatch(uri)
        if m is None:
            raise r.fail(unode, f"{at}: {uri!r} is not a prompt URI; {USAGE}")
        name = m["name"]
        if "name" in got and got["name"][0] != name:
            raise r.fail(
                got["name"][1], f"{at}: name {got['name'][0]!r} is not the URI's prompt {name!r}"
            )
        _check_name(r, unode, at, name)
        version = int(m["version"]) if m["version"] is not None else None
        if version == 0:
            raise r.fail(unode, f"{at}: prompt versions start at 1")
        return PromptRef(name, alias=m["alias"], version=version, where=here)
    if "file" not in got or "name" not in got:
        raise r.fail(item, f"{at}: {USAGE}")
    name, nnode = got["name"]
    _check_name(r, nnode, at, name)
    path, pnode = got["file"]
    problem = _path_problem(path)
    if problem:
        raise r.fail(pnode, f"{at}.file: {problem}")
    # git reads REV:PATH only in its canonical spelling (no '.' or empty segments),
    # the working tree in any: one spelling, so a clean and a dirty state agree.
    canonical = "/".join(p for p in path.split("/") if p not in ("", "."))
    if not canonical:
        raise r.fail(pnode, f"{at}.file: {path!r} is a directory; name the prompt's file")
    return PromptRef(name, file=canonical, where=here)


def _check_name(r: Reader, node: yaml.Node, at: str, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise r.fail(
            node,
            f"{at}: prompt name {name!r} may hold only letters, digits, '-', '_' and '.'",
        )


def _path_problem(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return f"{path!r} must be a path inside the repository, from its root"
    if ".." in parts:
        return f"{path!r} leaves the repository ('..'); give a path from its root"
    if path.endswith("/"):
        return f"{path!r} is a directory; name the prompt's file"
    return ""


def check(
    r: Reader, refs: tuple[PromptRef, ...], node: yaml.Node, values: Mapping[str, Any]
) -> tuple[PromptRef, ...]:
    """A pin's param must not be one the config sets itself."""
    params = values.get("params") or {}
    for ref in refs:
        if ref.param in params:
            raise r.fail(
                node,
                f"params sets {ref.param!r}, the param that records the pin of prompt "
                f"{ref.name!r} ({ref.where}); rename the param",
            )
    return refs
