"""The workspace: one database that keeps a call's profiles, runs, decisions and outcomes.

>>> from matcher.workspace import Workspace
>>> ws = Workspace.init("appel.coopmatch")                       # doctest: +SKIP
>>> ws.import_profiles("projects", "projets.csv")                # doctest: +SKIP
>>> ws.decide("P001", "F-FDD-TERRES", status="applied", amount=40000, by="ana")  # doctest: +SKIP
>>> ws.decisions()                                               # doctest: +SKIP

Every write is one transaction: an import, a decision, a bulk decision file,
a run. An interrupted one leaves the workspace as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from matcher.normalize.pipeline import Normalized
from matcher.normalize.problems import ERROR, Problem, problem
from matcher.workspace import codec, store
from matcher.workspace.decisions import (
    FILE_COLUMNS,
    OUTCOMES,
    REQUIRED_COLUMNS,
    STATUSES,
    Event,
    allowed,
    amounts,
    current_states,
)
from matcher.workspace.models import Decision, Import, ImportProblem, Profile, Run, RunPair
from matcher.workspace.store import WorkspaceError

KINDS = ("projects", "funders", "history")
#: Rows per INSERT batch.
CHUNK = 5_000
#: Keys per ``IN (…)`` when reading chosen profiles (below SQLite's and PostgreSQL's parameter limits).
KEY_CHUNK = 500
DECISION_COLUMNS = ["project_id", "funder_id", "call_id", "status", "amount_requested", "amount_granted",
                    "date", "reason", "note", "by", "events", "first_at", "updated_at"]


@dataclass
class ImportResult:
    """What one import did: counts, and the normalisation result with its rejects."""

    kind: str
    source: str
    sha256: str
    import_id: int | None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    already: int | None = None  # id of the earlier import of the same file, when nothing was done
    normalized: Normalized | None = None

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


class DecisionError(WorkspaceError):
    """A decision (or a bulk file) was refused; nothing was recorded. ``problems`` says why."""

    def __init__(self, message: str, problems: list[Problem] | None = None, rows_read: int = 0):
        super().__init__(message)
        self.problems = problems or []
        self.rows_read = rows_read


@dataclass
class DecisionsResult:
    recorded: int
    rows_read: int
    problems: list[Problem] = field(default_factory=list)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a folder's supported files (names and bytes, in name order)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    for file in files:
        if len(files) > 1:
            digest.update(file.name.encode("utf-8") + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class Workspace:
    """An open workspace (SQLite file or PostgreSQL database). Use :meth:`open` or :meth:`init`."""

    def __init__(self, name: str, url: str, path: Path | None, engine, revision: str,
                 backup: Path | None = None):
        self.name = name
        self.url = url
        self.path = path
        self.engine = engine
        self.revision = revision
        #: Where the backup written before a migration is (None when none was needed).
        self.backup = backup

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, ws: str | os.PathLike, migrate: bool = True) -> Workspace:
        """Open an existing workspace; an older schema is migrated after a backup copy."""
        url, path = store.resolve(ws)
        if path is not None and not path.exists():
            raise WorkspaceError(f"no workspace at '{os.fspath(ws)}'; create it with "
                                 f"'coopmatch workspace init {os.fspath(ws)}'")
        engine = store.make_engine(url)
        try:
            revision, saved = store.prepare(engine, url, path, create=False, migrate=migrate)
        except Exception:
            engine.dispose()
            raise
        return cls(os.fspath(ws), url, path, engine, revision, saved)

    @classmethod
    def init(cls, ws: str | os.PathLike, url: str | None = None) -> Workspace:
        """Create a workspace: an SQLite file at ``ws``, or (with ``url``) a pointer file ``ws`` to a database."""
        name = os.fspath(ws)
        if url is not None:
            if "://" in name:
                raise WorkspaceError("with --url, WS is the name (a file) bound to the URL")
            target = store.driver_url(url)
            pointer = Path(name)
            if pointer.exists():
                raise WorkspaceError(f"'{name}' already exists")
            engine = store.make_engine(target)
            revision, _ = store.prepare(engine, target, None, create=True)
            from matcher.io.writers import write_text

            write_text(f"url: {url}\n", pointer)
            return cls(name, target, None, engine, revision)
        target, path = store.resolve(name)
        if path is not None and path.exists() and path.stat().st_size > 0:
            raise WorkspaceError(f"'{name}' already exists")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = store.make_engine(target)
        revision, _ = store.prepare(engine, target, path, create=True)
        return cls(name, target, path, engine, revision)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.name!r}, schema {self.revision})"

    # ------------------------------------------------------------------ imports

    def import_profiles(self, kind: str, path: str | os.PathLike, mapping: dict[str, str] | None = None,
                        refused_when_zero: bool = False, source: str | None = None) -> ImportResult:
        """Normalise ``path`` as ``kind`` (the pipelines of ``normalize``) and upsert it by id, in one transaction.

        Projects are keyed by ``project_id``; funders by ``funder_id`` (a funder and
        all its calls are one profile); history rows by file name and content (the
        n-th identical row of a file is the n-th copy). A changed profile gets a new
        version, the earlier one is kept. Re-importing a file already imported
        with the same options does nothing and says so (``already``).
        """
        from sqlalchemy import select

        from matcher.io.loading import load

        if kind not in KINDS:
            raise WorkspaceError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
        path = Path(path)
        if not path.exists():
            raise WorkspaceError(f"no such file or folder: '{path}'")
        sha = file_sha256(path)
        options = json.dumps({"mapping": dict(sorted((mapping or {}).items())),
                              "refused_when_zero": bool(refused_when_zero), "source": source}, sort_keys=True)
        earlier = self._same_import(kind, sha, options)
        if earlier is not None:
            return ImportResult(kind, path.name, sha, None, already=earlier)
        normalized = load(kind, path, forced=mapping or None, refused_when_zero=refused_when_zero, source=source)
        keyed = _keyed_rows(kind, normalized.frame, path.name)
        summary = normalized.summary
        table = Profile.__table__
        with store.writing(self.engine) as conn:
            earlier = conn.execute(select(Import.id).where(Import.kind == kind, Import.sha256 == sha,
                                                           Import.options == options)).scalar()
            if earlier is not None:  # another process imported the same file meanwhile
                return ImportResult(kind, path.name, sha, None, already=earlier)
            current = {key: (pid, dig, version) for pid, key, dig, version in conn.execute(
                select(table.c.id, table.c.key, table.c.digest, table.c.version)
                .where(table.c.kind == kind, table.c.current.is_(True)))}
            import_id = conn.execute(Import.__table__.insert().values(
                kind=kind, source=path.name, sha256=sha, options=options, created_at=store.now(),
                rows_read=summary["rows_read"], rows_normalised=summary["rows_normalised"],
                rows_rejected=summary["rows_rejected"], warnings=summary["warnings"],
                inserted=0, updated=0, unchanged=0)).inserted_primary_key[0]
            new_rows, retired = [], []
            inserted = updated = unchanged = 0
            for key, text in keyed:
                dig = codec.digest(text)
                known = current.get(key)
                if known is None:
                    new_rows.append((kind, key, 1, dig, text, import_id, True))
                    current[key] = (None, dig, 1)
                    inserted += 1
                elif known[1] == dig:
                    unchanged += 1
                else:
                    if known[0] is not None:
                        retired.append(known[0])
                    new_rows.append((kind, key, known[2] + 1, dig, text, import_id, True))
                    current[key] = (None, dig, known[2] + 1)
                    updated += 1
            for start in range(0, len(retired), CHUNK):
                conn.execute(table.update().where(table.c.id.in_(retired[start:start + CHUNK]))
                             .values(current=False))
            bulk_insert(conn, "profiles", PROFILE_COLUMNS, new_rows)
            problems = [(import_id, src, p.row, p.column, p.value, p.code, p.severity, p.reason_en, p.reason_fr)
                        for p, src in zip(normalized.problems, normalized.problem_sources, strict=True)]
            bulk_insert(conn, "import_problems", PROBLEM_COLUMNS, problems)
            conn.execute(Import.__table__.update().where(Import.id == import_id)
                         .values(inserted=inserted, updated=updated, unchanged=unchanged))
        return ImportResult(kind, path.name, sha, import_id, inserted, updated, unchanged, normalized=normalized)

    def _same_import(self, kind: str, sha: str, options: str) -> int | None:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            return conn.execute(select(Import.id).where(Import.kind == kind, Import.sha256 == sha,
                                                        Import.options == options)).scalar()

    def imports(self) -> pd.DataFrame:
        """Every import: id, kind, file, sha256, counts, when."""
        from sqlalchemy import select

        table = Import.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in table.columns])

    def import_problems(self, import_id: int) -> pd.DataFrame:
        """The rejects and warnings of one import, as the rejects file of ``normalize`` has them."""
        from sqlalchemy import select

        table = ImportProblem.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.import_id == import_id)
                                .order_by(table.c.id)).mappings().all()
        columns = ["source", "row", "column", "value", "code", "severity", "reason_en", "reason_fr"]
        frame = pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
        frame["row"] = frame["row"].astype("Int64")
        return frame

    # ------------------------------------------------------------------ reading profiles

    def last_import_id(self) -> int:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            return conn.execute(select(func.max(Import.id))).scalar() or 0

    def _profile_texts(self, kind: str, as_of: int | None = None, keys: list[str] | None = None) -> list[str]:
        """JSON of the profiles of ``kind`` (current, or as they were after import ``as_of``), in first-import order.

        With ``keys``, only those profiles (current ones), read by index in chunks.
        """
        from sqlalchemy import and_, func, select

        t = Profile.__table__
        if as_of is not None:
            scope = and_(t.c.kind == kind, t.c.import_id <= as_of)
            first = select(t.c.key, func.min(t.c.id).label("first"), func.max(t.c.version).label("latest")) \
                .where(scope).group_by(t.c.key).subquery()
            query = select(t.c.data).join(first, and_(first.c.key == t.c.key, first.c.latest == t.c.version)) \
                .where(t.c.kind == kind).order_by(first.c.first)
            with self.engine.connect() as conn:
                return list(conn.execute(query).scalars())
        if keys is not None:
            return [text for _, text in self._current_by_key(kind, keys).values()]
        # the current version of each key, ordered by the id of its first version
        v1 = t.alias("v1")
        query = select(t.c.data).join(v1, and_(v1.c.kind == t.c.kind, v1.c.key == t.c.key, v1.c.version == 1)) \
            .where(t.c.kind == kind, t.c.current.is_(True)).order_by(v1.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def _current_by_key(self, kind: str, keys: list[str], data: bool = True) -> dict[str, tuple[int, str | None]]:
        """{key: (id of its first version, JSON of its current version)} for those of ``keys`` in the workspace.

        In first-import order. One indexed look-up per chunk of keys on (kind, key, version),
        every version of a key at once: the first version has the key's lowest id (versions
        are only ever added), the current one brings its data. Without ``data``, only the ids.
        """
        from sqlalchemy import case, select

        t = Profile.__table__
        columns = [t.c.key, t.c.id, t.c.current]
        if data:
            columns.append(case((t.c.current.is_(True), t.c.data), else_=None))
        first: dict[str, int] = {}
        texts: dict[str, str | None] = {}
        unique = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(unique), KEY_CHUNK):
                query = select(*columns).where(t.c.kind == kind, t.c.key.in_(unique[start:start + KEY_CHUNK]))
                for row in conn.execute(query):
                    key, pid = row[0], row[1]
                    if pid < first.get(key, pid + 1):
                        first[key] = pid
                    if row[2]:
                        texts[key] = row[3] if data else None
        return {key: (first[key], texts[key]) for key in sorted(texts, key=first.__getitem__)}

    def missing_keys(self, kind: str, keys: list[str]) -> list[str]:
        """Which of ``keys`` have no current profile of ``kind`` (in the order given); only those keys are read."""
        known = self._current_by_key(kind, keys, data=False)
        return [k for k in dict.fromkeys(keys) if k not in known]

    def profiles(self, kind: str, as_of: int | None = None, keys: list[str] | None = None) -> pd.DataFrame:
        """The canonical frame of ``kind`` in the workspace (the same frame the files give).

        ``keys`` restricts it to those ids (project or funder ids), current versions only.
        """
        if kind not in KINDS:
            raise WorkspaceError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
        if keys is not None and as_of is not None:
            raise WorkspaceError("profiles: give keys or as_of, not both")
        texts = self._profile_texts(kind, as_of, keys)
        if kind == "funders":
            records = json.loads("[" + ",".join(texts) + "]") if texts else []
            return codec.frame_from_records(kind, [row for rows in records for row in rows])
        return codec.decode_rows(kind, texts)

    def read(self, kind: str, as_of: int | None = None, keys: list[str] | None = None) -> Normalized:
        """:meth:`profiles` as a :class:`~matcher.normalize.pipeline.Normalized` (what the file readers return)."""
        frame = self.profiles(kind, as_of, keys)
        records = frame["funder_id"].nunique() if kind == "funders" and len(frame) else len(frame)
        summary = {"kind": kind, "source": f"workspace {self.name}", "format": "workspace",
                   "rows_read": int(records), "rows_normalised": int(records), "rows_rejected": 0,
                   "profiles_out": len(frame), "warnings": 0, "file_problems": 0,
                   "columns_mapped": {}, "columns_unmapped": []}
        if kind == "funders":
            summary["funders"] = int(records)
            summary["calls"] = int(frame["call_id"].notna().sum()) if len(frame) else 0
        return Normalized(kind=kind, frame=frame, problems=[], summary=summary)

    def profile_history(self, kind: str, key: str) -> pd.DataFrame:
        """Every version of one profile: version, import, current, and the row(s) as JSON."""
        from sqlalchemy import select

        t, i = Profile.__table__, Import.__table__
        query = (select(t.c.version, t.c.import_id, i.c.source, i.c.created_at, t.c.current, t.c.data)
                 .join(i, i.c.id == t.c.import_id).where(t.c.kind == kind, t.c.key == key).order_by(t.c.version))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return pd.DataFrame([dict(r) for r in rows],
                            columns=["version", "import_id", "source", "created_at", "current", "data"])

    def counts(self) -> dict[str, int]:
        """Current profiles per kind, decisions (events), runs."""
        from sqlalchemy import func, select

        t = Profile.__table__
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(t.c.kind, func.count()).where(t.c.current.is_(True))
                                      .group_by(t.c.kind)).all())
            result = {kind: int(found.get(kind, 0)) for kind in KINDS}
            result["decisions"] = conn.execute(select(func.count()).select_from(Decision.__table__)).scalar()
            result["runs"] = conn.execute(select(func.count()).select_from(Run.__table__)).scalar()
        return result

    def _keys(self, kind: str) -> set[str]:
        from sqlalchemy import select

        t = Profile.__table__
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.c.key).where(t.c.kind == kind, t.c.current.is_(True))).scalars())

    # ------------------------------------------------------------------ decisions

    def _events(self, conn=None) -> list[dict]:
        from sqlalchemy import select

        t = Decision.__table__
        query = select(t).order_by(t.c.id)
        if conn is not None:
            return [dict(r) for r in conn.execute(query).mappings()]
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def decide(self, project_id: str, funder_id: str, status: str, call_id: str | None = None,
               amount: float | None = None, reason: str | None = None, note: str | None = None,
               date: str | None = None, by: str | None = None, amount_requested: float | None = None) -> int:
        """Record one decision; refused with :class:`DecisionError` (nothing recorded) when it makes no sense.

        ``amount`` is the amount granted for ``granted``, the amount requested otherwise.
        """
        record = {"project_id": project_id, "funder_id": funder_id, "call_id": call_id, "status": status,
                  "amount": amount, "reason": reason, "note": note, "date": date, "by": by}
        result = self._decide_records([(None, record)], batch=None, rows_read=1,
                                      amount_requested=amount_requested)
        if result.problems:
            raise DecisionError(result.problems[0].reason_en, result.problems, 1)
        return result.recorded

    def decide_file(self, path: str | os.PathLike) -> DecisionsResult:
        """Record every decision of a CSV/XLSX/JSON file in one transaction — or none when a row is bad.

        Raises :class:`DecisionError` with a problem per bad row (nothing recorded).
        """
        from matcher.io.readers import read_profiles

        raw = read_profiles(path)
        columns = {c: str(c).strip().lower() for c in raw.frame.columns}
        frame = raw.frame.rename(columns=columns)
        problems = [p for p in raw.problems if p.severity == ERROR]
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise DecisionError(f"the decision file lacks the column(s) {', '.join(missing)} "
                                f"(expected: {', '.join(FILE_COLUMNS)})", [], raw.records_read)
        records = [(row, {c: (frame.at[i, c] if c in frame.columns else None) for c in FILE_COLUMNS})
                   for i, row in zip(frame.index, raw.rows, strict=True)]
        result = self._decide_records(records, batch=f"{Path(path).name} {file_sha256(path)[:12]}",
                                      rows_read=raw.records_read, earlier_problems=problems)
        if result.problems:
            bad = len({p.row for p in result.problems})
            raise DecisionError(f"{bad} row(s) of {raw.records_read} refused in '{Path(path).name}': "
                                "nothing was recorded", result.problems, raw.records_read)
        return result

    def _decide_records(self, records, batch, rows_read, earlier_problems=(), amount_requested=None):
        from matcher.normalize.parsers import parse_amount, parse_date
        from matcher.normalize.problems import ParseError

        projects, funders = self._keys("projects"), self._call_index()
        problems = list(earlier_problems)
        events: list[tuple[int | None, Event]] = []
        for row, r in records:
            values = {k: _cell(v) for k, v in r.items()}
            bad = []
            pid, fid, cid, status = values["project_id"], values["funder_id"], values["call_id"] or "", values["status"]
            if pid is None:
                bad.append(problem("decision.missing", row, "project_id", None, ERROR, field="project_id"))
            elif pid not in projects:
                bad.append(problem("decision.project_unknown", row, "project_id", pid, ERROR, given=pid))
            if fid is None:
                bad.append(problem("decision.missing", row, "funder_id", None, ERROR, field="funder_id"))
            elif fid not in funders:
                bad.append(problem("decision.funder_unknown", row, "funder_id", fid, ERROR, given=fid))
            elif cid and cid not in funders[fid]:
                bad.append(problem("decision.call_unknown", row, "call_id", cid, ERROR, given=cid, funder=fid))
            status = status.lower() if status else None
            if status is None:
                bad.append(problem("decision.missing", row, "status", None, ERROR, field="status"))
            elif status not in STATUSES:
                bad.append(problem("decision.status_unknown", row, "status", status, ERROR, given=status,
                                   statuses=", ".join(STATUSES)))
            amount = date = None
            try:
                amount = parse_amount(values["amount"], currency_ok=True)
            except ParseError:
                bad.append(problem("decision.value", row, "amount", values["amount"], ERROR,
                                   field="amount", given=values["amount"]))
            try:
                date = parse_date(values["date"]) if values["date"] is not None else None
            except ParseError:
                bad.append(problem("decision.value", row, "date", values["date"], ERROR,
                                   field="date", given=values["date"]))
            if bad:
                problems.extend(bad)
                continue
            requested, granted = amounts(status, amount)
            if amount_requested is not None:
                requested = float(amount_requested)
            events.append((row, Event(pid, fid, cid, status, requested, granted,
                                      date or _today(), values["reason"], values["note"], values["by"])))
        if problems:
            return DecisionsResult(0, rows_read, _sorted(problems))
        table = Decision.__table__
        with store.writing(self.engine) as conn:
            states = {pair: s["status"] for pair, s in current_states(self._events(conn)).items()}
            refused = []
            for row, event in events:
                before = states.get(event.pair)
                if not allowed(before, event.status):
                    refused.append(problem("decision.transition", row, "status", event.status, ERROR,
                                           before=before, after=event.status, project=event.project_id,
                                           funder=event.funder_id + (f"/{event.call_id}" if event.call_id else "")))
                    continue
                states[event.pair] = event.status
            if refused:
                conn.rollback()
                return DecisionsResult(0, rows_read, _sorted(refused))
            stamp = store.now()
            rows = [{"project_id": e.project_id, "funder_id": e.funder_id, "call_id": e.call_id,
                     "status": e.status, "amount_requested": e.amount_requested,
                     "amount_granted": e.amount_granted, "date": e.date, "reason": e.reason, "note": e.note,
                     "by": e.by, "created_at": stamp, "batch": batch} for _, e in events]
            for start in range(0, len(rows), CHUNK):
                conn.execute(table.insert(), rows[start:start + CHUNK])
        return DecisionsResult(len(rows), rows_read)

    def _call_index(self) -> dict[str, set[str]]:
        funders = self.profiles("funders")
        index: dict[str, set[str]] = defaultdict(set)
        for fid, cid in zip(funders["funder_id"], funders["call_id"], strict=True):
            index[fid]
            if isinstance(cid, str):
                index[fid].add(cid)
        return dict(index)

    def decisions(self) -> pd.DataFrame:
        """The current state of every pair that has a decision, sorted by project, funder, call."""
        states = current_states(self._events())
        frame = pd.DataFrame([states[k] for k in sorted(states)], columns=DECISION_COLUMNS)
        for name in ("amount_requested", "amount_granted"):
            frame[name] = frame[name].astype(float)
        frame["events"] = frame["events"].astype("Int64")
        return frame

    def trail(self, project_id: str, funder_id: str, call_id: str | None = None) -> pd.DataFrame:
        """Every decision event of one pair, oldest first."""
        columns = ["id", "status", "amount_requested", "amount_granted", "date", "reason", "note", "by",
                   "created_at", "batch"]
        events = [e for e in self._events() if e["project_id"] == project_id and e["funder_id"] == funder_id
                  and (call_id is None or e["call_id"] == call_id)]
        frame = pd.DataFrame(events, columns=["call_id", *columns])
        return frame

    def dismissed(self) -> set[tuple[str, str, str]]:
        """Pairs whose current state is ``dismissed`` (call '' covers every call of the funder)."""
        return {pair for pair, s in current_states(self._events()).items() if s["status"] == "dismissed"}

    def hide_dismissed(self, ranked: pd.DataFrame, by: list[str], top: int | None) -> tuple[pd.DataFrame, int]:
        """``ranked`` without its dismissed pairs, ranks renumbered within ``by``, at most ``top`` per group.

        Returns the frame and how many pairs were hidden.
        """
        pairs = self.dismissed()
        if not pairs or ranked.empty:
            return ranked, 0
        whole = {(p, f) for p, f, c in pairs if c == ""}
        calls = ranked["call_id"].map(lambda c: c if isinstance(c, str) else "")
        hide = [(p, f) in whole or (p, f, c) in pairs
                for p, f, c in zip(ranked["project_id"], ranked["funder_id"], calls, strict=True)]
        hide = pd.Series(hide, index=ranked.index, dtype=bool)
        kept = ranked.loc[~hide].copy()
        hidden_keys = ranked.loc[hide]
        kept = _cut(kept, by, top)
        return kept.reset_index(drop=True), int(len(hidden_keys))

    def extra_for_dismissed(self) -> int:
        """How many more lines to ask a ranking for, so that hiding dismissed pairs still leaves ``top``."""
        pairs = self.dismissed()
        if not pairs:
            return 0
        per_project: dict[str, int] = defaultdict(int)
        calls = self._call_index()
        for p, f, c in pairs:
            per_project[p] += max(1, len(calls.get(f, ()))) if c == "" else 1
        return max(per_project.values())

    def outcomes_history(self) -> pd.DataFrame:
        """``granted`` and ``refused`` decisions as canonical history rows (the recipient is the project)."""
        states = current_states(self._events())
        outcomes = [s for _, s in sorted(states.items()) if s["status"] in OUTCOMES]
        if not outcomes:
            return codec.frame_from_records("history", [])
        projects = self.profiles("projects").set_index("project_id", drop=False)
        funders = self.profiles("funders")
        names = dict(zip(funders["funder_id"], funders["name"], strict=True))
        titles = {(f, c): t for f, c, t in zip(funders["funder_id"], funders["call_id"], funders["call_title"],
                                               strict=True) if isinstance(c, str)}
        records = []
        for s in outcomes:
            project = projects.loc[s["project_id"]] if s["project_id"] in projects.index else None

            def get(name, project=project):
                if project is None:
                    return None
                value = project[name]
                return None if not isinstance(value, (str, tuple)) and pd.isna(value) else value

            recipient = get("siret") or get("siren") or get("rna") or s["project_id"]
            purpose = " — ".join(x for x in (get("name"), get("summary")) if x) or None
            records.append({
                "funder_id": s["funder_id"], "funder_name": names.get(s["funder_id"]),
                "recipient_id": recipient, "recipient_name": get("carrier_name") or get("name"),
                "recipient_legal_form": get("legal_form"), "purpose": purpose,
                "sectors": None if get("sectors") is None else list(get("sectors")),
                "territory": None if get("territory") is None else list(get("territory")),
                "amount_requested": s["amount_requested"] if s["amount_requested"] is not None
                else (get("amount_requested")),
                "amount_awarded": s["amount_granted"] if s["status"] == "granted" else None,
                "currency": "EUR", "year": int(s["date"][:4]) if s["date"] else None,
                "award_date": s["date"], "status": s["status"],
                "programme": titles.get((s["funder_id"], s["call_id"])) or (s["call_id"] or None),
            })
        return codec.frame_from_records("history", records)

    def history(self, decisions: bool = True) -> pd.DataFrame:
        """Imported grant history, then (with ``decisions``) the workspace's own outcomes."""
        imported = self.profiles("history")
        if not decisions:
            return imported
        outcomes = self.outcomes_history()
        if outcomes.empty:
            return imported
        if imported.empty:
            return outcomes
        return pd.concat([imported, outcomes[imported.columns]], ignore_index=True)

    # ------------------------------------------------------------------ runs

    def record_run(self, command: str, target: str, params: dict, run_date: str,
                   by_project: pd.DataFrame | None = None, by_funder: pd.DataFrame | None = None,
                   hidden_dismissed: int = 0) -> int:
        """Record one ranking: its parameters, the inputs' versions, and its ranked pairs with contributions."""
        from sqlalchemy import func, select

        frames = [(d, f) for d, f in (("project", by_project), ("funder", by_funder)) if f is not None]
        with store.writing(self.engine) as conn:
            inputs = {"last_import": conn.execute(select(func.max(Import.id))).scalar() or 0,
                      "last_decision": conn.execute(select(func.max(Decision.id))).scalar() or 0}
            t = Profile.__table__
            for kind, n in conn.execute(select(t.c.kind, func.count()).where(t.c.current.is_(True))
                                        .group_by(t.c.kind)):
                inputs[kind] = int(n)
            pairs = sum(len(f) for _, f in frames)
            run_id = conn.execute(Run.__table__.insert().values(
                command=command, target=target, params=json.dumps(params, sort_keys=True, default=str),
                inputs=json.dumps(inputs, sort_keys=True), run_date=run_date, created_at=store.now(),
                pairs=pairs, hidden_dismissed=hidden_dismissed)).inserted_primary_key[0]
            for direction, frame in frames:  # runs of batch hold 100,000s of pairs
                bulk_insert(conn, "run_pairs", PAIR_COLUMNS, _pair_rows(run_id, direction, frame, PAIR_COLUMNS))
        return int(run_id)

    def runs(self) -> pd.DataFrame:
        """Every recorded run, oldest first."""
        from sqlalchemy import select

        t = Run.__table__
        columns = ["id", "command", "target", "run_date", "created_at", "pairs", "hidden_dismissed", "params",
                   "inputs"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*[t.c[c] for c in columns]).order_by(t.c.id)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=columns)

    def run(self, run_id: int) -> dict:
        from sqlalchemy import select

        t = Run.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == run_id)).mappings().first()
        if row is None:
            raise WorkspaceError(f"no run {run_id} in this workspace")
        run = dict(row)
        run["params"], run["inputs"] = json.loads(run["params"]), json.loads(run["inputs"])
        return run

    def run_pairs(self, run_id: int, direction: str | None = None) -> pd.DataFrame:
        """The ranked pairs of one run (``call_id`` None when the line is about a funder without call)."""
        from sqlalchemy import select

        t = RunPair.__table__
        columns = ["direction", "project_id", "funder_id", "call_id", "rank", "score", "eligibility",
                   "contributions"]
        query = select(*[t.c[c] for c in columns]).where(t.c.run_id == run_id)
        if direction is not None:
            query = query.where(t.c.direction == direction)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.id)).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["call_id"] = frame["call_id"].map(lambda c: c or None).astype(object)
        frame["contributions"] = frame["contributions"].map(lambda c: json.loads(c) if c else {})
        return frame


