"""The report of a ranking: what was run, what was ranked, and the portfolio it makes.

:class:`Report` holds a ranking and everything needed to show it; the HTML
(:mod:`matcher.report.html`) and XLSX (:mod:`matcher.report.xlsx`) writers read it.
Build one from a ranking with :meth:`Report.from_ranking`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.core.missing import is_missing
from matcher.core.resources import load_data
from matcher.core.version import VERSION
from matcher.engine import explain as ex

#: Dimensions of the portfolio view, in display order.
PORTFOLIO_DIMENSIONS = ("sector", "region", "legal_form")
#: Most problem rows listed in the report (all of them go to ``validate --rejects``).
MAX_REJECT_ROWS = 300
_VERDICT_ORDER = {"eligible": 0, "to_check": 1, "ineligible": 2}
_KIND_ORDER = ("projects", "funders", "history")
_PALETTE_SIZE = 8


# --------------------------------------------------------------------------- labels


def labels() -> dict:
    """The report's bilingual labels (``matcher/data/report/labels.yaml``, read once)."""
    return load_data("report/labels.yaml")


def label(path: str, lang: str, **values) -> str:
    """The label at a dotted ``path`` in ``lang``, filled with ``values``."""
    node = labels()
    for key in path.split("."):
        node = node[key]
    return node[lang].format(**values) if values else node[lang]


# --------------------------------------------------------------------------- run description


@dataclass(frozen=True)
class RunInfo:
    """What was run, as shown in the Parameters of the HTML report and the workbook.

    ``projects_file`` and ``funders_file`` are shown as given (the built-in
    samples by name only, so the report reads the same on every machine);
    ``weights`` are this run's overrides (``--weight``); ``summaries`` maps an
    input kind to its :attr:`~matcher.normalize.pipeline.Normalized.summary`.
    """

    command: str
    lang: str
    run_date: str
    projects_file: str | None = None
    funders_file: str | None = None
    funder_id: str | None = None
    call_id: str | None = None
    project_id: str | None = None
    top: int | None = None
    include_ineligible: bool = False
    weights: Mapping[str, float] | None = None
    summaries: Mapping[str, dict] = field(default_factory=dict)
    version: str = VERSION


def _file_text(path: str | None, lang: str) -> str:
    if path is None:
        return label("parameters.builtin", lang)
    from matcher.io.loading import SAMPLE_FUNDERS, SAMPLE_PROJECTS

    resolved = Path(path).resolve()
    if resolved in (SAMPLE_PROJECTS.resolve(), SAMPLE_FUNDERS.resolve()):
        return f"{resolved.name} ({label('parameters.builtin', lang)})"
    return str(path)


def _weights_text(weights: Mapping[str, float], lang: str) -> str:
    return ", ".join(f"{name} = {ex.format_number(w, lang)}" for name, w in weights.items())


def parameter_rows(info: RunInfo, matcher=None) -> list[tuple[str, str]]:
    """(label, value) pairs describing the run, in ``info.lang``."""
    from matcher.engine.scoring import DEFAULT_WEIGHTS

    lang = info.lang
    p = lambda key: label(f"parameters.{key}", lang)  # noqa: E731
    rows = [(p("command"), label(f"commands.{info.command}", lang)),
            (p("run_date"), ex.format_date(info.run_date, lang))]
    if info.funder_id:
        rows.append((p("funder"), info.funder_id))
    if info.command == "shortlist" or info.call_id:
        rows.append((p("call"), info.call_id or p("all")))
    if info.project_id:
        rows.append((p("project"), info.project_id))
    rows.append((p("projects_file"), _file_text(info.projects_file, lang)))
    rows.append((p("funders_file"), _file_text(info.funders_file, lang)))
    rows.append((p("top"), str(info.top) if info.top else p("all")))
    rows.append((p("include_ineligible"), p("answer_yes") if info.include_ineligible else p("answer_no")))
    names = list(matcher.criteria_names_) if matcher is not None else list(DEFAULT_WEIGHTS)
    defaults = {n: DEFAULT_WEIGHTS.get(n, 0.0) for n in names}
    rows.append((p("weights_default"), _weights_text(defaults, lang)))
    overrides = _weights_text(dict(info.weights), lang) if info.weights else p("no_override")
    rows.append((p("weights"), f"{p('weights_note')} {overrides}"))
    for kind in sorted(info.summaries, key=_kind_key):
        s = info.summaries[kind]
        rows.append((p("inputs"), label("parameters.accounting", lang, kind=label(f"rejects.{kind}", lang),
                                        read=s.get("rows_read", 0), ok=s.get("rows_normalised", 0),
                                        rejected=s.get("rows_rejected", 0), warnings=s.get("warnings", 0))))
    for text in (matcher.run_notices(lang) if matcher is not None else ()):
        rows.append((p("notice"), text))
    rows.append((p("version"), info.version))
    rows.append((p("lang"), lang))
    return rows


def _kind_key(kind: str) -> tuple[int, str]:
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), kind)


# --------------------------------------------------------------------------- the report's data


