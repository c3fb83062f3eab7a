"""Opening a workspace: where it is, its engine, its schema version, its write transactions.

A workspace is named by

- a path to an SQLite file (``team.coopmatch``): embedded, nothing to install;
- a URL (``postgresql://user@host/db``) for a shared PostgreSQL database;
- a path to a small *pointer file* written by ``workspace init WS --url URL``:
  one YAML line ``url: postgresql://…`` that binds the name to the URL (keep
  passwords out of it: libpq reads ``PGPASSWORD`` and ``~/.pgpass``).

SQLite runs in WAL mode with a busy timeout, and every write transaction is
``BEGIN IMMEDIATE``: two processes writing the same file wait for each other
instead of failing or corrupting it. On PostgreSQL, writers take one advisory
transaction lock, for the same one-writer-at-a-time behaviour.

The schema version is Alembic's ``alembic_version``. Opening an older
workspace writes a backup copy, then migrates it; opening a newer one (made by
a later coopmatch) is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from matcher.core.errors import CoopmatchError

#: Seconds a writer waits for another writer of the same SQLite file.
BUSY_TIMEOUT = 60.0
#: The advisory lock that serialises writers on PostgreSQL.
PG_WRITE_LOCK = 7_261_011
SQLITE_MAGIC = b"SQLite format 3\x00"


class WorkspaceError(CoopmatchError):
    """A workspace cannot be opened, or was asked something it refuses."""


def now() -> str:
    """The current time, UTC, to the second (ISO 8601)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def resolve(ws: str | os.PathLike) -> tuple[str, Path | None]:
    """The SQLAlchemy URL of workspace ``ws`` and, for SQLite, its file."""
    text = os.fspath(ws)
    if "://" in text:
        return driver_url(text), None
    path = Path(text)
    if path.is_dir():
        raise WorkspaceError(f"'{text}' is a folder, not a workspace")
    if path.is_file():
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC or path.stat().st_size == 0:
            return f"sqlite:///{path.resolve()}", path
        return driver_url(_pointer_url(path)), None
    return f"sqlite:///{path.resolve()}", path


def _pointer_url(path: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or "://" not in data["url"]:
        raise WorkspaceError(f"'{path}' is neither an SQLite workspace nor a workspace pointer (url: …)")
    return os.path.expandvars(data["url"])


def driver_url(url: str) -> str:
    """``postgresql://`` means psycopg (version 3) here."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("postgresql+", "sqlite:")):
        return url
    raise WorkspaceError(f"unsupported workspace URL '{url.split('://', 1)[0]}://…' "
                         "(use an SQLite file path or postgresql://…)")


def make_engine(url: str):
    """An engine with the workspace's connection settings (WAL, busy timeout, immediate writes)."""
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, record):
            dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            write = connection.get_execution_options().get("coopmatch_write")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as err:  # pragma: no cover - depends on the installed extras
        raise WorkspaceError(f"PostgreSQL workspaces need the 'postgres' extra "
                             f"(pip install 'coopmatch[postgres]'): {err}") from None


def alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "matcher.workspace:migrations")
    config.attributes["connection"] = connection
    return config


def known_revisions() -> list[str]:
    """Schema versions this coopmatch knows, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(None))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    return known_revisions()[-1]


def current_revision(connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (one transaction)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def user_tables(connection) -> list[str]:
    from sqlalchemy import inspect

    return [t for t in inspect(connection).get_table_names() if t != "alembic_version"]


def backup(engine, url: str, path: Path | None, revision: str) -> Path:
    """A copy of the whole workspace before migrating it; returns where it is.

    SQLite: a consistent copy of the file (SQLite's online backup) beside it.
    PostgreSQL: every table as JSON (gzipped) in ``COOPMATCH_BACKUP_DIR`` or the
    current folder.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if path is not None:
        target = path.with_name(f"{path.name}.v{revision}-{stamp}.bak")
        source = sqlite3.connect(path)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
        return target
    import gzip

    from sqlalchemy import MetaData, select

    folder = Path(os.environ.get("COOPMATCH_BACKUP_DIR") or ".")
    folder.mkdir(parents=True, exist_ok=True)
    database = engine.url.database or "workspace"
    target = folder / f"{database}.v{revision}-{stamp}.json.gz"
    metadata = MetaData()
    with engine.connect() as connection:
        metadata.reflect(connection)
        dump = {"revision": revision, "tables": {}}
        for name, table in sorted(metadata.tables.items()):
            rows = connection.execute(select(table)).mappings().all()
            dump["tables"][name] = [dict(r) for r in rows]
    tmp = target.with_name(target.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as handle:
        json.dump(dump, handle, ensure_ascii=False, default=str)
    os.replace(tmp, target)
    return target


def prepare(engine, url: str, path: Path | None, create: bool, migrate: bool = True) -> tuple[str, Path | None]:
    """Create or migrate the schema as needed; returns (revision, backup path or None)."""
    known = known_revisions()
    with engine.connect() as connection:
        revision = current_revision(connection)
        tables = user_tables(connection)
        connection.rollback()
    if revision is None:
        if tables:
            raise WorkspaceError("this database has tables but no coopmatch schema version: not a workspace")
        if not create:
            raise WorkspaceError("this database is not a workspace yet; create it with "
                                 "'coopmatch workspace init'")
        upgrade(engine)
        return known[-1], None
    if revision not in known:
        raise WorkspaceError(f"this workspace has schema version {revision}, newer than this coopmatch "
                             f"knows (up to {known[-1]}): upgrade coopmatch to open it")
    if revision == known[-1]:
        return revision, None
    if not migrate:
        raise WorkspaceError(f"this workspace has schema version {revision} and needs migrating to {known[-1]}")
    saved = backup(engine, url, path, revision)
    upgrade(engine)
    return known[-1], saved


@contextmanager
def writing(engine):
    """One write transaction: ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL."""
    from sqlalchemy import text

    with engine.execution_options(coopmatch_write=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
        yield connection
