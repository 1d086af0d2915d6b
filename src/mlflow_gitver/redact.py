"""Remove credentials from URLs and free text before they are shown, logged or stored.

``scrub`` runs on every error line, so it uses only our own regular expressions
for the kinds of credential that can be told apart by their shape (a known prefix,
a PEM block, a JWT); they are compiled on first use, so a run that prints no error
pays nothing.  The fuller scanner for what we store in MLflow (secretscan.py) adds
detect-secrets' plugins on top of these rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# user@host:path, git's scp-like syntax for ssh remotes.
# The user part may hold "user:password" too.
_SCP = re.compile(r"^(?P<user>[^@/]+)@(?P<rest>[^@/:]+:.*)$")


def redact_url(url: str) -> str:
    """``url`` without user name, password, token, query string or fragment.

    >>> redact_url("https://user:tok@example.com/o/r.git?x=1")
    'https://example.com/o/r.git'
    """
    # Imported here: error_handler imports this module on every run, urllib does not need to.
    from urllib.parse import urlsplit, urlunsplit

    m = _SCP.match(url)
    if m and "://" not in url:
        return m.group("rest")
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not parts.netloc:
        return url  # a local path, or "databricks": nothing to hide
    # Everything after the last "@" (as urlsplit reads it): host, port, or a
    # "databricks://profile:prefix", kept as written.
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# Greedy up to the last "@" before the path: a password may contain a raw "@".
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s]*@")
_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*)[?#][^\s]*")


def scrub(text: str) -> str:
    """``text`` without ``user:password@`` and query strings (tokens) in URLs, and with
    every credential :func:`find_secrets` recognises replaced by a marker."""
    return redact_secrets(_QUERY.sub(r"\g<url>", _USERINFO.sub(r"\g<scheme>", text)))


# --- credentials recognised by their shape ------------------------------------------
# (kind, pattern).  When a pattern has a group named "s", only that group is the
# secret (the name before it stays readable); otherwise the whole match is.
PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
# Patterns are strings, compiled on first use (re caches them): error_handler imports
# this module on every run, including `id`, which must not pay for compiling them.
PEM_END = r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
# Names whose value is a credential (the "high-entropy value assigned to a secret
# name" rule); the value must also look random (see looks_random).
SECRET_NAME = (
    r"(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|auth[_-]?key|client[_-]?secret|credentials?|signing[_-]?key|encryption[_-]?key)"
)
# Environment variables a config may not interpolate into what MLflow stores.  Broader
# than SECRET_NAME on purpose: a variable is refused by its name alone, before its value
# is read (so no looks_random to tell a credential from a setting), and a refusal costs
# the user a rename where a stored credential costs a rotation: any KEY (STRIPE_KEY).
SECRET_VAR_NAME = r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL"
RULES: tuple[tuple[str, str], ...] = (
    # The whole block, BEGIN to END; a block with no END (cut off) to the end of the text.
    # In JSON (a GCP service-account file) the line breaks are literal "\n".
    ("private-key", PEM_BEGIN + r"(?:.*?" + PEM_END + r"|.*)"),
    ("aws-access-key-id", r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    (
        "aws-secret-access-key",
        r"(?i:aws[A-Za-z0-9_.-]{0,20}?(?:secret|key)[A-Za-z0-9_.\"'\] -]{0,20}?"
        r"(?:=|:|:=|=>|,|\()\s*[\"']?)(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    ),
    (
        "azure-key",
        r"(?i:\b(?:AccountKey|SharedAccessKey|SharedSecret|sig)=)"
        r"(?P<s>[A-Za-z0-9+/%]{20,}(?:=|%3D){0,2})",
    ),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("gitlab-token", r"\b(?:gl(?:pat|dt|ft|rt|soat|ptt|oas|agent)|glcbt)-[A-Za-z0-9_-]{20,}"),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    # OpenAI: sk-, sk-proj-, sk-svcacct-, sk-admin-; random, so a digit somewhere.
    ("openai-key", r"\bsk-(?=[A-Za-z0-9_-]{0,200}\d)[A-Za-z0-9_-]{20,}"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("databricks-token", r"\bdapi[0-9a-f]{16,}(?:-\d+)?\b"),
    ("slack-token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
    ("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"),
    ("stripe-key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    (
        "password-in-url",
        # The look-behind keeps this linear on long runs of letters (minified code).
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/@\"'<>]{1,200}:"
        r"(?P<s>[^\s/\"'<>$]{1,200})@(?=[A-Za-z0-9\[])",
    ),
    (
        "secret-assignment",
        r"(?i:" + SECRET_NAME + r"[A-Za-z0-9_]{0,40}[\"'\]]{0,2}"
        r"\s*(?::=|=>|==|=|:)\s*[\"'`]?)"
        r"(?P<s>[A-Za-z0-9+/=_.~!@#$%^&*-]{8,})",
    ),
)
# Not credentials: a dotted reference (settings.API_KEY), snake_case or kebab-case words.
_NOT_RANDOM = (
    r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\(?|[a-z]+(?:[_-][a-z0-9]+)+"
    r"|[A-Z]+(?:[_-][A-Z0-9]+)+"
)
_OWN_KINDS = frozenset(kind for kind, _p in RULES)
_MARKER = r"<redacted:[a-z0-9-]+>"


def marker(kind: str) -> str:
    """What replaces a secret: its kind, never anything derived from its value."""
    return f"<redacted:{kind}>"


def shannon(text: str) -> float:
    import math

    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in (text.count(x) for x in set(text)))


def looks_random(value: str) -> bool:
    """Whether a value assigned to a secret-looking name looks like a credential:
    long enough, letters and digits (or symbols) mixed, high entropy, and not an
    identifier, a placeholder or a reference to something else."""
    v = value.strip("\"'`;,)")
    if len(v) < 8 or re.fullmatch(_NOT_RANDOM, v) or re.search(_MARKER, v):
        return False
    if v[0] in "$<{%=@./\\" or "${" in v or "{{" in v or "..." in v:
        return False  # a template, a comparison, a path, an elided example (sk-...xyz)
    if v.lower().startswith(("http", "file")) or "=" in v.rstrip("="):
        return False  # a URL; code (a=b=c) rather than base64, whose "=" only pads the end
    # Random characters switch often between lower case, upper case and digits;
    # words, identifiers and minified code (keyword.$0, total_token_count) do not.
    if _switches(v) < max(3, len(v) // 8):
        return False
    has_letter = any(c.isalpha() for c in v)
    has_digit_or_symbol = any(c.isdigit() or c in "+/=!@#$%^&*~" for c in v)
    if not (has_letter and has_digit_or_symbol):
        return False
    if len(set(v)) < 6:  # xxxxxxxx1, aaaa-1111
        return False
    return shannon(v) >= 3.0


def secret_name(name: str) -> bool:
    """Whether a name (a param's key, a variable) is one whose value is a credential
    when it looks random: the name part of the ``secret-assignment`` rule."""
    return re.search(SECRET_NAME, name, re.IGNORECASE) is not None


def url_password(value: str) -> bool:
    """Whether the password part of a URL is one: not a template (``{password}``,
    ``${PASSWORD}``, ``<password>``) and not a one- or two-character placeholder."""
    return len(value) >= 3 and value[0] not in "{$<%" and not value.startswith("*")


def _switches(v: str) -> int:
    n, prev = 0, ""
    for c in v:
        k = "l" if c.islower() else "u" if c.isupper() else "d" if c.isdigit() else ""
        if k:
            n += bool(prev) and k != prev
            prev = k
    return n


# What a text must contain (in lower case) for each rule to be tried: plain substring
# tests, so that an ordinary URI or message compiles no pattern at all (compiling
# all of them costs ~10 ms, too much for the post-commit hook).
_NEEDLES: dict[str, tuple[str, ...]] = {
    "private-key": ("private key",),
    "aws-access-key-id": ("a3t", "akia", "asia", "abia", "acca"),
    "aws-secret-access-key": ("aws",),
    "azure-key": ("accountkey=", "sharedaccesskey=", "sharedsecret=", "sig="),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab-token": (
        "glpat-",
        "gldt-",
        "glft-",
        "glrt-",
        "glsoat-",
        "glptt-",
        "gloas-",
        "glagent-",
        "glcbt-",
    ),
    "anthropic-key": ("sk-ant-",),
    "openai-key": ("sk-",),
    "huggingface-token": ("hf_",),
    "databricks-token": ("dapi",),
    "slack-token": ("xox",),
    "slack-webhook": ("hooks.slack.com",),
    "stripe-key": ("k_live_", "k_test_"),
    "jwt": ("eyj",),
    "password-in-url": ("://",),
    "secret-assignment": ("pass", "pwd", "secret", "token", "key", "credential"),
}
_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(kind: str, pattern: str) -> re.Pattern[str]:
    rx = _compiled.get(kind)
    if rx is None:  # compiled once, on the first text that may hold this kind
        rx = _compiled[kind] = re.compile(pattern, re.DOTALL)
    return rx


Span = tuple[int, int, str]


def find_secrets(text: str) -> list[Span]:
    """``(start, end, kind)`` of every credential our own rules see in ``text``,
    overlapping ones merged."""
    spans: list[Span] = []
    low = text.lower()
    for kind, pattern in RULES:
        if not any(n in low for n in _NEEDLES[kind]):
            continue
        if kind == "password-in-url" and "@" not in text:
            continue
        rx = _pattern(kind, pattern)
        for m in rx.finditer(text):
            start, end = m.span("s") if "s" in rx.groupindex else m.span()
            if kind == "secret-assignment" and not looks_random(m.group("s")):
                continue
            if kind == "password-in-url" and not url_password(m.group("s")):
                continue
            if re.fullmatch(_MARKER, text[start:end]):
                continue
            spans.append((start, end, kind))
    return merge(spans)


def _rank(kind: str) -> int:
    # Where two findings overlap, the more specific kind names the merged span: a
    # token recognised by its prefix (our rules), then detect-secrets' plugins, then
    # a password in a URL, then a value recognised by its name only.
    if kind == "secret-assignment":
        return 0
    if kind == "password-in-url":
        return 1
    return 3 if kind in _OWN_KINDS else 2


def merge(spans: list[Span]) -> list[Span]:
    """Sorted, non-overlapping spans; where two overlap the more specific kind wins."""
    out: list[Span] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and start < out[-1][1]:
            p_start, p_end, p_kind = out[-1]
            keep = p_kind if _rank(p_kind) >= _rank(kind) else kind
            out[-1] = (p_start, max(p_end, end), keep)
        else:
            out.append((start, end, kind))
    return out


def apply_spans(text: str, spans: list[Span], mark: Callable[[str], str] = marker) -> str:
    """``text`` with each span replaced by its marker (spans sorted, disjoint)."""
    parts: list[str] = []
    pos = 0
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(mark(kind))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def redact_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tag values (commit subject, author, branch, CI facts) as we store them."""
    return {k: redact_secrets(v) for k, v in tags.items()}


def redact_secrets(text: str) -> str:
    """``text`` with every credential our own rules recognise replaced by a marker."""
    if len(text) < 8:
        return text
    spans = find_secrets(text)
    return apply_spans(text, spans) if spans else text
