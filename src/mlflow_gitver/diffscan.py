"""The stored patch without credentials: `git diff` redacted line by line, structure kept.

Each text line (added, removed, unchanged, hunk header) goes through the scanner
(secretscan.find_line) with its file's name; line counts stay, so the patch still
applies where only added lines changed, and each redaction names its file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlflow_gitver import redact
from mlflow_gitver.secretscan import find_line


@dataclass(frozen=True)
class Redaction:
    """One line of the stored patch whose credential was replaced by a marker."""

    path: str
    line: int  # 1-based, in the working-tree file ("new") or in HEAD's ("old")
    side: str  # "new": an added or unchanged line; "old": a removed line
    kind: str

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "side": self.side, "kind": self.kind}


@dataclass(frozen=True)
class RedactedDiff:
    data: bytes
    redactions: tuple[Redaction, ...]
    # Files whose unchanged or removed lines were redacted: their hunks no longer
    # match HEAD, so `git apply` must skip them.  A file with only added lines
    # redacted still applies (with markers where the secrets were).
    unappliable: tuple[str, ...]
    binary: tuple[str, ...]  # files stored as git binary patches: scanned by content


_ZERO_IDS = re.compile(rb"(?<=index )[0-9a-f]+|(?<=\.\.)[0-9a-f]+")
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _unquote(path: bytes) -> bytes:
    """A path as `git diff` writes it: C-quoted when it has special characters."""
    if not path.startswith(b'"'):
        return path
    out = bytearray()
    i, body = 0, path[1:-1]
    escapes = {ord("n"): 10, ord("t"): 9, ord('"'): 34, ord("\\"): 92, ord("a"): 7}
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            if 48 <= nxt <= 55:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _diff_path(header: bytes) -> str:
    """The (new) path of a ``diff --git a/P b/P`` line (no renames: both are P)."""
    rest = header[len(b"diff --git ") :]
    if rest.endswith(b'"'):
        second = rest[rest.index(b'" "') + 2 :] if b'" "' in rest else rest
        raw = _unquote(second)
        raw = raw[2:] if raw.startswith(b"b/") else raw
    else:  # "a/P b/P": P is the second half, after " b/"
        raw = rest[(len(rest) - 5) // 2 + 5 :]
    return raw.decode("utf-8", "surrogateescape")


class _Walker:
    """Redacts a `git diff` text line by line, keeping its structure (line counts)."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.redactions: list[Redaction] = []
        self.unappliable: dict[str, None] = {}
        self.binary: dict[str, None] = {}
        self.path = ""
        self.old_no = self.new_no = self.old_left = self.new_left = 0
        self.pem_old = self.pem_new = False
        self.index_at: dict[str, int] = {}  # path -> where its "index <old>..<new>" line is

    def line(self, raw: bytes) -> None:
        if self.old_left > 0 or self.new_left > 0:
            tag = raw[:1]
            if tag in (b" ", b"-", b"+"):
                self.out.append(tag + self._body(tag, raw[1:]))
                return
            if tag != b"\\":  # "\ No newline at end of file" stays; anything else ends it
                self.old_left = self.new_left = 0
        if raw.startswith(b"diff --git "):
            self.path = _diff_path(raw)
            self.pem_old = self.pem_new = False
        elif raw.startswith(b"index ") and self.path not in self.index_at:
            self.index_at[self.path] = len(self.out)
        elif raw.startswith(b"@@ "):
            raw = self._hunk_header(raw)
        elif raw == b"GIT binary patch":
            self.binary[self.path] = None
        self.out.append(raw)

    def _hunk_header(self, raw: bytes) -> bytes:
        m = _HUNK.match(raw)
        if m is None:
            return raw
        self.old_no, self.new_no = int(m.group(1)), int(m.group(3))
        self.old_left = 1 if m.group(2) is None else int(m.group(2))
        self.new_left = 1 if m.group(4) is None else int(m.group(4))
        self.pem_old = self.pem_new = False
        # git shows the enclosing function's line after the second "@@": file content too.
        head, tail = raw[: m.end()], raw[m.end() :]
        text = tail.decode("utf-8", "surrogateescape")
        spans, _open = find_line(text, self.path)
        if not spans:
            return raw
        for _a, _b, kind in spans:
            self.redactions.append(Redaction(self.path, self.new_no, "new", kind))
        return head + redact.apply_spans(text, spans).encode("utf-8", "surrogateescape")

    def _body(self, tag: bytes, body: bytes) -> bytes:
        old, new = tag in (b" ", b"-"), tag in (b" ", b"+")
        line_no = self.new_no if new else self.old_no
        in_block = (old and self.pem_old) or (new and self.pem_new)
        text = body.decode("utf-8", "surrogateescape")
        spans, still_open = find_line(text, self.path, in_block=in_block)
        if old:
            self.pem_old, self.old_no, self.old_left = (
                still_open,
                self.old_no + 1,
                self.old_left - 1,
            )
        if new:
            self.pem_new, self.new_no, self.new_left = (
                still_open,
                self.new_no + 1,
                self.new_left - 1,
            )
        if not spans:
            return body
        side = "new" if new else "old"
        for kind in dict.fromkeys(k for _a, _b, k in spans):
            self.redactions.append(Redaction(self.path, line_no, side, kind))
        if tag != b"+":
            self.unappliable[self.path] = None
        return redact.apply_spans(text, spans).encode("utf-8", "surrogateescape")


def redact_diff(data: bytes) -> RedactedDiff:
    """``data`` (`git diff --binary` output) with every credential in its text lines
    (added, removed, unchanged, hunk headers) replaced by a marker.  Binary patches
    are left as they are and listed: their content is scanned by the caller."""
    w = _Walker()
    for raw in data.split(b"\n"):
        w.line(raw)
    # The "index" line holds the blob ids of the true contents: hashes of the secret
    # (brute-forced in no time for a short file).  Zeros: `git apply` does not need them.
    for path in dict.fromkeys(r.path for r in w.redactions):
        if path in w.index_at:
            i = w.index_at[path]
            w.out[i] = _ZERO_IDS.sub(lambda m: b"0" * len(m.group(0)), w.out[i])
    return RedactedDiff(
        b"\n".join(w.out), tuple(w.redactions), tuple(w.unappliable), tuple(w.binary)
    )
