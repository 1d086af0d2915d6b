"""identity.py: the version-id format and its parser agree; the exclusion table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlflow_gitver.identity import is_excluded, parse_version_id, version_id

_HEX = "0123456789abcdef"
commits = st.one_of(
    st.text(_HEX, min_size=40, max_size=40), st.text(_HEX, min_size=64, max_size=64)
)
digests = st.one_of(st.none(), st.text(_HEX, min_size=64, max_size=64))


@given(commits, digests)
def test_format_and_parser_round_trip(commit: str, digest: str | None) -> None:
    vid = version_id(commit, digest)
    expected = (commit, None) if digest is None else (commit[:32], digest[:8])
    assert parse_version_id(vid) == expected


@given(st.text(max_size=80))
def test_parser_accepts_only_what_the_format_makes(text: str) -> None:
    parsed = parse_version_id(text)
    if parsed is not None:
        commit, digest = parsed
        assert version_id(commit, None if digest is None else digest + "0" * 56) == text


def test_parser_rejects_near_misses() -> None:
    for bad in (
        "a" * 39,
        "a" * 41,
        "A" * 40,
        "a" * 32 + "-dirty-" + "0" * 7,
        "a" * 31 + "-dirty-" + "0" * 8,
        "g" * 40,
        "",
    ):
        assert parse_version_id(bad) is None


def test_exclusion_table() -> None:
    assert is_excluded(b"mlflow.db") and is_excluded(b"sub/mlflow.db-journal")
    assert is_excluded(b"a/mlruns/0/meta.yaml") and is_excluded(b"mlartifacts/x")
    assert is_excluded(b"deep/mlflow-gitver.env")
    assert not is_excluded(b"mlruns") and not is_excluded(b"src/mlflow.dbx")
