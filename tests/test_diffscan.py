"""The stored patch without credentials: real `git diff --binary` output redacted line
by line, its structure (line counts, hunks, paths) kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver.diffscan import Redaction, redact_diff
from testing.repos import commit_all, git, write
from testing.secret_corpus import Fake, corpus

TOKEN: Fake = next(f for f in corpus() if f.kind == "github-token")


def _diff(repo: Path) -> bytes:
    git(repo, "add", "-A")
    out = git(repo, "diff", "--cached", "--binary", "--no-color", "--no-renames", "HEAD")
    return out.encode("utf-8", "surrogateescape")


def _apply(repo: Path, data: bytes, *args: str) -> Path:
    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    git(clone, "apply", "--binary", *args, "-", input=data)
    return clone


def test_a_diff_without_secrets_is_unchanged(repo: Path) -> None:
    write(repo / "app.py", "print('bye')\n")
    write(repo / "latin1.txt", b"caf\xe9\n")  # not UTF-8: bytes kept as they are
    data = _diff(repo)
    got = redact_diff(data)
    assert got.data == data
    assert (got.redactions, got.unappliable, got.binary) == ((), (), ())


def test_empty_input() -> None:
    got = redact_diff(b"")
    assert (got.data, got.redactions, got.unappliable, got.binary) == (b"", (), (), ())


def test_an_added_secret_is_redacted_and_the_patch_still_applies(repo: Path) -> None:
    write(repo / "app.py", f"print('hello')\nx = 1\n{TOKEN.line}\n")
    data = _diff(repo)
    got = redact_diff(data)
    assert TOKEN.secret.encode() not in got.data
    assert got.redactions == (Redaction("app.py", 3, "new", "github-token"),)
    assert got.redactions[0].as_json() == {
        "path": "app.py",
        "line": 3,
        "side": "new",
        "kind": "github-token",
    }
    assert got.unappliable == ()
    assert got.data.count(b"\n") == data.count(b"\n")  # line for line
    # The blob ids hash the secret's file: zeroed, the patch applies without them.
    [index] = [line for line in got.data.split(b"\n") if line.startswith(b"index ")]
    assert set(index.removeprefix(b"index ").split(b" ")[0]) <= set(b"0.")
    clone = _apply(repo, got.data)
    assert (clone / "app.py").read_text().splitlines()[:2] == ["print('hello')", "x = 1"]
    assert "<redacted:github-token>" in (clone / "app.py").read_text()


def test_a_removed_secret_is_on_the_old_side_and_makes_the_file_unappliable(
    repo: Path,
) -> None:
    write(repo / "conf.py", f"a = 1\n{TOKEN.line}\nb = 2\n")
    write(repo / "other.py", "o = 1\n")
    commit_all(repo, "a committed secret")
    write(repo / "conf.py", "a = 1\nb = 2\n")
    write(repo / "other.py", "o = 2\n")
    got = redact_diff(_diff(repo))
    assert TOKEN.secret.encode() not in got.data
    assert got.redactions == (Redaction("conf.py", 2, "old", "github-token"),)
    assert got.unappliable == ("conf.py",)
    # Only the other files apply: the redacted one no longer matches HEAD.
    clone = _apply(repo, got.data, "--exclude=conf.py")
    assert (clone / "other.py").read_text() == "o = 2\n"


def test_a_secret_in_an_unchanged_line_of_context(repo: Path) -> None:
    write(repo / "conf.py", f"{TOKEN.line}\nb = 2\n")
    commit_all(repo, "a committed secret")
    write(repo / "conf.py", f"{TOKEN.line}\nb = 3\n")
    got = redact_diff(_diff(repo))
    assert TOKEN.secret.encode() not in got.data
    assert got.redactions == (Redaction("conf.py", 1, "new", "github-token"),)
    assert got.unappliable == ("conf.py",)


def test_a_secret_in_a_hunk_header_function_line(repo: Path) -> None:
    # git writes the enclosing "function" line after the second "@@": file content too.
    body = "".join(f"    line_{i} = {i}\n" for i in range(20))
    write(repo / "mod.py", f"def connect(token={TOKEN.secret!r}):\n{body}")
    commit_all(repo, "secret default")
    write(repo / "mod.py", f"def connect(token={TOKEN.secret!r}):\n{body.replace('= 15', '= 0')}")
    data = _diff(repo)
    assert TOKEN.secret.encode() in data.split(b"\n@@", 1)[1].split(b"\n", 1)[0]  # the header
    got = redact_diff(data)
    assert TOKEN.secret.encode() not in got.data
    [header] = [line for line in got.data.split(b"\n") if line.startswith(b"@@ ")]
    assert header.startswith(b"@@ -14,7 +14,7 @@ def connect(token=")
    assert [(r.path, r.line, r.side) for r in got.redactions] == [("mod.py", 14, "new")]


@pytest.mark.parametrize("name", ["sp ace.py", "tab\there.py", 'ünï"q".py', "back\\slash.py"])
def test_redactions_name_quoted_paths_as_they_are(repo: Path, name: str) -> None:
    write(repo / name, f"{TOKEN.line}\n")
    data = _diff(repo)
    got = redact_diff(data)
    assert [r.path for r in got.redactions] == [name]
    assert TOKEN.secret.encode() not in got.data


def test_a_non_utf8_path_is_named_with_surrogates(repo: Path) -> None:
    name = b"caf\xe9.py".decode("utf-8", "surrogateescape")
    write(repo / name, f"{TOKEN.line}\n")
    got = redact_diff(_diff(repo))
    assert [r.path for r in got.redactions] == [name]


def test_binary_patches_are_listed_and_left_as_they_are(repo: Path) -> None:
    write(repo / "blob.bin", b"\0\x01" + TOKEN.line.encode() + b"\0" * 32)
    data = _diff(repo)
    got = redact_diff(data)
    assert got.binary == ("blob.bin",)
    assert got.data == data and got.redactions == ()  # scanned by content elsewhere


def test_a_pem_block_is_redacted_across_its_lines(repo: Path) -> None:
    from testing.secret_corpus import pem_fake

    block, body = pem_fake()
    write(repo / "key.txt", f"before\n{block}\nafter\n")
    got = redact_diff(_diff(repo))
    assert not any(b.encode() in got.data for b in body)
    lines = [r.line for r in got.redactions]
    assert lines == list(range(2, 2 + len(body) + 2))  # BEGIN, the body, END
    assert b"+before" in got.data and b"+after" in got.data


def test_no_newline_at_end_of_file_is_kept(repo: Path) -> None:
    write(repo / "app.py", f"x = 1\n{TOKEN.line}")  # no final newline
    data = _diff(repo)
    got = redact_diff(data)
    assert b"\\ No newline at end of file" in got.data
    assert got.redactions == (Redaction("app.py", 2, "new", "github-token"),)
    clone = _apply(repo, got.data)
    assert not (clone / "app.py").read_bytes().endswith(b"\n")
