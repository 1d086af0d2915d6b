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


def test_scrub_replaces_credentials_by_their_kind() -> None:
    from testing.secret_corpus import corpus

    for fake in corpus():
        out = scrub(f"error: bad value {fake.line} (line 3)")
        assert fake.secret not in out and "(line 3)" in out
        assert "<redacted:" in out or "@db.internal" in fake.line  # userinfo dropped whole


def test_debug_tracebacks_are_scrubbed() -> None:
    import subprocess
    import sys

    from testing.secret_corpus import corpus

    fake = next(f for f in corpus() if f.kind == "github-token")
    code = (
        "from mlflow_gitver.error_handler import run_guarded\n"
        f"def boom() -> int: raise ValueError({fake.line!r})\n"
        "raise SystemExit(run_guarded(boom, debug=True))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 3
    assert "Traceback" in out.stderr and "ValueError" in out.stderr
    assert fake.secret not in out.stderr and "<redacted:github-token>" in out.stderr


@given(
    st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        min_size=36,
        max_size=36,
    )
)
def test_property_no_github_token_survives(body: str) -> None:
    token = "gh" + "p_" + body
    assert token not in scrub(f"push failed for {token}: 403")


def test_ordinary_lines_compile_no_pattern() -> None:
    # The post-commit hook checks its target URI with these rules: an ordinary URI
    # or error line must not pay for compiling them (~10 ms).
    import subprocess
    import sys

    code = (
        "from mlflow_gitver import redact\n"
        "from mlflow_gitver.queue import records\n"
        "records.safe_target('http://mlflow.internal:5000/api')\n"
        "redact.scrub('mlflow-gitver: error: cannot reach http://127.0.0.1:5000: refused')\n"
        "assert redact._compiled == {}, sorted(redact._compiled)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
