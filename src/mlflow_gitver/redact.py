"""Remove credentials from URLs before they are shown, logged or stored."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# user@host:path, git's scp-like syntax for ssh remotes.
_SCP = re.compile(r"^(?P<user>[^@/:]+)@(?P<rest>[^/:]+:.*)$")


def redact_url(url: str) -> str:
    """``url`` without user name, password, token, query string or fragment.

    >>> redact_url("https://user:tok@example.com/o/r.git?x=1")
    'https://example.com/o/r.git'
    """
    m = _SCP.match(url)
    if m and "://" not in url:
        return m.group("rest")
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not parts.netloc:
        return url  # a local path, or "databricks": nothing to hide
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def scrub(text: str) -> str:
    """Remove ``user:password@`` from every URL inside free text (error messages)."""
    return _USERINFO.sub(r"\g<scheme>", text)