PROFILE_COLUMNS = ("kind", "key", "version", "digest", "data", "import_id", "current")
PROBLEM_COLUMNS = ("import_id", "source", "row", "column", "value", "code", "severity", "reason_en", "reason_fr")
PAIR_COLUMNS = ("run_id", "direction", "project_id", "funder_id", "call_id", "rank", "score", "eligibility",
                "contributions")


def bulk_insert(conn, table: str, columns, rows: list[tuple], chunk: int = CHUNK * 4) -> None:
    """Insert tuples with the driver's own executemany, in chunks, inside the caller's transaction.

    Much faster than SQLAlchemy's per-row dictionaries for the 100,000s of rows of an
    import or a batch run; the names are the model's (quoted: ``column`` is an SQL word).
    """
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quote = conn.dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    for start in range(0, len(rows), chunk):
        conn.exec_driver_sql(sql, rows[start:start + chunk])


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if value != value else value
    text = str(value).strip()
    return text or None


def _today() -> str:
    import datetime as dt

    return dt.date.today().isoformat()


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (-1 if p.row is None else p.row, p.column or ""))


def _cut(frame: pd.DataFrame, by: list[str], top: int | None) -> pd.DataFrame:
    """Renumber ``rank`` 1.. within each group of ``by`` (order kept) and keep the first ``top``."""
    if frame.empty:
        return frame
    keys = [frame[c].map(lambda v: v if isinstance(v, str) else "") for c in by]
    rank = frame.groupby(keys, sort=False).cumcount() + 1
    frame = frame.assign(rank=rank.astype(frame["rank"].dtype))
    if top is not None:
        frame = frame.loc[frame["rank"] <= top]
    return frame


