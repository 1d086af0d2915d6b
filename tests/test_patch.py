"""The dirty-state patch: complete, binary-safe, capped, no secrets, no writes to git."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver import patch
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import read_state
from testing.repos import commit_all, git, write
from testing.secret_corpus import Fake, corpus, gcp_service_account, pem_fake


def _snapshot(repo: Path) -> tuple[bytes, list[str]]:
    """The index bytes and the list of object files: what we must never write."""
    objects = sorted(
        str(p.relative_to(repo)) for p in (repo / ".git" / "objects").rglob("*") if p.is_file()
    )
    return (repo / ".git" / "index").read_bytes(), objects


def _build(repo: Path, mode: str = "all") -> patch.Patch:
    state = read_state(repo)
    got = patch.build_patch(gitmod.discover(repo), state, mode)
    assert got is not None
    return got


def _apply_on_clone(repo: Path, data: bytes) -> Path:
    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    git(clone, "apply", "--binary", "-", input=data)
    return clone


def test_patch_rebuilds_the_working_tree(repo: Path) -> None:
    write(repo / "tool.sh", "#!/bin/sh\n", mode=0o644)
    write(repo / "gone.txt", "bye\n")
    commit_all(repo, "more")
    write(repo / "app.py", "print('changed')\n")
    (repo / "gone.txt").unlink()
    (repo / "tool.sh").chmod(0o755)
    write(repo / "staged.py", "staged = True\n")
    git(repo, "add", "staged.py")
    write(repo / "img.bin", bytes(range(256)) * 3)
    write(repo / "sub dir" / "ünï cödé.txt", "naïve\n")
    os.symlink("app.py", repo / "link")
    before = _snapshot(repo)
    got = _build(repo)
    assert _snapshot(repo) == before  # neither the index nor the object db was written
    clone = _apply_on_clone(repo, got.data)
    assert (clone / "app.py").read_text() == "print('changed')\n"
    assert not (clone / "gone.txt").exists()
    assert os.access(clone / "tool.sh", os.X_OK)
    assert (clone / "staged.py").read_text() == "staged = True\n"
    assert (clone / "img.bin").read_bytes() == bytes(range(256)) * 3
    assert (clone / "sub dir" / "ünï cödé.txt").read_text() == "naïve\n"
    assert os.readlink(clone / "link") == "app.py"
    assert "img.bin" not in got.tracked_diff and "+print('changed')" in got.tracked_diff
    assert got.diff_tag == got.tracked_diff
    assert got.omitted == ()


def test_secret_looking_files_are_listed_by_hash_only(repo: Path) -> None:
    write(repo / ".env.production", "API_TOKEN=abc\n")
    write(repo / "certs" / "server.pem", "-----BEGIN-----\n")
    write(repo / "id_rsa", "private\n")
    write(repo / "aws_credentials.json", "{}\n")
    write(repo / "ok.txt", "fine\n")
    got = _build(repo)
    assert b"API_TOKEN" not in got.data and b"private" not in got.data
    assert got.included == ("ok.txt",)
    omitted = {o.path: o for o in got.omitted}
    assert set(omitted) == {".env.production", "certs/server.pem", "id_rsa", "aws_credentials.json"}
    assert {o.reason for o in got.omitted} == {"secret"}
    # Listed by path and size only: a hash of a short secret could be brute-forced.
    assert omitted["id_rsa"].sha256 == "" and omitted["id_rsa"].size == len(b"private\n")


def test_tracked_secret_changes_are_not_in_the_diff(repo: Path) -> None:
    write(repo / "deploy.key", "old\n")
    commit_all(repo, "key")
    write(repo / "deploy.key", "new-secret\n")
    write(repo / "app.py", "x = 2\n")
    got = _build(repo)
    assert b"new-secret" not in got.data and b"old" not in got.data
    assert [o.path for o in got.omitted] == ["deploy.key"]


def test_large_files_and_the_total_cap(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = os.urandom(patch.MAX_FILE_BYTES + 1)
    write(repo / "big.bin", big)
    # Small caps, so the test does not write 20 MB; the code reads them at call time.
    monkeypatch.setattr(patch, "MAX_TOTAL_BYTES", 10)
    write(repo / "a.txt", "123456\n")  # 7 bytes: fits
    write(repo / "b.txt", "123456\n")  # 14 in all: over the total
    got = _build(repo)
    reasons = {o.path: o.reason for o in got.omitted}
    assert reasons == {"big.bin": "too-large", "b.txt": "over-total"}
    assert got.included == ("a.txt",)
    big_entry = next(o for o in got.omitted if o.path == "big.bin")
    assert big_entry.size == len(big) and big_entry.sha256 == hashlib.sha256(big).hexdigest()
    manifest = got.manifest("v", "c")
    assert manifest["included"] == ["a.txt"]


def test_diff_modes(repo: Path) -> None:
    write(repo / "app.py", "x = 3\n")
    write(repo / "untracked.py", "u = 1\n")
    assert b"untracked.py" in _build(repo, "all").data
    tracked = _build(repo, "tracked")
    assert b"untracked.py" not in tracked.data and b"app.py" in tracked.data
    state = read_state(repo)
    assert patch.build_patch(gitmod.discover(repo), state, "none") is None


def test_clean_tree_has_no_patch(repo: Path) -> None:
    state = read_state(repo)
    assert patch.build_patch(gitmod.discover(repo), state, "all") is None


def test_long_diff_is_not_a_tag(repo: Path) -> None:
    write(repo / "app.py", "x = 1\n" * 3000)
    got = _build(repo)
    assert len(got.tracked_diff) > patch.MAX_DIFF_TAG
    assert got.diff_tag is None


def test_written_artifact(repo: Path, tmp_path: Path) -> None:
    write(repo / "app.py", "x = 4\n")
    got = _build(repo)
    d = got.write(tmp_path / "out", "vid", "abc")
    assert (d / patch.PATCH_NAME).read_bytes() == got.data
    assert '"version_id": "vid"' in (d / patch.MANIFEST_NAME).read_text()


@pytest.mark.parametrize(
    ("name", "secret"),
    [(".env", True), (".ENV.local", True), ("x/y/tls.KEY", True), ("id_rsa.pub", True),
     ("cert.p12", True), ("my-credentials.yaml", True), ("environment.py", False),
     ("keys.py", False), ("app.py", False)],
)  # fmt: skip
def test_looks_secret(name: str, secret: bool) -> None:
    assert patch.looks_secret(name) is secret


# --- credentials inside ordinary files --------------------------------------------


def _plant(repo: Path) -> list[Fake]:
    """Every fake of the corpus in a tracked edit, each beside an ordinary change."""
    fakes = corpus()
    write(repo / "settings.py", "".join(f"n{i} = {i}\n" for i in range(len(fakes))))
    commit_all(repo, "settings")
    lines = [f"{f.line}\nordinary_{i} = 'visible {i}'\n" for i, f in enumerate(fakes)]
    write(repo / "settings.py", "".join(lines))
    return fakes


def test_tracked_edits_are_redacted_and_the_rest_kept(repo: Path) -> None:
    fakes = _plant(repo)
    got = _build(repo)
    text = got.data.decode()
    for i, f in enumerate(fakes):
        assert not any(n in text for n in f.needles), f.kind
        assert not any(n in got.tracked_diff for n in f.needles)
        assert f"+ordinary_{i} = 'visible {i}'" in text  # the change beside it is stored
    found = {(r.path, r.line, r.kind) for r in got.redactions}
    for i, f in enumerate(fakes):
        assert ("settings.py", 2 * i + 1, f.kind) in found  # line of the working-tree file
    assert got.redacted and got.tags()[patch.TAG_REDACTED] == "true"
    assert got.inexact == (("settings.py", "markers"),)
    manifest = got.manifest("v", "c")
    redactions, not_exact = manifest["redactions"], manifest["not_exact"]
    assert isinstance(redactions, list) and isinstance(not_exact, list)
    assert {"path": "settings.py", "line": 1, "side": "new", "kind": fakes[0].kind} in redactions
    assert {"path": "settings.py", "restore": "markers"} in not_exact
    # Only added lines were redacted: the patch still applies, markers in place of secrets.
    clone = _apply_on_clone(repo, got.data)
    rebuilt = (clone / "settings.py").read_text()
    assert "ordinary_3 = 'visible 3'" in rebuilt and f"<redacted:{fakes[3].kind}>" in rebuilt


def test_untracked_files_and_pem_blocks(repo: Path) -> None:
    block, body = pem_fake()
    sa, sa_body = gcp_service_account()
    write(repo / "notes.txt", f"deploy key:\n{block}\nremember to rotate\n")
    write(repo / "config" / "service.json", sa)
    got = _build(repo)
    text = got.data.decode()
    assert not any(b in text for b in body + sa_body)
    assert "+remember to rotate" in text and '"client_email"' in text
    pem_lines = [r.line for r in got.redactions if r.path == "notes.txt"]
    assert pem_lines == list(range(2, 2 + len(body) + 2))  # BEGIN, the body, END


def test_a_secret_already_in_head_is_redacted_and_the_file_excluded_from_apply(
    repo: Path,
) -> None:
    fake = next(f for f in corpus() if f.kind == "github-token")
    write(repo / "old.py", f"a = 1\n{fake.line}\nb = 2\n")
    write(repo / "other.py", "x = 1\n")
    commit_all(repo, "a committed secret")
    write(repo / "old.py", f"a = 10\n{fake.line}\nb = 2\n")  # the secret is context now
    write(repo / "other.py", "x = 2\n")
    got = _build(repo)
    assert fake.secret not in got.data.decode()
    assert ("old.py", "excluded") in got.inexact
    manifest = got.manifest("v", "HEAD")
    assert "--exclude=old.py" in str(manifest["apply"])
    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    git(clone, "apply", "--binary", "--exclude=old.py", "-", input=got.data)
    assert (clone / "other.py").read_text() == "x = 2\n"


def test_binary_files_holding_a_secret_are_left_out(repo: Path) -> None:
    fake = next(f for f in corpus() if f.kind == "openai-key")
    write(repo / "model.bin", b"\0\x01\x02header\0" + fake.line.encode() + b"\0" * 64)
    write(repo / "plain.bin", bytes(range(256)) * 2)
    got = _build(repo)
    assert {o.path: o.reason for o in got.omitted} == {"model.bin": "secret-content"}
    assert "plain.bin" in got.included and "model.bin" not in got.included
    assert b"model.bin" not in got.data and got.redacted
    clone = _apply_on_clone(repo, got.data)
    assert (clone / "plain.bin").read_bytes() == bytes(range(256)) * 2


def test_a_very_long_line(repo: Path) -> None:
    fake = next(f for f in corpus() if f.kind == "slack-token")
    line = "x=" + "a1," * 60000 + fake.line + ",b2" * 60000
    write(repo / "bundle.js", line + "\n")
    got = _build(repo)
    assert fake.secret not in got.data.decode()
    assert [r.kind for r in got.redactions] == ["slack-token"]


def test_refuse_names_file_and_line(repo: Path) -> None:
    fake = next(f for f in corpus() if f.kind == "stripe-key")
    write(repo / "pay.py", f"import stripe\n{fake.line}\n")
    state = read_state(repo)
    with pytest.raises(GitverError) as e:
        patch.build_patch(gitmod.discover(repo), state, "all", "refuse")
    assert e.value.exit_code == 2
    assert e.value.message.startswith("pay.py:2: a stripe-key in the uncommitted change")
    assert fake.secret not in e.value.message


def test_off_stores_verbatim(repo: Path) -> None:
    fake = next(f for f in corpus() if f.kind == "huggingface-token")
    write(repo / "hub.py", fake.line + "\n")
    state = read_state(repo)
    got = patch.build_patch(gitmod.discover(repo), state, "all", "off")
    assert got is not None and fake.secret in got.data.decode()
    assert patch.TAG_REDACTED not in got.tags() and not got.redactions


def test_two_states_differing_in_a_secret_are_two_versions(repo: Path) -> None:
    fakes = [f for f in corpus() if f.kind == "secret-assignment"]
    write(repo / "db.py", fakes[0].line + "\n")
    first, p1 = read_state(repo), _build(repo)
    write(repo / "db.py", fakes[0].line.replace(fakes[0].secret, fakes[1].secret) + "\n")
    second, p2 = read_state(repo), _build(repo)
    assert first.digest != second.digest  # the id covers the true content
    assert p1.data == p2.data  # what is stored does not


def test_a_scoped_patch_holds_its_own_paths_only(repo: Path) -> None:
    """Another app's edits (tracked or not) are not in this app's patch or diff tag:
    the tracked diff was once the whole repository's."""
    from mlflow_gitver.gitstate import state_of

    write(repo / "svc" / "a.py", "A = 1\n")
    write(repo / "web" / "b.py", "B = 1\n")
    commit_all(repo, "two apps")
    write(repo / "svc" / "a.py", "A = 2\n")
    write(repo / "web" / "b.py", "B = 2\n")
    write(repo / "web" / "new.py", "N = 1\n")
    write(repo / "app.py", "print('top')\n")
    r = gitmod.discover(repo)
    got = patch.build_patch(r, state_of(r, scope=("svc",)), "all")
    assert got is not None and got.included == ("svc/a.py",)
    assert b"svc/a.py" in got.data
    assert b"web/" not in got.data and b"app.py" not in got.data.replace(b"svc/a.py", b"")
    assert "B = 2" not in got.tracked_diff
