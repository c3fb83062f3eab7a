"""The tables of a workspace (the current schema version), as SQLAlchemy 2 models.

The migrations in ``migrations/versions`` build exactly these tables (a test
compares them); change a model only together with a new migration.

- ``imports``: one row per import of a file (kind, file name, sha256, counts);
  ``import_problems`` keeps its rejects and warnings.
- ``profiles``: every version of every project, funder (all its calls in one
  row) and history row; ``current`` marks the latest version of each key.
- ``decisions``: append-only events per (project, funder, call); the state of a
  pair is its last event.
- ``runs`` and ``run_pairs``: every ranking recorded from a workspace.
- ``web_users``, ``web_sessions``, ``web_tokens``, ``web_mappings`` (since 0003): the
  accounts of ``coopmatch serve`` (passwords, session ids and API tokens kept only as
  hashes) and the column mappings chosen on its import screen.

Texts hold JSON where a value is structured (``data``, ``options``, ``params``,
``inputs``, ``contributions``): the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Import(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    options: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_normalised: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)


class ImportProblem(Base):
    __tablename__ = "import_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    source: Mapped[str | None] = mapped_column(Text)
    row: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    reason_en: Mapped[str] = mapped_column(Text)
    reason_fr: Mapped[str] = mapped_column(Text)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        UniqueConstraint("kind", "key", "version", name="uq_profiles_kind_key_version"),
        Index("ix_profiles_kind_current", "kind", "current"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    current: Mapped[bool] = mapped_column(Boolean)


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_pair", "project_id", "funder_id", "call_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(Text)
    funder_id: Mapped[str] = mapped_column(Text)
    call_id: Mapped[str] = mapped_column(Text)  # '' when the decision is about the funder, no call
    status: Mapped[str] = mapped_column(String(16))
    amount_requested: Mapped[float | None] = mapped_column(Float)
    amount_granted: Mapped[float | None] = mapped_column(Float)
    date: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    batch: Mapped[str | None] = mapped_column(Text)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    run_date: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[str] = mapped_column(String(32))
    pairs: Mapped[int] = mapped_column(Integer)
    hidden_dismissed: Mapped[int] = mapped_column(Integer)  # since schema version 0002


class RunPair(Base):
    __tablename__ = "run_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # 'project' (funders-for) or 'funder' (shortlist)
    project_id: Mapped[str] = mapped_column(Text)
    funder_id: Mapped[str] = mapped_column(Text)
    call_id: Mapped[str] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    eligibility: Mapped[str] = mapped_column(String(16))
    contributions: Mapped[str | None] = mapped_column(Text)  # since schema version 0002


class WebUser(Base):
    __tablename__ = "web_users"
    __table_args__ = (UniqueConstraint("name", name="uq_web_users_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # admin, staff or viewer
    password_hash: Mapped[str] = mapped_column(Text)  # scrypt$n$r$p$salt$hash, never the password
    created_at: Mapped[str] = mapped_column(String(32))


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("digest", name="uq_web_sessions_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the cookie's value
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))


class WebToken(Base):
    __tablename__ = "web_tokens"
    __table_args__ = (UniqueConstraint("digest", name="uq_web_tokens_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the token
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))


class WebMapping(Base):
    """A column mapping chosen on the import screen, for the next file of the same shape (kind and headers)."""

    __tablename__ = "web_mappings"
    __table_args__ = (UniqueConstraint("kind", "shape", name="uq_web_mappings_kind_shape"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    shape: Mapped[str] = mapped_column(String(64))  # sha256 of the file's headers
    mapping: Mapped[str] = mapped_column(Text)  # JSON field -> column
    created_at: Mapped[str] = mapped_column(String(32))


TABLES = [m.__table__ for m in (Import, ImportProblem, Profile, Decision, Run, RunPair, WebUser, WebSession,
                                WebToken, WebMapping)]
