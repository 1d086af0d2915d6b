"""Benchmark: ``mlflow-gitver id`` against ``git status --porcelain -uall``.

Run as ``.venv/bin/python bench/bench_id.py [--quick] [--runs N] [--no-stretch]``.

It builds (once, cached under ``bench/.work/``) a repository of 50,000 committed
files, then makes 200 of them modified and adds 100 untracked files, and times
whole processes, alternating so that both see the same machine load:

- ``git status --porcelain -uall`` (the baseline);
- ``mlflow-gitver id`` (the installed console script, next to this Python);
- a reconstruction of the usual hand-written snippet (``git rev-parse HEAD``,
  ``git diff HEAD``, ``git ls-files --others --exclude-standard``, read the
  untracked files, hash everything).  It is labelled a reconstruction: it follows
  the git calls such snippets make, not a verbatim copy of any document.

Scoped (issue 13): ``id --app`` of a config with ``apps:`` (kept outside the
repository, so it changes nothing there), against the same ``git status``: an app
of two directories (200 files, 0.4% of the tree, with some of the modified ones)
and an app of everything but one directory, written with an exclude.

Stretch: the same tree plus a 500 MB untracked file, measuring repeat runs of
``id`` (the stat cache serves the big file) against ``git status``.

Only ratios of medians taken in the same run are meaningful; absolute times
depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
BIN = Path(sys.executable).parent
GITVER = shutil.which("mlflow-gitver", path=str(BIN)) or shutil.which("mlflow-gitver")

# What the snippet does, as a standalone process.  A reconstruction, see above.
SNIPPET = r"""
import hashlib, subprocess
def git(*a):
    return subprocess.run(["git", *a], check=True, capture_output=True).stdout
commit = git("rev-parse", "HEAD").decode().strip()
diff = git("diff", "HEAD")
h = hashlib.sha256(diff)
untracked = [p for p in git("ls-files", "--others", "--exclude-standard", "-z").split(b"\0") if p]
for p in sorted(untracked):
    h.update(p)
    with open(p, "rb") as f:
        h.update(f.read())
print(commit[:32] + "-dirty-" + h.hexdigest()[:8] if diff or untracked else commit)
"""


SCOPED_CONFIG = """\
apps:
  - name: small
    paths: [pkg0000, pkg0001]
  - name: most
    paths: [".", ":!pkg0001"]
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # Like a normal install, Python may cache compiled modules (the warm-up run
    # writes them); a PYTHONDONTWRITEBYTECODE=1 environment would otherwise make
    # every run recompile the package, ~10 ms a module.  Kept under .work/.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE[0])
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_AUTHOR_DATE="2024-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2024-01-01T00:00:00Z",
    )
    return env


_PYCACHE = [WORK / "pycache"]


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, env=_env(), check=True, capture_output=True)
    return out.stdout.decode()


def _content(i: int, version: int = 0) -> bytes:
    # ~1 KB of text per file, like source code.
    line = f"def f_{i}_{version}(x):  # line of file {i}\n    return x * {i} + {version}\n"
    return (line * 14).encode()


