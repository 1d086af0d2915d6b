"""What `git add` would store (conversion.py): end-of-line conversion, clean filters,
and attributes that do not change the stored bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitstates import mutate as _mutate
from testing.gitstates import vid
from testing.repos import clone, commit_all, git, head, init_repo, write

# --- a function of content ---------------------------------------------------------


def test_independent_of_textconv_driver(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    # Attributes outside the tree (info/attributes) so both trees hold the same files.
    write(other / ".git" / "info" / "attributes", "*.py diff=upper\n*.bin diff=upper\n")
    git(other, "config", "diff.upper.textconv", "tr a-z A-Z <")
    _mutate(base)
    _mutate(other)
    assert vid(base) == vid(other)


# --- issue 10: staging never changes the id ----------------------------------------------


@pytest.fixture
def crlf_origin(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "crlf-origin")
    write(root / "a.txt", "one\ntwo\n")
    write(root / "b.txt", "bee\n")
    write(root / "data.bin", b"\0\r\n\xff")
    commit_all(root)
    return root


EOL_SETUPS: dict[str, tuple[list[str], str | None]] = {
    "eol=crlf attribute": ([], "*.txt eol=crlf\n"),
    "text=auto eol=crlf": ([], "* text=auto eol=crlf\n"),
    "text=auto, core.autocrlf=true": (["-c", "core.autocrlf=true"], "* text=auto\n"),
    "core.autocrlf=true": (["-c", "core.autocrlf=true"], None),
}


def _eol_clone(origin: Path, tmp_path: Path, name: str, setup: str) -> Path:
    args, attributes = EOL_SETUPS[setup]
    root = clone(origin, tmp_path / name, *args)
    if attributes is not None:
        # Outside the tree (info/attributes): every clone holds the same files.
        write(root / ".git" / "info" / "attributes", attributes)
        for f in ("a.txt", "b.txt"):
            (root / f).unlink()
        git(root, "checkout", "--", "a.txt", "b.txt")
    assert (root / "a.txt").read_bytes() == b"one\r\ntwo\r\n"
    return root


@pytest.mark.parametrize("setup", list(EOL_SETUPS))
def test_eol_conversion_stage_and_restore_is_clean(
    crlf_origin: Path, tmp_path: Path, setup: str
) -> None:
    root = _eol_clone(crlf_origin, tmp_path, "c", setup)
    original = (root / "a.txt").read_bytes()
    assert vid(root) == head(crlf_origin)
    write(root / "a.txt", b"one\r\nTWO\r\n")
    git(root, "add", "a.txt")
    write(root / "a.txt", original)  # the bytes an untouched clone has
    assert vid(root) == head(crlf_origin)


@pytest.mark.parametrize("setup", list(EOL_SETUPS))
def test_eol_conversion_id_is_what_git_would_commit(
    crlf_origin: Path, tmp_path: Path, setup: str
) -> None:
    # The same edit, typed with CRLF under conversion and with LF without: git
    # would commit the same blobs, so the ids agree.
    root = _eol_clone(crlf_origin, tmp_path, "c", setup)
    plain = clone(crlf_origin, tmp_path / "plain")
    write(root / "a.txt", b"one\r\nTWO\r\n")
    write(plain / "a.txt", b"one\nTWO\n")
    write(root / "new.txt", b"n\r\n")
    write(plain / "new.txt", b"n\n")
    for r in (root, plain):
        write(r / "data.bin", b"\0\r\n\xfe")  # binary: never converted
    git(root, "add", "a.txt")  # staged or not: the same
    assert vid(root) == vid(plain) != head(crlf_origin)


def test_clean_filter_is_applied_as_git_would(crlf_origin: Path, tmp_path: Path) -> None:
    # A clean filter that strips a local secret: git commits "token=", and so
    # the id sees "token=" whatever the local value is.
    write(crlf_origin / "app.cfg", "token=\n")
    commit_all(crlf_origin)
    root = clone(crlf_origin, tmp_path / "f")
    write(root / ".git" / "info" / "attributes", "*.cfg filter=strip\n")
    git(root, "config", "filter.strip.clean", "sed 's/^token=.*/token=/'")
    write(root / "app.cfg", "token=abc\n")
    write(root / "app.cfg", "token=\nnew=1\n")
    git(root, "add", "app.cfg")
    write(root / "app.cfg", "token=local-value\n")  # staged an edit, then restored
    assert vid(root) == head(crlf_origin)
    write(root / "app.cfg", "token=local-value\nnew=1\n")
    plain = clone(crlf_origin, tmp_path / "plain")
    write(plain / "app.cfg", "token=\nnew=1\n")
    assert vid(root) == vid(plain) != head(crlf_origin)


def test_a_linked_worktree_reads_info_attributes_of_the_common_dir(
    crlf_origin: Path, tmp_path: Path
) -> None:
    # info/attributes lives in the common directory, not in the worktree's own.
    write(crlf_origin / "app.cfg", "token=\n")
    commit_all(crlf_origin)
    root = clone(crlf_origin, tmp_path / "f")
    write(root / ".git" / "info" / "attributes", "*.cfg filter=strip\n")
    git(root, "config", "filter.strip.clean", "sed 's/^token=.*/token=/'")
    wt = tmp_path / "wt"
    git(root, "worktree", "add", "-q", "--detach", str(wt))
    write(wt / "app.cfg", "token=local-value\n")
    assert vid(wt) == head(crlf_origin)
