"""The one scanner for credentials in what we store: detect-secrets' plugins plus our rules.

detect-secrets is used as a library: its regex plugins' patterns (never their
``verify``, which would send the secret over the network) and its keyword
patterns, filtered by its heuristics (templates, ``$VAR``, indirect references,
UUIDs, sequences, ids).  Our rules (redact.py) add what it misses: fine-grained
GitHub tokens, new-style OpenAI and Anthropic keys, Hugging Face and Databricks
tokens, AWS secret keys outside quotes, Azure connection strings, whole PEM blocks,
and high-entropy values assigned to names such as ``token``.  Its generic
high-entropy plugins are not used: on ordinary code they flag every hash and
base64 test vector.

Importing detect-secrets costs ~0.2 s (it imports ``requests``), so it is imported
on the first scan only: a clean version, ``id`` and the post-commit hook never
import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mlflow_gitver import redact
from mlflow_gitver.redact import Span, marker, merge

# Lines are scanned in windows of this many characters (overlapping, so a secret
# on a boundary is seen whole): the plugins' patterns are then linear in the length
# of a minified or generated line, whatever its size.
WINDOW = 4096
OVERLAP = 1024
PEM_END = re.compile(redact.PEM_END)
_PEM_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# A line none of the patterns can match: skipped (most lines of ordinary code).
_MAYBE = re.compile(r"[A-Za-z0-9_+/=.-]{16,}|://|(?i:pass|pwd|secret|token|key|auth|cred|sig=|xox)")
_DS_KINDS = {
    "AWS Access Key": "aws-access-key-id",
    "Azure Storage Account access key": "azure-key",
    "Basic Auth Credentials": "password-in-url",
    "GitHub Token": "github-token",
    "GitLab Token": "gitlab-token",
    "JSON Web Token": "jwt",
    "OpenAI Token": "openai-key",
    "Secret Keyword": "secret-assignment",
    "Slack Token": "slack-token",
    "Stripe Access Key": "stripe-key",
}
# detect-secrets' regex plugins, by module and class.  Left out: PrivateKeyDetector
# (its marker-only match is a subset of our whole-block rule, and flags code that
# merely mentions the marker), IPPublicDetector (an address is not a credential),
# the generic high-entropy plugins (see the module doc).
_DS_PLUGINS = (
    ("artifactory", "ArtifactoryDetector"),
    ("aws", "AWSKeyDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("cloudant", "CloudantDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("ibm_cloud_iam", "IbmCloudIamDetector"),
    ("ibm_cos_hmac", "IbmCosHmacDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("softlayer", "SoftlayerDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)


def _slug(secret_type: str) -> str:
    known = _DS_KINDS.get(secret_type)
    return known or re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


@dataclass(frozen=True)
class _Detector:
    kind: str
    regex: re.Pattern[str]
    group: int  # 0: the whole match
    check: Callable[[str, str], bool] | None  # (value, line) -> still a secret?


@lru_cache(maxsize=1)
def _detectors() -> tuple[tuple[_Detector, ...], Any, Any]:
    """detect-secrets' patterns, imported on first use; (detectors, keyword module, filetype)."""
    import importlib

    from detect_secrets.plugins import keyword
    from detect_secrets.util.filetype import determine_file_type

    out: list[_Detector] = []
    for module, cls_name in _DS_PLUGINS:
        cls = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls_name)
        kind = _slug(cls.secret_type)
        check = _CHECKS.get(module)
        for i, rx in enumerate(cls.denylist):
            # AWSKeyDetector's second pattern is the secret access key, by its name.
            k = "aws-secret-access-key" if module == "aws" and i == 1 else kind
            out.append(_Detector(k, rx, 1 if rx.groups else 0, check))
    return tuple(out), keyword, determine_file_type


def _jwt_ok(value: str, _line: str) -> bool:
    from detect_secrets.plugins.jwt import JwtTokenDetector

    return bool(JwtTokenDetector.is_formally_valid(value))


def _url_password_ok(value: str, _line: str) -> bool:
    return redact.url_password(value)


def _random_ok(value: str, _line: str) -> bool:
    return redact.looks_random(value)


def _keyword_ok(value: str, line: str) -> bool:
    """A value assigned to a secret-looking name: a credential unless detect-secrets'
    heuristics or ours say it is a placeholder, a reference, an id or plain words."""
    from detect_secrets.filters import heuristic as h

    return not (
        h.is_templated_secret(value)
        or h.is_prefixed_with_dollar_sign(value)
        or h.is_indirect_reference(line)
        or h.is_likely_id_string(value, line)
        or h.is_potential_uuid(value)
        or h.is_sequential_string(value)
        or not redact.looks_random(value)
    )


