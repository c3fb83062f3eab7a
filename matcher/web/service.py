"""What the pages and the API show, computed once per state of the workspace.

A ranking depends on the workspace's profiles (its last import), its decisions
(dismissed pairs are hidden, outcomes feed the history criterion), the run date
and the options. :class:`Service` keys every result on those, so the pages and
the API of an unchanged workspace reuse the ranking, its explanations and its
rendered table; a new import or decision gives new keys. The first time a
ranking is computed it is recorded as a run of the workspace (what ``coopmatch
workspace diff`` and the "what changed" page compare).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from matcher import Matcher, Report, Workspace
from matcher.core.missing import is_missing
from matcher.workspace import WorkspaceError
from matcher.workspace.models import WebMapping

CACHE_SIZE = 64
#: Seconds the workspace's state (last import, decision count, accounts) is trusted before it is read again;
#: the app's own writes call :meth:`Service.touch`, so only other processes' writes wait that long.
STATE_TTL = 1.0


class NotFound(WorkspaceError):
    """A project, funder or call the workspace does not have (HTTP 404)."""


class Invalid(WorkspaceError):
    """A request parameter that makes no sense (HTTP 422)."""


@dataclass
class Ranking:
    ranked: pd.DataFrame
    report: Report
    matcher: Matcher
    run_id: int
    hidden: int
    key: tuple


def parse_day(value: str | None) -> str | None:
    """A run date from a query string (ISO or dd/mm/yyyy), or None for today."""
    if value in (None, ""):
        return None
    from matcher.normalize.parsers import parse_date
    from matcher.normalize.problems import ParseError

    try:
        parsed = parse_date(value)
    except ParseError:
        parsed = None
    if parsed is None:
        raise Invalid(f"unreadable date: '{value}' (expected YYYY-MM-DD or dd/mm/yyyy)")
    return parsed


class Service:
    """One open workspace and the caches of what was computed from it (thread-safe)."""

    def __init__(self, ws_path: str, lang: str = "fr"):
        self.ws_path = ws_path
        self.ws = Workspace.open(ws_path)
        self.lang = lang
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._state: tuple[float, tuple[int, int], bool] | None = None

    def close(self) -> None:
        self.ws.close()

    # ------------------------------------------------------------------ caching

    def _read_state(self) -> tuple[tuple[int, int], bool]:
        import time

        from matcher.web.accounts import has_users

        now = time.monotonic()
        with self._lock:
            if self._state is not None and now - self._state[0] < STATE_TTL:
                return self._state[1], self._state[2]
        counts = self.ws.counts()
        state = (self.ws.last_import_id(), int(counts["decisions"])), has_users(self.ws)
        with self._lock:
            self._state = (now, *state)
        return state

    def state(self) -> tuple[int, int]:
        """(last import id, decision events): what every cached result depends on."""
        return self._read_state()[0]

    def has_users(self) -> bool:
        return self._read_state()[1]

    def touch(self) -> None:
        """Forget the state read: the app just wrote to the workspace."""
        with self._lock:
            self._state = None

    def cached(self, key: tuple, compute):
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def inputs(self):
        """The workspace's projects and funders (Normalized), for the current state."""
        def load():
            return self.ws.read("projects"), self.ws.read("funders")

        return self.cached(("inputs", self.state()[0]), load)

    def matcher(self, day: str | None, lang: str, waive: bool = True) -> Matcher:
        """The fitted matcher; with ``waive``, a rule whose fact no workspace project states is said
        once for the run rather than on every line (:meth:`Matcher.waive_unstated`). A project filled
        in a form is ranked without it (``waive=False``): it may state what the workspace does not."""
        state = self.state()

        def fit():
            projects, funders = self.inputs()
            if funders.frame.empty:
                raise NotFound("the workspace has no funder yet: import a funders file first (/import)")
            history = self.ws.history()
            fitted = Matcher(date=day, lang=lang, top=None).fit(funders.frame,
                                                                  history=None if history.empty else history)
            if waive:
                fitted.waive_unstated(projects.frame)
            return fitted

        return self.cached(("matcher", state, day, lang, waive), fit)

    # ------------------------------------------------------------------ lookups

    def funder_rows(self, funder_id: str) -> pd.DataFrame:
        _, funders = self.inputs()
        rows = funders.frame[funders.frame["funder_id"] == funder_id]
        if rows.empty:
            raise NotFound(f"no funder '{funder_id}' in this workspace")
        return rows

    def check_call(self, funder_id: str, call_id: str | None) -> None:
        rows = self.funder_rows(funder_id)
        if call_id and call_id not in set(rows["call_id"].dropna()):
            raise NotFound(f"funder '{funder_id}' has no call '{call_id}'")

    def project_row(self, project_id: str) -> dict:
        projects, _ = self.inputs()
        rows = projects.frame[projects.frame["project_id"] == project_id]
        if rows.empty:
            raise NotFound(f"no project '{project_id}' in this workspace")
        return rows.iloc[0].to_dict()

    def catalogue(self) -> dict:
        """Funders with their calls, and projects: what the home page lists."""
        projects, funders = self.inputs()
        calls: dict[str, dict] = {}
        for row in funders.frame.to_dict("records"):
            entry = calls.setdefault(row["funder_id"], {"id": row["funder_id"], "name": text(row["name"]),
                                                        "calls": []})
            if isinstance(row.get("call_id"), str):
                entry["calls"].append({"id": row["call_id"], "title": text(row.get("call_title")),
                                       "closes": text(row.get("call_closes"))})
        plist = [{"id": r["project_id"], "name": text(r.get("name")), "carrier": text(r.get("carrier_name"))}
                 for r in projects.frame.to_dict("records")]
        return {"funders": list(calls.values()), "projects": plist}

    # ------------------------------------------------------------------ rankings

    def shortlist(self, funder_id: str, call_id: str | None, day: str | None, top: int | None,
                  lang: str) -> Ranking:
        self.check_call(funder_id, call_id)
        key = ("shortlist", self.state(), funder_id, call_id, day, top, lang)

        def compute():
            matcher = self.matcher(day, lang)
            projects, funders = self.inputs()
            extra = self.ws.extra_for_dismissed()
            ranked = matcher.rank_projects(projects.frame, funder_id, call_id=call_id,
                                           top=None if top is None else top + extra)
            ranked, hidden = self.ws.hide_dismissed(ranked, ["funder_id", "call_id"], top)
            run_id = self.ws.record_run("shortlist", funder_id + (f"/{call_id}" if call_id else ""),
                                        {"top": top, "criteria": list(matcher.criteria_names_), "lang": lang,
                                         "via": "web"}, matcher.run_date_, by_funder=ranked, hidden_dismissed=hidden)
            report = Report.from_ranking(ranked, matcher, projects, funders, "shortlist", funder_id=funder_id,
                                         call_id=call_id, top=top, projects_file=self.ws_path)
            return Ranking(ranked, report, matcher, run_id, hidden, key)

        return self.cached(key, compute)

    def funders_for(self, project_id: str, day: str | None, top: int | None, lang: str,
                    frame: pd.DataFrame | None = None) -> Ranking:
        """Funders of a workspace project, or (``frame``) of a project filled in a form (not recorded)."""
        if frame is None:
            self.project_row(project_id)
        digest = None if frame is None else hashlib.sha256(frame.to_json(orient="records").encode()).hexdigest()
        key = ("funders", self.state(), project_id, digest, day, top, lang)

        def compute():
            matcher = self.matcher(day, lang, waive=frame is None)
            projects, funders = self.inputs()
            if frame is None:
                shown = projects.frame[projects.frame["project_id"] == project_id]
                extra = self.ws.extra_for_dismissed()
                ranked = matcher.rank_funders(shown, top=None if top is None else top + extra)
                ranked, hidden = self.ws.hide_dismissed(ranked, ["project_id"], top)
                run_id = self.ws.record_run("funders-for", project_id, {"top": top, "lang": lang, "via": "web",
                                            "criteria": list(matcher.criteria_names_)}, matcher.run_date_,
                                            by_project=ranked, hidden_dismissed=hidden)
                source = projects
            else:
                from matcher.normalize.pipeline import Normalized

                shown, hidden, run_id = frame, 0, 0
                ranked = matcher.rank_funders(shown, top=top)
                source = Normalized("projects", frame, [], {"rows_read": 1, "rows_normalised": 1,
                                                            "rows_rejected": 0, "warnings": 0})
            report = Report.from_ranking(ranked, matcher, source, funders, "funders-for", shown_projects=shown,
                                         project_id=project_id, top=top)
            return Ranking(ranked, report, matcher, run_id, hidden, key)

        return self.cached(key, compute)

    def explain(self, project_id: str, funder_id: str, call_id: str | None, day: str | None, lang: str):
        self.project_row(project_id)
        self.check_call(funder_id, call_id)
        key = ("explain", self.state(), project_id, funder_id, call_id, day, lang)

        def compute():
            matcher = self.matcher(day, lang)
            projects, _ = self.inputs()
            return matcher, matcher.explain(projects.frame, project_id, funder_id, call_id)

        return self.cached(key, compute)

    # ------------------------------------------------------------------ decisions

    def states(self) -> dict[tuple[str, str, str], dict]:
        """Current decision of every pair, keyed (project, funder, call or '')."""
        def compute():
            frame = self.ws.decisions()
            return {(r["project_id"], r["funder_id"], r["call_id"] or ""): r for r in frame.to_dict("records")}

        return self.cached(("states", self.state()[1]), compute)

    # ------------------------------------------------------------------ saved mappings

    @staticmethod
    def shape(kind: str, columns) -> str:
        return hashlib.sha256(json.dumps([kind, [str(c) for c in columns]]).encode("utf-8")).hexdigest()

    def saved_mapping(self, kind: str, columns) -> dict[str, str]:
        shape = self.shape(kind, columns)
        with self.ws.engine.connect() as conn:
            text_ = conn.execute(select(WebMapping.mapping).where(WebMapping.kind == kind,
                                                                  WebMapping.shape == shape)).scalar()
        return json.loads(text_) if text_ else {}

    def save_mapping(self, kind: str, columns, mapping: dict[str, str]) -> None:
        from matcher.workspace.store import now

        shape = self.shape(kind, columns)
        table = WebMapping.__table__
        with self.ws.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.kind == kind, table.c.shape == shape))
            conn.execute(table.insert().values(kind=kind, shape=shape, created_at=now(),
                                               mapping=json.dumps(mapping, sort_keys=True, ensure_ascii=False)))


def text(value) -> str | None:
    if value is None or (not isinstance(value, (str, tuple, list)) and is_missing(value)):
        return None
    return str(value)
