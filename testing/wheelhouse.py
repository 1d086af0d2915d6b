"""A local wheelhouse for installers run by the tests, with no network.

The wheels are the distributions installed in the test environment itself, packed back
into wheels (``repack``): the same files, the same metadata, the same versions, so an
installer pointed at the wheelhouse (``--no-index --find-links``) resolves the real
requirements and installs real code. What a repacked wheel lacks: the files its original
put outside site-packages other than scripts (``share/``, headers), the compiled
``__pycache__``, and the console scripts, which the installer writes again from
``entry_points.txt``. setuptools, the build backend of our own tree, is not the one
installed here (a Python 3.11 venv comes with an old one): its wheel is virtualenv's
embedded one (virtualenv comes with pre-commit), an unmodified PyPI wheel.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_SKIPPED_META = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _wheel_tags(wheel_file: str) -> str:
    """The filename tag of a WHEEL file's ``Tag:`` lines (py.abi.plat, compressed)."""
    tags = [ln.split(":", 1)[1].strip() for ln in wheel_file.splitlines() if ln.startswith("Tag:")]
    parts = [dict.fromkeys(t.split("-")[i] for t in tags) for i in range(3)]
    return "-".join(".".join(p) for p in parts)


def repack(dist: metadata.Distribution, dest: Path) -> Path:
    """Write ``dist`` (an installed distribution) back as a wheel in ``dest``."""
    name, version = dist.metadata["Name"], dist.version
    files = dist.files or []
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    scripts = {
        ep.name for ep in dist.entry_points if ep.group in ("console_scripts", "gui_scripts")
    }
    data_dir = f"{info[: -len('.dist-info')]}.data"
    entries: list[tuple[str, bytes]] = []
    for f in files:
        parts = f.parts
        if "__pycache__" in parts or f.suffix == ".pyc":
            continue
        if parts[0] == info and parts[-1] in _SKIPPED_META:
            continue
        if parts[0] == "..":
            # Scripts land in <prefix>/bin: ../../../bin/NAME from site-packages.
            if parts[-2:-1] != ("bin",) or parts[-1] in scripts:
                continue
            arcname = f"{data_dir}/scripts/{parts[-1]}"
        else:
            arcname = "/".join(parts)
        data = Path(str(dist.locate_file(f))).read_bytes()
        entries.append((arcname, data))
    wheel_meta = dist.read_text("WHEEL") or ""
    stem = re.sub(r"[^\w\d.]+", "_", name, flags=re.UNICODE)
    path = dest / f"{stem}-{version}-{_wheel_tags(wheel_meta)}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    # Stored, not deflated: the wheels live for one test session, and zlib is the cost.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for arcname, data in entries:
            info_z = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            if arcname.startswith(f"{data_dir}/scripts/"):
                info_z.external_attr = 0o100755 << 16  # a regular file (pip checks), executable
            else:
                info_z.external_attr = 0o100644 << 16
            zf.writestr(info_z, data)
            writer.writerow([arcname, _record_hash(data), len(data)])
        writer.writerow([f"{info}/RECORD", "", ""])
        zf.writestr(f"{info}/RECORD", record.getvalue())
    return path


def installed_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that ``requirements`` need here, with their own
    requirements (markers evaluated for this interpreter, extras followed)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = canonicalize_name(req.name)
        dist = metadata.distribution(req.name)  # PackageNotFoundError: not installed here
        if dist.version not in req.specifier:
            raise AssertionError(f"{req} is not satisfied here: {req.name} {dist.version}")
        wanted = [(key, e) for e in ("", *sorted(req.extras))]
        for k, e in wanted:
            tag = f"{k}[{e}]"
            if tag in seen:
                continue
            seen[tag] = dist
            todo.extend((Requirement(r), e) for r in dist.requires or [])
    unique = {canonicalize_name(d.metadata["Name"]): d for d in seen.values()}
    return list(unique.values())


def embedded_setuptools() -> Path:
    """The newest setuptools wheel virtualenv ships (for building our tree in isolation)."""
    import virtualenv

    embed = Path(virtualenv.__file__).parent / "seed" / "wheels" / "embed"
    wheels = sorted(
        embed.glob("setuptools-*.whl"),
        key=lambda p: tuple(int(x) for x in p.name.split("-")[1].split(".") if x.isdigit()),
    )
    assert wheels, f"no setuptools wheel in {embed}"
    return wheels[-1]


def build_wheelhouse(dest: Path, project: str, extra: list[str]) -> Path:
    """Wheels of what the installed ``project`` requires (not the project itself),
    of the ``extra`` requirements, and setuptools."""
    dest.mkdir(parents=True, exist_ok=True)
    for dist in installed_closure([*(metadata.requires(project) or []), *extra]):
        repack(dist, dest)
    shutil.copy2(embedded_setuptools(), dest)
    return dest
