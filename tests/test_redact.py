"""Credentials never survive redact_url / scrub."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_gitver.redact import redact_url, scrub


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@example.com/o/r.git?x=1#f", "https://example.com/o/r.git"),
        ("https://ghp_abc123@github.com/o/r", "https://github.com/o/r"),
        ("https://u:p@ss@host/x", "https://host/x"),  # a raw "@" in the password
        ("ssh://git@github.com:22/o/r", "ssh://github.com:22/o/r"),
        ("git@github.com:o/r.git", "github.com:o/r.git"),
        ("user:pw@host:o/r.git", "host:o/r.git"),
        ("postgresql://u:p@db:5432/mlflow", "postgresql://db:5432/mlflow"),
        ("https://u:p@[::1]:5000/x?t=1", "https://[::1]:5000/x"),
        ("http://h/?token=abc", "http://h/"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("databricks", "databricks"),
        ("databricks://profile:prefix", "databricks://profile:prefix"),
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
        ("file:///tmp/x", "file:///tmp/x"),
        ("/local/path", "/local/path"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("failed: https://u:p@host/x: refused", "failed: https://host/x: refused"),
        ("https://u:p@ss@host/x and more", "https://host/x and more"),
        ("see http://h/x?token=abc&y=1 now", "see http://h/x now"),
        ("a https://h/x b https://u:p@h2 c", "a https://h/x b https://h2 c"),
        ("user@example.com wrote", "user@example.com wrote"),
        ("no url here", "no url here"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


_secret = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.~!$&*+=:@"),
    min_size=8,
    max_size=30,
).filter(
    lambda s: (
        not s.startswith(("@", ":"))
        and "@" not in s[-1:]
        and s not in "https://mlflow.example.com/api"
    )
)


@given(user=_secret, password=_secret)
def test_property_no_password_survives(user: str, password: str) -> None:
    url = f"https://{user}:{password}@mlflow.example.com/api?token={password}"
    for out in (redact_url(url), scrub(f"error talking to {url}: 401")):
        assert password not in out
        assert "mlflow.example.com" in out
