"""``mlflow-gitver gc``: the real CLI against the session's real server, on a mix of
clean, dirty, traced, evaluated, verified, pending and foreign models, and racing
real registrations of the version it deletes.

Two tests pause a process at a named point with registry.py's fault hook
(``MLFLOW_GITVER_FAULT=pause:POINT:DIR``, two FIFOs: no sleep, no polling): gc
after its listing, a registration after it picked its model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlflow_gitver.deployenv import COMMIT_VARIABLES
from mlflow_gitver.naming import GIT_DIRTY, TAG_APP, TAG_SUBJECT, TAG_VERSION_ID
from testing.cli import cli
from testing.links import evaluate, trace
from testing.pause import resume, start_paused
from testing.repos import commit_all, write
from testing.server import free_port

pytestmark = pytest.mark.server

ROUNDS = 8  # of the race: each starts three CLI processes at once


def _env(**extra: str) -> dict[str, str]:
    """Without a CI's variable naming a deployed commit (verify would check it)."""
    drop = {v for _p, v in COMMIT_VARIABLES} | {"MLFLOW_ACTIVE_MODEL_ID"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def _config(repo: Path, server_url: str, name: str = "shop") -> str:
    exp = f"gc-{uuid.uuid4().hex[:10]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: {name}\nexperiment: {exp}\ntracking_uri: {server_url}\n",
    )
    commit_all(repo, "config")
    return exp


def _register(repo: Path, *args: str) -> dict[str, Any]:
    out = cli("register", "--format", "json", *args, cwd=repo, env=_env())
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _dirty(repo: Path, content: str) -> dict[str, Any]:
    write(repo / "app.py", content)
    got = _register(repo)
    assert got["dirty"] is True
    return got


def _gc(repo: Path, *args: str) -> dict[str, Any]:
    out = cli("gc", "--format", "json", *args, cwd=repo, env=_env())
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _ids(report: dict[str, Any]) -> list[str]:
    return sorted(d["model_id"] for d in report["deleted"])