def build(work: Path, n_files: int, n_modified: int, n_untracked: int) -> Path:
    """The committed repository (built once), then made dirty the same way every time."""
    root = work / f"repo-{n_files}"
    done = root / ".git" / "bench-built"
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        print(f"building {root} ({n_files} files), once...", file=sys.stderr)
        _git(root, "init", "-q", "-b", "main")
        for i in range(n_files):
            d = root / f"pkg{i // 100:04d}"
            if i % 100 == 0:
                d.mkdir()
            (d / f"mod_{i:05d}.py").write_bytes(_content(i))
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "bench")
        done.write_text("ok\n")
    # The dirty state: restore it deterministically (same content every run).
    step = max(1, n_files // n_modified)
    for k in range(n_modified):
        i = k * step
        (root / f"pkg{i // 100:04d}" / f"mod_{i:05d}.py").write_bytes(_content(i, 1))
    new = root / "new"
    if new.exists():
        shutil.rmtree(new)
    new.mkdir()
    for k in range(n_untracked):
        (new / f"untracked_{k:03d}.py").write_bytes(_content(10_000_000 + k))
    big = root / "big.bin"
    if big.exists():
        big.unlink()
    return root


def big_file(work: Path, size_mb: int) -> Path:
    """A file of random bytes outside the repo, hard-linked in for the stretch run."""
    path = work / f"big-{size_mb}M.bin"
    if not path.exists() or path.stat().st_size != size_mb << 20:
        print(f"writing {path}, once...", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        tmp.replace(path)
    return path


def timed(cmd: Sequence[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process, its children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=_env(), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


Times = dict[str, list[tuple[float, float]]]


def alternate(commands: dict[str, Sequence[str]], cwd: Path, runs: int) -> Times:
    """Run each command once as warm-up, then ``runs`` rounds in alternation."""
    times: Times = {k: [] for k in commands}
    for cmd in commands.values():
        timed(cmd, cwd)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, cwd))
    return times


def report(title: str, times: Times, baseline: str, show: Callable[..., None]) -> None:
    """Medians and ratios to the baseline: wall time (the target), and CPU time,
    which a busy machine disturbs less."""
    base_wall = statistics.median(t[0] for t in times[baseline])
    base_cpu = statistics.median(t[1] for t in times[baseline])
    show(f"\n{title}")
    for name, ts in times.items():
        wall = statistics.median(t[0] for t in ts)
        cpu = statistics.median(t[1] for t in ts)
        show(
            f"  {name:<38} wall {wall * 1000:7.1f} ms {wall / base_wall:5.2f}x"
            f"   cpu {cpu * 1000:7.1f} ms {cpu / base_cpu:5.2f}x"
        )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a small repo, few runs (smoke test)")
    p.add_argument("--runs", type=int, default=None, help="alternating rounds (default 11)")
    p.add_argument("--no-stretch", action="store_true", help="skip the 500 MB file scenario")
    p.add_argument("--work", type=Path, default=WORK, help="where repos are built and cached")
    args = p.parse_args(argv)
    if GITVER is None:
        print("mlflow-gitver is not installed next to this Python", file=sys.stderr)
        return 2
    if args.quick:
        n_files, n_mod, n_untracked, runs, big_mb = 2_000, 20, 10, args.runs or 3, 8
    else:
        n_files, n_mod, n_untracked, runs, big_mb = 50_000, 200, 100, args.runs or 11, 500
    _PYCACHE[0] = args.work / "pycache"
    root = build(args.work, n_files, n_mod, n_untracked)

    commands: dict[str, Sequence[str]] = {
        "git status --porcelain -uall": ["git", "status", "--porcelain", "-uall"],
        "mlflow-gitver id": [GITVER, "id"],
        "docs-style snippet (reconstruction)": [sys.executable, "-c", SNIPPET],
    }
    ids = {
        subprocess.run(
            [GITVER, "id"], cwd=root, env=_env(), capture_output=True, text=True
        ).stdout.strip()
    }
    print(
        f"repo: {n_files} files, {n_mod} modified, {n_untracked} untracked; "
        f"{runs} alternating runs; load average {os.getloadavg()[0]:.1f}; id {ids.pop()}"
    )
    times = alternate(commands, root, runs)
    report("dirty tree", times, "git status --porcelain -uall", print)

    config = args.work / "scoped.yaml"
    config.write_text(SCOPED_CONFIG)
    scoped: dict[str, Sequence[str]] = {
        "git status --porcelain -uall": commands["git status --porcelain -uall"],
        "mlflow-gitver id --app small (0.4%)": [
            GITVER,
            "id",
            "--config",
            str(config),
            "--app",
            "small",
        ],
        "mlflow-gitver id --app most (exclude)": [
            GITVER,
            "id",
            "--config",
            str(config),
            "--app",
            "most",
        ],
    }
    times = alternate(scoped, root, runs)
    report("scoped apps, dirty tree", times, "git status --porcelain -uall", print)

    if not args.no_stretch:
        link = root / "big.bin"
        os.link(big_file(args.work, big_mb), link)
        try:
            stretch = {k: v for k, v in commands.items() if "snippet" not in k}
            # alternate()'s warm-up run hashes the big file once; the timed runs are repeats.
            times = alternate(stretch, root, runs)
            report(
                f"repeat runs with a {big_mb} MB untracked file",
                times,
                "git status --porcelain -uall",
                print,
            )
        finally:
            link.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
