"""Remove credentials from URLs before they are shown, logged or stored."""

from __future__ import annotations

import re

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
    """Remove ``user:password@`` and query strings (tokens) from every URL in free text."""
    return _QUERY.sub(r"\g<url>", _USERINFO.sub(r"\g<scheme>", text))
