"""One module per command: a typed ``Args``, ``args_of(namespace)``, ``run(args) -> int``."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    import argparse
    from typing import Any, TypeVar

    T = TypeVar("T")


def from_namespace(cls: type[T], ns: argparse.Namespace, **given: Any) -> T:
    """``cls`` (a dataclass) with each field read from the option of the same name,
    except those ``given``: the one place argparse's names meet a command's."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: getattr(ns, n) for n in names if n not in given}, **given)
