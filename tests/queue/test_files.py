"""The queue's file primitives: atomic writes, flock, claims, the fix for an OSError."""

from __future__ import annotations

import errno
import os
import resource
import signal
import threading
from pathlib import Path

import pytest

from mlflow_gitver.queue.files import claim, fix_for, lock_nowait, write_atomic


def _others(directory: Path, *names: str) -> list[str]:
    return sorted(set(os.listdir(directory)) - set(names))


def test_write_atomic_creates_a_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    assert write_atomic(path, "first", replace=False) is True
    assert path.read_text() == "first"
    assert path.stat().st_mode & 0o777 == 0o600
    inode = path.stat().st_ino
    # Without replace an existing file is left alone, and reported so.
    assert write_atomic(path, "second", replace=False) is False
    assert path.read_text() == "first" and path.stat().st_ino == inode
    assert _others(tmp_path, "r.json") == []  # no temp file left


def test_write_atomic_replace_swaps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    inode = path.stat().st_ino
    assert write_atomic(path, "new ünïcödé", replace=True) is True
    assert path.read_text(encoding="utf-8") == "new ünïcödé"
    assert path.stat().st_ino != inode  # a new file renamed over, never written in place
    assert _others(tmp_path, "state.json") == []


def test_write_atomic_into_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "gone" / "r.json", "x", replace=False)
    assert not (tmp_path / "gone").exists()


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "bad \udcff byte", replace=True)  # a lone surrogate: not UTF-8
    assert os.listdir(tmp_path) == []


def test_lock_nowait_is_exclusive_per_open_file(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.write_text("")
    a, b = os.open(path, os.O_RDONLY), os.open(path, os.O_RDONLY)
    try:
        assert lock_nowait(a) is True
        assert lock_nowait(b) is False  # flock is per open file: a second open conflicts
        os.close(a)
        a = -1
        assert lock_nowait(b) is True
    finally:
        for fd in (a, b):
            if fd >= 0:
                os.close(fd)


def test_lock_nowait_on_a_closed_descriptor_raises(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as e:
        lock_nowait(fd)
    assert e.value.errno == errno.EBADF


def test_claim_of_a_missing_record_is_none(tmp_path: Path) -> None:
    with claim(tmp_path / "nope.json", wait=0) as fd:
        assert fd is None


def test_claim_holds_the_lock_until_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{}")
    other = os.open(path, os.O_RDONLY)
    try:
        with claim(path, wait=0) as fd:
            assert fd is not None
            assert os.fstat(fd).st_ino == path.stat().st_ino
            assert lock_nowait(other) is False
        assert lock_nowait(other) is True  # released on exit
        # ... and now held by `other`: a claim that does not wait gets nothing.
        with claim(path, wait=0) as fd:
            assert fd is None
    finally:
        os.close(other)


def _open_count(path: Path) -> int:
    """How many descriptors of this process have ``path`` open."""
    fds = Path("/proc/self/fd")
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(fds / fd) == str(path)
        except OSError:
            pass
    return count


@pytest.mark.parametrize("change", ["replaced", "deleted"])
def test_a_claim_that_waited_sees_the_record_changed_under_it(tmp_path: Path, change: str) -> None:
    # The previous holder registered the record (deleted it) or moved another file to
    # its name while the claim waited: the claim must not take the stale inode.
    path = tmp_path / "r.json"
    path.write_text("{}")
    holder = os.open(path, os.O_RDONLY)
    assert lock_nowait(holder)
    got: list[int | None] = []

    def claimer() -> None:
        with claim(path, wait=120) as fd:
            got.append(fd)

    t = threading.Thread(target=claimer)
    t.start()
    try:
        while _open_count(path) < 2 and t.is_alive():  # the claimer has opened it
            threading.Event().wait(0.01)
        if change == "replaced":
            (tmp_path / "new").write_text("{}")
            os.replace(tmp_path / "new", path)
        else:
            path.unlink()
    finally:
        os.close(holder)  # the claimer gets the lock now
        t.join()
    assert got == [None]


def test_fix_for_real_errors(tmp_path: Path) -> None:
    where = tmp_path / "store"
    with pytest.raises(OSError) as full:
        with open("/dev/full", "w") as f:
            f.write("x")
            f.flush()
    assert fix_for(full.value, where) == "free disk space"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as not_dir:
        os.open(blocker / "child", os.O_RDONLY)
    with pytest.raises(OSError) as exists:
        os.mkdir(blocker)
    with pytest.raises(OSError) as is_dir:
        open(tmp_path, "w")
    for e in (not_dir, exists, is_dir):
        assert fix_for(e.value, where) == f"move aside what is in the way of the directory {where}"
    with pytest.raises(OSError) as too_long:
        os.open(tmp_path / ("n" * 300), os.O_RDONLY)
    assert too_long.value.errno == errno.ENAMETOOLONG
    assert fix_for(too_long.value, where) == f"check {where}"


def test_fix_for_a_file_past_the_size_limit(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the signal
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
        with pytest.raises(OSError) as e:
            with open(tmp_path / "big", "wb", buffering=0) as f:
                f.write(b"x" * 4096)
                f.write(b"x" * 4096)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert e.value.errno == errno.EFBIG
    assert fix_for(e.value, tmp_path) == "raise the file-size limit ('ulimit -f')"


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.EDQUOT, "free disk space"),
        (errno.EROFS, "make {where} writable"),
        (errno.EACCES, "make {where} writable"),
        (errno.EPERM, "make {where} writable"),
    ],
)
def test_fix_for_errors_a_test_cannot_cause(tmp_path: Path, code: int, fix: str) -> None:
    # Built by hand: a quota, a read-only mount or a permission root does not
    # override cannot be set up from a test (they run as root, without mounts).
    e = OSError(code, os.strerror(code))
    assert fix_for(e, tmp_path) == fix.format(where=tmp_path)
