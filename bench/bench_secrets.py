"""False positives and cost of the credential scanner on a repository's own history.

Run as ``.venv/bin/python bench/bench_secrets.py [REPO] [--rev REV] [--show]``.

It scans every line of ``git log -p REV`` (added, removed and unchanged lines: all
that a patch would store) with the scanner that redacts dirty versions'
patches (secretscan.find_line, one file's extension at a time), and prints how
many lines it would redact, of which kinds, and how long it took.  On an ordinary
repository every flagged line is a false positive, unless its history really holds
a credential; ``--show`` prints them (the matched text cut to 12 characters).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import time
from pathlib import Path

from mlflow_gitver import secretscan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", nargs="?", default=".", type=Path)
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--show", action="store_true", help="print the flagged lines")
    args = ap.parse_args()
    log = subprocess.run(
        ["git", "-C", str(args.repo), "log", "-p", "--no-color", "--no-ext-diff", args.rev],
        check=True,
        capture_output=True,
    ).stdout
    commits = lines = 0
    path = ""
    flagged: list[tuple[str, list[tuple[str, str]]]] = []
    t0 = time.perf_counter()
    for raw in log.split(b"\n"):
        if raw.startswith(b"commit "):
            commits += 1
        elif raw.startswith(b"+++ "):
            path = raw[6:].decode("utf-8", "replace")
        elif raw[:1] in (b"+", b"-", b" ") and not raw.startswith(b"--- "):
            text = raw[1:].decode("utf-8", "surrogateescape")
            lines += 1
            spans, _open = secretscan.find_line(text, path)
            if spans:
                flagged.append((path, [(k, text[a:b][:12]) for a, b, k in spans]))
    took = time.perf_counter() - t0
    kinds = collections.Counter(k for _p, found in flagged for k, _t in found)
    rate = len(flagged) / lines if lines else 0.0
    print(f"{commits} commits, {lines} lines scanned in {took:.1f} s")
    print(f"{len(flagged)} lines flagged ({rate:.3%}): {dict(kinds)}")
    if args.show:
        for p, found in flagged:
            print(f"  {p}: {found}")


if __name__ == "__main__":
    main()
