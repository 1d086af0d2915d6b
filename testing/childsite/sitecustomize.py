"""Tests only: a Python child process of the tests cannot reach a non-loopback address.

``testing.network.guard_children`` puts this directory (and nothing else: a module
here would shadow the standard library's in every child) first on PYTHONPATH and
names a log file in ``MLFLOW_GITVER_TEST_NO_NETWORK``; site.py imports
``sitecustomize`` at every interpreter start, so our CLI run as a subprocess, a
detached flush and our hooks run by git or pre-commit all load this.

A blocked attempt is written to the log (the test's fixture fails on it, whatever
the child did with the error), told on stderr, and raised as a refused connection,
so the child fails as with the network down, at once, never after a timeout.
Installers need the package index and are exempt: pip (and its build subprocesses),
pre-commit, virtualenv (and its seed-wheel update), uv.  npm is not Python and never loads this.

Nothing is imported until the program imports ``socket`` (it is patched then): the
import-budget tests count the modules of a child, and most children open no socket.
"""

from __future__ import annotations

import os
import sys

# Not typing.TYPE_CHECKING: typing is one of the modules the import budgets count.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from typing import Any

VAR = "MLFLOW_GITVER_TEST_NO_NETWORK"
_EXEMPT_MODULES = ("pip", "pre_commit", "virtualenv", "uv", "ensurepip", "venv")
_EXEMPT_SCRIPTS = ("pip", "pre-commit", "virtualenv", "uv", "uvx")


def is_loopback(host: object) -> bool:
    """Whether ``host`` (an address or a name, as given to connect or getaddrinfo) is
    this machine; None and "" are a passive (bind) lookup."""
    if host is None or host in ("", b""):
        return True
    h = host.decode() if isinstance(host, bytes) else str(host)
    h = h.lower().removeprefix("::ffff:")
    return h.startswith("127.") or h in ("::1", "0:0:0:0:0:0:0:1", "localhost", "ip6-localhost")


def exempt(argv: Sequence[str]) -> bool:
    """Whether the interpreter command line ``argv`` (sys.orig_argv) runs an installer."""
    args = iter(argv[1:])
    for a in args:
        if a == "-m" or (a.startswith("-m") and len(a) > 2):
            module = a[2:] or next(args, "")
            return module.split(".")[0] in _EXEMPT_MODULES
        if a.startswith("-c"):
            # virtualenv checks for newer seed wheels (on pypi.org) from a ``-c`` child.
            code = a[2:] or next(args, "")
            return any(f"{w} {m}" in code for w in ("from", "import") for m in _EXEMPT_MODULES)
        if a in ("-X", "-W", "--check-hash-based-pycs"):
            next(args, None)
        elif not a.startswith("-"):
            name = a.rsplit("/", 1)[-1]
            # pip runs its build-dependency installs as ``python .../pip/__pip-runner__.py``.
            return name in _EXEMPT_SCRIPTS or name.startswith("pip3") or "/pip/" in a
    return False


def _blocked(what: str, address: object) -> str:
    log = os.environ.get(VAR, "")
    line = f"pid {os.getpid()} {' '.join(sys.orig_argv)!r}: {what} {address!r}"
    if log not in ("", "1"):
        with open(log, "a") as f:
            f.write(line + "\n")
    text = f"test network guard (testing/childsite/sitecustomize.py) blocked {what} {address!r}"
    print(text, file=sys.stderr)
    return text


def patch(socket: Any) -> None:
    """Refuse, in this process, connections and name lookups beyond the loopback interface."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: object, address: object) -> None:
        if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not is_loopback(host):
                import errno

                raise ConnectionRefusedError(
                    errno.ECONNREFUSED, _blocked("a connection to", address)
                )

    def connect(self: object, address: object) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: object, address: object) -> int:
        check(self, address)
        return int(real_connect_ex(self, address))

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if not is_loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, _blocked("a name lookup of", host))
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo


class _PatchOnImport:
    """A meta path finder that patches ``socket`` right after its first import."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "socket":
            return None
        sys.meta_path.remove(self)
        # The standard PathFinder is already there: asking it imports nothing new.
        finder = next(f for f in sys.meta_path if getattr(f, "__name__", "") == "PathFinder")
        spec = finder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            real_exec(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    if not os.environ.get(VAR) or exempt(sys.orig_argv):
        return
    if "socket" in sys.modules:  # imported before us (coverage's .pth start-up does)
        patch(sys.modules["socket"])
    else:
        sys.meta_path.insert(0, _PatchOnImport())


install()