@dataclass
class Report:
    """A ranking and everything needed to show it: projects, the fitted matcher, rejects, run info.

    ``ranked`` is what :meth:`~matcher.engine.model.Matcher.rank_projects` or
    :meth:`~matcher.engine.model.Matcher.rank_funders` returned; ``rejects`` maps an
    input kind (``projects``, ``funders``) to its
    :attr:`~matcher.normalize.pipeline.Normalized.rejects` table.
    """

    ranked: pd.DataFrame
    projects: pd.DataFrame
    matcher: object
    info: RunInfo
    rejects: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def from_ranking(cls, ranked: pd.DataFrame, matcher, projects, funders, command: str,
                     shown_projects: pd.DataFrame | None = None,
                     weights: Mapping[str, float] | None = None, **params) -> Report:
        """The report of one ranking run.

        ``projects`` and ``funders`` are the :class:`~matcher.normalize.pipeline.Normalized`
        inputs (their summaries and rejects are shown); ``shown_projects`` the projects frame
        that was ranked, when only some were (default: all of ``projects``); ``command`` is
        ``funders-for`` or ``shortlist``; ``weights`` this run's overrides; ``params`` the
        other :class:`RunInfo` fields (``projects_file``, ``funder_id``, ``top``…).
        """
        info = RunInfo(command=command, lang=matcher.lang, run_date=matcher.run_date_, weights=weights,
                       summaries={"projects": projects.summary, "funders": funders.summary}, **params)
        frame = projects.frame if shown_projects is None else shown_projects
        return cls(ranked=ranked, projects=frame, matcher=matcher, info=info,
                   rejects={"projects": projects.rejects, "funders": funders.rejects})

    @property
    def lang(self) -> str:
        return self.info.lang

    @property
    def view(self) -> str:
        """``funder`` for a shortlist, ``project`` for funders-for."""
        return "funder" if self.info.command == "shortlist" else "project"

    @cached_property
    def explanations(self) -> list[ex.Explanation]:
        """One explanation per ranked line, same order."""
        if self.ranked.empty:
            return []
        return self.matcher.explanations(self.projects, self.ranked)

    @cached_property
    def project_records(self) -> dict[str, dict]:
        ids = [str(v) for v in self.projects["project_id"].tolist()]
        return dict(zip(ids, self.projects.to_dict("records"), strict=True))

    def amount_requested(self, project_id: str) -> float | None:
        value = self.project_records.get(project_id, {}).get("amount_requested")
        return None if is_missing(value) else float(value)

    def rejects_frame(self) -> pd.DataFrame:
        """Every input problem, one table, with a ``kind`` column first."""
        frames = []
        for kind in sorted(self.rejects, key=_kind_key):
            frame = self.rejects[kind]
            if frame is not None and len(frame):
                frame = frame.copy()
                frame.insert(0, "kind", kind)
                frames.append(frame)
        if not frames:
            from matcher.normalize.pipeline import REJECT_COLUMNS

            return pd.DataFrame(columns=["kind", *REJECT_COLUMNS])
        return pd.concat(frames, ignore_index=True)




def codes_of(value) -> tuple[str, ...]:
    """A multi-valued cell (tuple of ids or codes) as a tuple of strings; () when unknown."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list | np.ndarray):
        return tuple(str(v) for v in value)
    return ()


def regions_of(codes, territories, lang: str) -> list[str]:
    """The region names of a project's places (``National``/``Europe`` for FR/EU)."""
    out = []
    for code in codes:
        if code == "FR":
            out.append(label("portfolio.national", lang))
        elif code == "EU":
            out.append(label("portfolio.europe", lang))
        elif code not in territories:
            out.append(label("portfolio.unknown", lang))
        elif territories.level(code) == "region":
            out.append(territories.name(code))
        else:
            found = [c for c in territories.ancestors(code) if territories.level(c) == "region"]
            if found:
                out.append(territories.name(found[0]))
            else:  # overseas collectivities are departments directly in France
                home = territories.home_department(code) or code
                out.append(territories.name(home))
    return sorted(set(out)) or [label("portfolio.unknown", lang)]


def portfolio_balance(ranked: pd.DataFrame, projects: pd.DataFrame, territories,
                      lang: str = "fr") -> pd.DataFrame:
    """Counts and amounts requested of the ranked projects by sector, region and legal form.

    Ineligible lines are left out and each project counts once per category
    (a project with several sectors or regions counts in each). Columns:
    ``dimension``, ``category``, ``projects``, ``amount_requested``; rows
    sorted by dimension, then amount (largest first), then category.
    """
    kept = ranked[ranked["eligibility"] != "ineligible"] if len(ranked) else ranked
    wanted = sorted(set(kept["project_id"].astype(str))) if len(kept) else []
    records = {str(r["project_id"]): r for r in projects.to_dict("records")}
    unknown = label("portfolio.unknown", lang)
    tally: dict[tuple[str, str], list] = {}
    for pid in wanted:
        record = records.get(pid, {})
        amount = record.get("amount_requested")
        amount = 0.0 if is_missing(amount) else float(amount)
        sectors = [ex.vocab_label("sectors", s)(lang) for s in codes_of(record.get("sectors"))] or [unknown]
        form = record.get("legal_form")
        forms = [unknown if is_missing(form) else ex.vocab_label("legal_forms", str(form))(lang)]
        regions = regions_of(codes_of(record.get("territory")), territories, lang)
        for dimension, categories in (("sector", sectors), ("region", regions), ("legal_form", forms)):
            for category in sorted(set(categories)):
                entry = tally.setdefault((dimension, category), [0, 0.0])
                entry[0] += 1
                entry[1] += amount
    rows = [{"dimension": d, "category": c, "projects": n, "amount_requested": a}
            for (d, c), (n, a) in tally.items()]
    rows.sort(key=lambda r: (PORTFOLIO_DIMENSIONS.index(r["dimension"]), -r["amount_requested"],
                             -r["projects"], r["category"]))
    return pd.DataFrame(rows, columns=["dimension", "category", "projects", "amount_requested"])


