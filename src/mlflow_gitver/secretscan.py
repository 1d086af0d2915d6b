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
_PEM_BEGIN = re.compile(redact.PEM_BEGIN)
# A line none of the patterns can match: skipped (most lines of ordinary code).  Not
# redact.SECRET_NAME: a cheap pre-filter, broader on purpose (it must let through
# every line detect-secrets' keyword patterns or ours could match).
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


_PRINTABLE = re.compile(rb"[\x20-\x7e]{8,}")


def find_in_binary(data: bytes, filename: str = "") -> list[str]:
    """The kinds of credential in the printable runs of a binary file's bytes (what
    `strings` shows: a secret embedded in a binary is stored in its patch)."""
    text = b"\n".join(_PRINTABLE.findall(data)).decode("ascii")
    return list(dict.fromkeys(k for _a, _b, k in find(text, filename)))


__all__ = ["find", "find_in_binary", "find_line", "marker", "pem_spans", "redact_text"]
