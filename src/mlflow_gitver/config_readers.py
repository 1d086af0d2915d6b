"""The readers of config values, one per kind: text, URI, literal, boolean, one of, flat map,
pathspecs.

A reader is ``(reader, node, what) -> value``: it checks the node's type, resolves
``${VAR}`` where the kind allows it, and raises ``reader.fail(node, "...")`` (the
error names file:line:column).  The table that uses them is ``config.Config``;
checks that need other keys stay with the table.  The hooks import config.py,
so this module imports nothing at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable

    import yaml

    from mlflow_gitver.yamlnodes import Reader


def text(r: Reader, node: yaml.Node, what: str) -> str:
    # Stored in MLflow, so secret-looking variables are refused.
    return r.interpolate(r.typed(node, what, str), node, what, secret_ok=False)


def text_or_number(r: Reader, node: yaml.Node, what: str) -> str:
    raw = r.typed(node, what, (str, int))
    return r.interpolate(str(raw), node, what, secret_ok=False)


def uri(r: Reader, node: yaml.Node, what: str) -> str:
    # A URI may carry a password from the environment: allowed here, and redacted
    # wherever it is shown.
    return r.interpolate(r.typed(node, what, str), node, what, secret_ok=True)


def literal(r: Reader, node: yaml.Node, what: str) -> str:
    return r.typed(node, what, str)


def boolean(r: Reader, node: yaml.Node, what: str) -> bool:
    return r.typed(node, what, bool)


def one_of(*modes: str, false: str = "") -> Callable[[Reader, yaml.Node, str], str]:
    def read(r: Reader, node: yaml.Node, what: str) -> str:
        # YAML 1.1 reads a bare `off` as false: that is what `secrets: off` means.
        mode = false if false and r.scalar_or_none(node) is False else r.typed(node, what, str)
        if mode not in modes:
            raise r.fail(node, f"{what} must be one of {', '.join(modes)}")
        return mode

    return read


def flat(max_len: int) -> Callable[[Reader, yaml.Node, str], dict[str, str]]:
    def read(r: Reader, node: yaml.Node, what: str) -> dict[str, str]:
        return r.flat(node, what, max_len)

    return read


def pathspecs(r: Reader, node: yaml.Node, what: str) -> tuple[str, ...]:
    """Git pathspecs from the repository root (a list; one string is a list of one),
    in the order written: the order is part of a scoped version's id."""
    from mlflow_gitver.identity import pathspec_problem

    specs: list[str] = []
    for item in r.sequence(node, what, one_ok=True):
        spec = r.typed(item, f"each entry of {what}", str)
        problem = pathspec_problem(spec)
        if problem is not None:
            raise r.fail(item, f"{what}: {problem}")
        if spec in specs:
            raise r.fail(item, f"{what}: {spec!r} is listed twice; remove one")
        specs.append(spec)
    if not specs:
        raise r.fail(
            node,
            f"{what} is empty; list the app's paths, or remove the key "
            "to version the whole repository",
        )
    return tuple(specs)
