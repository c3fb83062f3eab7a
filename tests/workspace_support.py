"""Fixtures of the workspace tests: the same tests on SQLite and on a real PostgreSQL server.

PostgreSQL runs when ``COOPMATCH_TEST_PG_URL`` names a server (``.ci/run`` starts
a throwaway cluster and sets it); each test gets a database of its own, dropped
afterwards. Without it the PostgreSQL cases skip, with the reason.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_URL = os.environ.get("COOPMATCH_TEST_PG_URL")
PG_SKIP = ("no PostgreSQL server: set COOPMATCH_TEST_PG_URL (.ci/run starts one) to run the "
           "workspace tests against PostgreSQL")


@dataclass
class Target:
    """Where a test's workspace lives: ``ws`` is what the CLI and ``Workspace.open`` take."""

    backend: str
    ws: str
    url: str | None  # PostgreSQL only
    folder: Path

    def init_args(self) -> list[str]:
        return [self.ws] if self.url is None else [self.ws, "--url", self.url]

    def init(self):
        from matcher.workspace import Workspace

        return Workspace.init(self.ws, url=self.url)


def _database_url(base: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        yield Target("sqlite", str(tmp_path / "appel.coopmatch"), None, tmp_path)
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    import psycopg

    name = f"coopmatch_test_{uuid.uuid4().hex[:12]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Target("postgresql", str(tmp_path / "equipe.coopmatch"), _database_url(admin, name), tmp_path)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