def _pair_rows(run_id: int, direction: str, frame: pd.DataFrame, columns) -> list[tuple]:
    """The rows of ``run_pairs`` for one ranked frame, as tuples in ``columns`` order (built column-wise)."""
    import numpy as np

    contribution_columns = sorted((c for c in frame.columns if c.startswith("contribution_")),
                                  key=lambda c: json.dumps(c[len("contribution_"):]))
    if contribution_columns:
        parts = []
        for name in contribution_columns:
            head = json.dumps(name[len("contribution_"):]) + ":"
            values = np.round(frame[name].to_numpy(dtype=float), 6).tolist()
            parts.append([None if v != v else head + repr(v) for v in values])
        texts = ["{" + ",".join([p for p in row if p is not None]) + "}" for row in zip(*parts, strict=True)]
    else:
        texts = ["{}"] * len(frame)
    n = len(frame)
    values = {
        "run_id": [run_id] * n, "direction": [direction] * n,
        "project_id": frame["project_id"].tolist(), "funder_id": frame["funder_id"].tolist(),
        "call_id": [c if isinstance(c, str) else "" for c in frame["call_id"].tolist()],
        "rank": [int(r) for r in frame["rank"].tolist()],
        "score": [float(s) for s in frame["score"].tolist()],
        "eligibility": frame["eligibility"].tolist(), "contributions": texts,
    }
    return list(zip(*[values[c] for c in columns], strict=True))


def _keyed_rows(kind: str, frame: pd.DataFrame, source: str) -> list[tuple[str, str]]:
    """(key, JSON) per profile: project id; funder id (its calls as a JSON list); history: file and content.

    History rows have no id: a row is the n-th copy of its content in its file
    (two files may hold identical rows that are distinct applications).
    """
    texts = codec.encode_rows(frame)
    if kind == "projects":
        return list(zip(frame["project_id"].tolist(), texts, strict=True))
    if kind == "funders":
        grouped: dict[str, list[str]] = {}
        for fid, text in zip(frame["funder_id"].tolist(), texts, strict=True):
            grouped.setdefault(fid, []).append(text)
        return [(fid, "[" + ",".join(rows) + "]") for fid, rows in grouped.items()]
    seen: dict[str, int] = defaultdict(int)
    keyed = []
    for text in texts:
        dig = codec.digest(text)
        keyed.append((f"{source}:{dig}:{seen[dig]}", text))
        seen[dig] += 1
    return keyed