# Filters on some plugins' findings.  The IBM, SoftLayer and Cloudant plugins match
# any long value after a name such as "key" or "password": it must look random.
_CHECKS: dict[str, Callable[[str, str], bool]] = {
    "jwt": _jwt_ok,
    "basic_auth": _url_password_ok,
    "ibm_cloud_iam": _random_ok,
    "ibm_cos_hmac": _random_ok,
    "softlayer": _random_ok,
    "cloudant": _random_ok,
}


def _windows(text: str) -> Iterator[tuple[int, str]]:
    if len(text) <= WINDOW:
        yield 0, text
        return
    for start in range(0, len(text), WINDOW - OVERLAP):
        yield start, text[start : start + WINDOW]
        if start + WINDOW >= len(text):
            return


def _ds_spans(text: str, filename: str) -> list[Span]:
    detectors, keyword, filetype = _detectors()
    spans: list[Span] = []
    for d in detectors:
        for m in d.regex.finditer(text):
            start, end = m.span(d.group)
            if start == end or (d.check is not None and not d.check(m.group(d.group), text)):
                continue
            spans.append((start, end, d.kind))
    kw = keyword.REGEX_BY_FILETYPE.get(
        filetype(filename), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
    )
    for rx, group in kw.items():
        for m in rx.finditer(text):
            value = m.group(group)
            if value and _keyword_ok(value, text):
                spans.append((*m.span(group), "secret-assignment"))
    return spans


def _own_spans(text: str) -> list[Span]:
    spans = []
    for start, end, kind in redact.find_secrets(text):
        if kind == "secret-assignment" and not _keyword_ok(text[start:end], text):
            continue
        spans.append((start, end, kind))
    return spans


def find_line(text: str, filename: str = "", *, in_block: bool = False) -> tuple[list[Span], bool]:
    """``(start, end, kind)`` of every credential in one line of ``filename`` (its
    extension picks detect-secrets' keyword patterns), and whether a private-key
    block is still open at its end (``in_block``: one was open before it)."""
    spans, still_open = pem_spans(text, in_block=in_block)
    if len(text) < 8 or not _MAYBE.search(text):
        return spans, still_open
    for offset, chunk in _windows(text):
        for start, end, kind in _ds_spans(chunk, filename) + _own_spans(chunk):
            if kind != "private-key":  # blocks come from pem_spans, on the whole line
                spans.append((offset + start, offset + end, kind))
    return merge(spans), still_open


def find(text: str, filename: str = "") -> list[Span]:
    """The spans of :func:`find_line` for a text of one or more lines."""
    spans: list[Span] = []
    in_block = False
    pos = 0
    for line in text.split("\n"):
        found, in_block = find_line(line, filename, in_block=in_block)
        spans.extend((pos + a, pos + b, k) for a, b, k in found)
        pos += len(line) + 1
    return spans


def pem_spans(text: str, *, in_block: bool) -> tuple[list[Span], bool]:
    """The private-key blocks in ``text``: BEGIN to END, across lines.  ``in_block``:
    a BEGIN on an earlier line has not ended yet.  Returns the spans and whether a
    block is still open at the end of ``text``."""
    spans: list[Span] = []
    pos = 0
    while True:
        if in_block:
            end = PEM_END.search(text, pos)
            stop = len(text) if end is None else end.end()
            if stop > pos:
                spans.append((pos, stop, "private-key"))
            if end is None:
                return spans, True
            pos, in_block = stop, False
        begin = _PEM_BEGIN.search(text, pos)
        if begin is None:
            return spans, False
        pos, in_block = begin.start(), True


def redact_text(text: str, filename: str = "") -> str:
    """``text`` (one or more lines) with every credential replaced by a marker naming
    its kind: what we store of a tag value or a commit subject."""
    spans = find(text, filename)
    return redact.apply_spans(text, spans) if spans else text


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


_PRINTABLE = re.compile(rb"[\x20-\x7e]{8,}")


def find_in_binary(data: bytes, filename: str = "") -> list[str]:
    """The kinds of credential in the printable runs of a binary file's bytes (what
    `strings` shows: a secret embedded in a binary is stored in its patch)."""
    text = b"\n".join(_PRINTABLE.findall(data)).decode("ascii")
    return list(dict.fromkeys(k for _a, _b, k in find(text, filename)))


__all__ = [
    "RedactedDiff",
    "Redaction",
    "find",
    "find_in_binary",
    "find_line",
    "marker",
    "pem_spans",
    "redact_diff",
    "redact_text",
]