def _live(client: Any, model_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_logged_model(model_id) is not None
    except MlflowException as e:
        assert e.error_code == "RESOURCE_DOES_NOT_EXIST", e
        return False


def _version_models(client: Any, experiment_id: str, version_id: str) -> list[Any]:
    flt = f"tags.`{TAG_VERSION_ID}` = '{version_id}'"
    return list(client.search_logged_models(experiment_ids=[experiment_id], filter_string=flt))


def test_deletes_only_old_dirty_versions_nothing_links_to(repo: Path, server_url: str) -> None:
    import mlflow
    from mlflow import MlflowClient

    exp = _config(repo, server_url)
    clean = _register(repo)
    untraced = _dirty(repo, "print('a')\n")
    traced_later = _dirty(repo, "print('b')\n")
    traced = _dirty(repo, "print('c')\n")
    trace(server_url, traced["model_id"], traced["experiment_id"])
    evaluated = _dirty(repo, "print('d')\n")
    evaluate(server_url, evaluated["experiment_id"], evaluated["model_id"])
    verified = _dirty(repo, "print('e')\n")
    ok = cli("verify", verified["model_id"], cwd=repo, env=_env())
    assert ok.returncode == 0, ok.stderr
    # Another app's dirty version in the same experiment is not this app's to delete.
    write(repo / "other.yaml", f"name: billing\nexperiment: {exp}\ntracking_uri: {server_url}\n")
    write(repo / "app.py", "print('f')\n")
    billing = _register(repo, "--config", "other.yaml")
    # By hand: our app tag but no version id; a PENDING copy of a version (a
    # registration in progress); one a run logged; one without any of our tags.
    client = MlflowClient(server_url)
    eid = str(clean["experiment_id"])
    tags = dict(client.get_logged_model(untraced["model_id"]).tags)
    assert tags[GIT_DIRTY] == "true" and tags[TAG_APP] == "shop"
    no_version = client.create_logged_model(
        eid, name="by-hand", tags={TAG_APP: "shop", GIT_DIRTY: "true"}
    )
    pending = client.create_logged_model(eid, name="in-progress", tags=tags)
    mlflow.set_tracking_uri(server_url)
    with mlflow.start_run(experiment_id=eid) as run:
        logged = client.create_logged_model(
            eid, name="logged-by-a-run", tags=tags, source_run_id=run.info.run_id
        )
    foreign = client.create_logged_model(eid, name="someone-else")
    for m in (no_version, logged, foreign):
        client.finalize_logged_model(m.model_id, "READY")

    hour = _gc(repo, "--older-than", "1h")
    assert hour["deleted"] == [] and hour["dry_run"] is False
    assert hour["kept_by_reason"] == {
        "clean": 1,
        "newer than 1h": 5,
        "not ours": 1,
        "pending": 1,
        "verified": 1,
    }
    ages = _gc(repo, "--older-than", "999999999999w")  # before 1970: nothing is that old
    assert ages["deleted"] == [] and ages["cutoff"] == "1970-01-01T00:00:00Z"
    dry = _gc(repo, "--older-than", "0s", "--dry-run")
    assert _ids(dry) == sorted([untraced["model_id"], traced_later["model_id"]])
    assert dry["kept_by_reason"] == {
        "clean": 1,
        "evaluated": 2,
        "not ours": 1,
        "pending": 1,
        "traced": 1,
        "verified": 1,
    }
    assert dry["kept"] == 7 and dry["cutoff"].endswith("Z")
    text = cli("gc", "--older-than", "0s", "--dry-run", cwd=repo, env=_env())
    assert text.returncode == 0, text.stderr
    assert f"would delete {untraced['model_name']}  {untraced['model_id']}  age " in text.stdout
    assert "would delete 2, would keep 7 (2 evaluated, " in text.stdout
    assert all(_live(client, i) for i in _ids(dry))  # a dry run deletes nothing

    trace(server_url, traced_later["model_id"], traced_later["experiment_id"])
    real = _gc(repo, "--older-than", "0s")
    assert _ids(real) == [untraced["model_id"]]  # never more than the dry run listed
    assert real["kept_by_reason"]["traced"] == 2 and real["kept"] == 8
    assert real["deleted"][0]["version_id"] == untraced["version_id"]
    assert not _live(client, untraced["model_id"])
    for reg in (clean, traced_later, traced, evaluated, verified, billing):
        assert _live(client, reg["model_id"]), reg["model_name"]
    for made in (no_version, pending, logged, foreign):
        assert _live(client, made.model_id), made.name

    again = cli("gc", "--older-than", "0s", cwd=repo, env=_env())
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("deleted 0, kept 8 (")
    # The deleted version registers again, as a new model.
    (repo / "other.yaml").unlink()
    write(repo / "app.py", "print('a')\n")
    back = _register(repo)
    assert back["version_id"] == untraced["version_id"] and back["created"] is True
    assert back["model_id"] != untraced["model_id"]


def _paused(
    tmp_path: Path, point: str, repo: Path, *args: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """The real CLI in ``repo``, started to pause at ``point``; returns once it is there."""
    fifos = tmp_path / f"pause-{point}"
    cmd = [sys.executable, "-m", "mlflow_gitver", *args]
    return start_paused(fifos, point, cmd, repo, _env()), fifos


def _resume(proc: subprocess.Popen[bytes], fifos: Path) -> dict[str, Any]:
    out, err = resume(proc, fifos)
    assert proc.returncode == 0, err.decode()
    return dict(json.loads(out))


def test_a_link_or_verify_after_the_listing_keeps_the_version(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    _config(repo, server_url)
    a, b, c = (_dirty(repo, f"print({n!r})\n") for n in "abc")
    proc, fifos = _paused(
        tmp_path, "gc-listed", repo, "gc", "--older-than", "0s", "--format", "json"
    )
    # gc has listed a, b and c as candidates; now b gets a trace and c is deployed.
    trace(server_url, b["model_id"], b["experiment_id"])
    ok = cli("verify", c["model_id"], cwd=repo, env=_env())
    assert ok.returncode == 0, ok.stderr
    report = _resume(proc, fifos)
    assert _ids(report) == [a["model_id"]]
    assert report["kept_by_reason"] == {"traced": 1, "verified": 1}
    client = MlflowClient(server_url)
    assert [_live(client, m["model_id"]) for m in (a, b, c)] == [False, True, True]


@pytest.mark.parametrize("top_up", [False, True], ids=["found-ready", "topping-up"])
def test_a_version_deleted_while_it_registers_comes_back(
    repo: Path, server_url: str, tmp_path: Path, top_up: bool
) -> None:
    from mlflow import MlflowClient

    _config(repo, server_url)
    old = _dirty(repo, "print('wip')\n")
    client = MlflowClient(server_url)
    if top_up:
        # The registration will write the missing tag: a write on a deleted model.
        client.delete_logged_model_tag(old["model_id"], TAG_SUBJECT)
    proc, fifos = _paused(tmp_path, "picked", repo, "register", "--format", "json")
    # The registration found the READY model; gc deletes it before it goes on.
    gone = _gc(repo, "--older-than", "0s")
    assert _ids(gone) == [old["model_id"]]
    back = _resume(proc, fifos)
    assert back["version_id"] == old["version_id"]
    assert back["model_id"] != old["model_id"] and back["created"] is True
    live = _version_models(client, str(old["experiment_id"]), old["version_id"])
    assert [m.model_id for m in live] == [back["model_id"]]
    assert str(live[0].status) == "READY" and TAG_SUBJECT in live[0].tags


def test_gc_racing_registrations_of_the_version(repo: Path, server_url: str) -> None:
    """gc and two registrations of the version it deletes, started together, many
    times.  A registration never fails and never prints a model gc did not delete;
    after each round the version has exactly one live READY model; the clean and
    the traced versions are never touched."""
    from mlflow import MlflowClient

    _config(repo, server_url)
    clean = _register(repo)
    traced = _dirty(repo, "print('traced')\n")
    trace(server_url, traced["model_id"], traced["experiment_id"])
    current = _dirty(repo, "print('racing')\n")
    client = MlflowClient(server_url)
    eid, vid = str(current["experiment_id"]), str(current["version_id"])
    py = [sys.executable, "-m", "mlflow_gitver"]
    deleted_under = came_back = 0
    for _round in range(ROUNDS):
        # Every registration then writes a tag: the write gc may delete the model under.
        client.delete_logged_model_tag(current["model_id"], TAG_SUBJECT)
        cmds = [
            [*py, "register", "--format", "json"],
            [*py, "register", "--format", "json"],
            [*py, "gc", "--older-than", "0s", "--format", "json"],
        ]
        procs = [
            subprocess.Popen(
                c, cwd=repo, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for c in cmds
        ]
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err.decode()
            outs.append(json.loads(out))
        *regs, report = outs
        deleted = set(_ids(report))
        assert deleted <= {current["model_id"], *(r["model_id"] for r in regs)}
        deleted_under += current["model_id"] in deleted
        for r in regs:
            assert r["version_id"] == vid
            # Printed deleted only when gc deleted it after the registration's last read.
            assert _live(client, r["model_id"]) or r["model_id"] in deleted
            came_back += r["model_id"] != current["model_id"]
        current = _register(repo)
        live = _version_models(client, eid, vid)
        assert [m.model_id for m in live] == [current["model_id"]]
        assert str(live[0].status) == "READY"
    assert _live(client, clean["model_id"]) and _live(client, traced["model_id"])
    print(
        f"gc deleted the registered model in {deleted_under} of {ROUNDS} rounds; {came_back} "
        "registrations printed a new model"
    )
    assert deleted_under == ROUNDS  # nothing else deletes the READY model: gc always could


def test_bad_input_and_no_server(repo: Path, tmp_path: Path) -> None:
    for bad in ("30", "1y", "-1d", "1.5h"):
        out = cli("gc", "--older-than", bad, cwd=repo, env=_env())
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "--older-than" in out.stderr
    none = cli("gc", "--older-than", "1d", cwd=repo, env=_env())
    assert none.returncode == 2 and "no config" in none.stderr, none.stderr
    assert none.stderr.count("\n") == 1
    missing = cli("gc", cwd=repo, env=_env())
    assert missing.returncode == 2 and "--older-than" in missing.stderr
    url = f"http://127.0.0.1:{free_port()}"
    write(repo / ".mlflow-gitver.yaml", f"name: shop\ntracking_uri: {url}\n")
    down = cli("gc", "--older-than", "1d", cwd=repo, env=_env(MLFLOW_GITVER_RETRY_SECONDS="1"))
    assert down.returncode == 1 and down.stderr.count("\n") == 1, down.stderr
    assert "cannot reach the MLflow tracking server" in down.stderr


def test_the_run_after_a_dry_run_deletes_no_more_than_it_listed(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    """A version that becomes old enough between the dry run and the run is kept by
    the run (gcplan.py), and the run after that is not restricted any more."""
    _config(repo, server_url)
    first = _dirty(repo, "print('first')\n")
    dry = _gc(repo, "--older-than", "0s", "--dry-run")
    assert _ids(dry) == [first["model_id"]]
    later = _dirty(repo, "print('later')\n")  # created after the dry run
    # A dry run with other arguments keeps its own list: it replaces nothing.
    assert cli("gc", "--older-than", "9w", "--dry-run", cwd=repo, env=_env()).returncode == 0
    real = cli("gc", "--older-than", "0s", cwd=repo, env=_env())
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("following the dry run of ")
    assert f"deleted {first['model_name']}" in real.stdout
    assert later["model_id"] not in real.stdout and "1 not in the dry run" in real.stdout
    # The plan was used: the next run is the plain rule again.
    after = _gc(repo, "--older-than", "0s")
    assert _ids(after) == [later["model_id"]] and after["dry_run_of"] is None
    # Outside a clone there is nowhere to keep the list: said.
    outside = cli(
        "gc",
        "--older-than",
        "0s",
        "--dry-run",
        "--config",
        str(repo / ".mlflow-gitver.yaml"),
        cwd=tmp_path,
        env=_env(),
    )
    assert outside.returncode == 0 and "this list is not saved" in outside.stderr, outside.stderr
