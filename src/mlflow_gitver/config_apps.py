"""``apps:``, the entries of a monorepo config: each read by the rows of
:data:`APP_KEYS` and made into its own Config, inheriting the top-level keys.

A part of config.py's table (the ``apps`` row), apart because it is the one row
that builds Configs.  It uses config.py's names at call time: config.py imports
this module, so this one must not import config.py at import time.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    import yaml

    from mlflow_gitver.config import Config
    from mlflow_gitver.yamlnodes import Reader

# What an entry of `apps:` may set; every other key is the repository's, set once
# at the top level.  Top-level values are the defaults each app inherits (params
# and tags are merged, the app's entries winning).
APP_KEYS = (
    "name",
    "paths",
    "experiment",
    "model_type",
    "params",
    "tags",
    "name_template",
    "prompts",  # an app's list replaces the top-level one
)


def variable_suffix(app: str) -> str:
    """The part of a CI variable that names an app: ``support-agent`` -> ``SUPPORT_AGENT``."""
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in app.upper())


def read(r: Reader, node: yaml.Node, what: str) -> Any:
    """Each entry of ``apps:`` read by the rows of :data:`APP_KEYS`; its Config is made
    by :func:`check`, once the top-level keys it inherits are read."""
    from mlflow_gitver import config as c

    out = []
    for i, item in enumerate(r.sequence(node, what)):
        where = f"apps[{i}]"
        got: dict[str, Any] = {}
        for key, knode, vnode in r.mapping(item, where):
            if key not in APP_KEYS:
                if key in c.KEYS:
                    raise r.fail(
                        knode,
                        f"{where}: {key!r} is set for the whole repository; "
                        "move it to the top level",
                    )
                raise r.fail(knode, f"{where}: unknown key {key!r}; {c._suggest(key, APP_KEYS)}")
            row = c.KEYS[key]
            got[key] = (row.read(r, vnode, f"{where}.{key}"), vnode, knode)
        if "name" not in got:
            raise r.fail(item, f"{where}: 'name' is missing; give each app a name")
        out.append((item, got))
    if not out:
        raise r.fail(node, "apps is empty; list the apps, or remove the key")
    return out


def check(r: Reader, raw: Any, node: yaml.Node, values: Mapping[str, Any]) -> tuple[Config, ...]:
    from mlflow_gitver import config as c

    for key in ("name", "paths"):
        if key in values:
            raise r.fail(
                node, f"with 'apps', each app sets its own {key}; remove the top-level {key!r}"
            )
    apps: list[Config] = []
    seen: dict[str, yaml.Node] = {}
    for i, (_item, got) in enumerate(raw):
        merged = {k: c._copy(v) for k, v in values.items() if k != "apps"}
        for key, (value, vnode, _knode) in got.items():
            # params and tags are checked as the app's section: errors name its lines.
            row = c.KEYS[key]
            validate = c._stored(f"apps[{i}].{key}") if key in ("params", "tags") else row.check
            if validate is not None:
                value = validate(r, value, vnode, values)
            if isinstance(value, dict):
                value = {**merged.get(key, {}), **value}
            merged[key] = value
        name, name_node = merged["name"], got["name"][1]
        if name in seen:
            problem = f"apps[{i}]: two apps are named {name!r}"
            raise r.twice(name_node, seen[name], problem, "give each app its own name")
        for other in seen:
            if variable_suffix(other) == variable_suffix(name):
                raise r.fail(
                    name_node,
                    f"apps[{i}]: {name!r} and {other!r} would share the CI variable suffix "
                    f"{variable_suffix(name)}; rename one",
                )
        seen[name] = name_node
        apps.append(c.Config(source=r.source, **merged))
    return tuple(apps)
