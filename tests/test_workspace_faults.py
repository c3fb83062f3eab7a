"""Workspace faults: kill -9 during an import, two importers at once — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import matcher as m
from matcher.evaluation.synthetic import write_profiles
from matcher.workspace import Workspace

PYTHON = [sys.executable, "-m", "matcher"]


def importer(ws: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen([*PYTHON, "workspace", "import", ws, "projects", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_during_a_large_import_leaves_the_workspace_as_before(target, tmp_path):
    with target.init() as ws:
        ws.import_profiles("projects", m.SAMPLE_PROJECTS)
        ws.import_profiles("funders", m.SAMPLE_FUNDERS)
        before = ws.counts(), ws.imports()["id"].tolist()
    big, _ = write_profiles(tmp_path / "big", projects=12_000, funders=5, seed=3)
    process = importer(target.ws, big)
    wal = Path(target.ws + "-wal")
    deadline = time.monotonic() + 120
    if target.backend == "sqlite":  # kill once rows are being written: the WAL grows past 1 MB
        while time.monotonic() < deadline and process.poll() is None:
            if wal.exists() and wal.stat().st_size > 1 << 20:
                break
            time.sleep(0.01)
    else:  # kill once the import's transaction holds the writers' lock
        import psycopg

        from matcher.workspace.store import PG_WRITE_LOCK

        with psycopg.connect(target.url, autocommit=True) as conn:
            while time.monotonic() < deadline and process.poll() is None:
                held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                                    (PG_WRITE_LOCK,)).fetchone()[0]
                if held:
                    time.sleep(0.2)  # some rows inserted
                    break
                time.sleep(0.01)
    assert process.poll() is None, "the import ended before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    if target.backend == "sqlite":
        with sqlite3.connect(target.ws) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Workspace.open(target.ws) as ws:
        assert (ws.counts(), ws.imports()["id"].tolist()) == before
        again = ws.import_profiles("projects", big)  # and the same import then goes through
        assert again.inserted == 12_000


def test_two_concurrent_importers_both_land(target, tmp_path):
    with target.init() as ws:
        ws.import_profiles("funders", m.SAMPLE_FUNDERS)
    first, _ = write_profiles(tmp_path / "a", projects=4_000, funders=2, seed=1)
    second = tmp_path / "b.csv"
    second.write_text(first.read_text(encoding="utf-8").replace("\nP", "\nQ").replace("\nSYN", "\nALT"),
                      encoding="utf-8")
    a, b = importer(target.ws, first), importer(target.ws, second)
    outs = [p.communicate(timeout=300) for p in (a, b)]
    assert [a.returncode, b.returncode] == [0, 0], outs
    with Workspace.open(target.ws) as ws:
        projects = ws.profiles("projects")
        imports = ws.imports()
    ids_a = m.read_projects(first).frame["project_id"]
    ids_b = m.read_projects(second).frame["project_id"]
    assert len(set(ids_a) & set(ids_b)) == 0
    assert len(projects) == len(ids_a) + len(ids_b) and projects["project_id"].is_unique
    assert sorted(imports["inserted"].tolist())[-2:] == sorted([len(ids_a), len(ids_b)])
