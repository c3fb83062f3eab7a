"""A co-financing plan (plan de financement) for one project: which funders to ask, and for how much.

Model (one MILP, HiGHS): for each eligible or to-check funder row *i* (a funder
or one of its calls), ``x_i`` = apply or not and ``a_i`` = the ask, in shares of
the need (budget − secured funding − self-funding). Constraints: the ask lies
between the funder's ``ticket_min`` and ``min(ticket_max, max_share_of_budget ×
budget, need)`` when applying, 0 otherwise; asks add up to at most the need; the
asks to public funders at most ``public_cap × budget``; at most one ask per
funder; at most ``max_applications`` asks. Objective (maximised):
``Σ a_i × (1 + SCORE_WEIGHT × score_i) − APPLICATION_COST × Σ x_i`` — covering
the need comes first, better-fitting funders next, fewer applications last.
Alternatives are the next best plans with a different set of funders (a
"no-good" cut per plan found), so none beats the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.core.errors import CoopmatchError
from matcher.planning import solver
from matcher.planning.texts import t

#: Weight of the fit score against covering one more share of the need.
SCORE_WEIGHT = 0.1
#: Cost of one more application, in shares of the need (half a percent).
APPLICATION_COST = 0.005
#: Funder types whose money is public aid (local authorities, the State and its agencies, EU programmes).
PUBLIC_TYPES = frozenset({"local_authority", "state_agency", "eu_programme"})
#: Columns of the machine-readable plan lines (more may follow).
PLAN_COLUMNS = ("plan", "kind", "funder_id", "call_id", "amount", "share_of_budget", "public", "eligibility",
                "funder_name", "call_title", "instrument", "deadline", "score", "notes")


class PlanningError(CoopmatchError):
    """A plan or an allocation cannot be made from what was given (missing budget, impossible constraints)."""


@dataclass(frozen=True)
class PlanOptions:
    self_funding: float = 0.0
    public_cap: float = 0.8
    max_applications: int | None = None
    alternatives: int = 2
    time_limit: float | None = None
    lang: str = "fr"


@dataclass
class Candidate:
    funder_id: str
    call_id: str | None
    funder_name: str
    call_title: str | None
    funder_type: str | None
    public: bool
    score: float
    eligibility: str
    reasons: str
    floor: float
    cap: float
    instrument: str
    deadline: str | None
    flags: list[str] = field(default_factory=list)


@dataclass
class FinancingPlan:
    """One plan: asks per candidate (0 = not asked), its objective, and the lines that sum to the budget."""

    rank: int
    amounts: list[float]
    objective: float
    lines: pd.DataFrame
    gap: float
    gap_reasons: list[str]
    status: str


@dataclass
class PlanResult:
    project_id: str
    project_name: str
    budget: float
    secured: float
    self_funding: float
    need: float
    public_cap: float
    candidates: list[Candidate]
    plans: list[FinancingPlan]
    notes: list[str]
    expense_type: str | None = None

    def lines(self) -> pd.DataFrame:
        frames = [p.lines for p in self.plans]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PLAN_COLUMNS))


def _number(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return value


def euros(value: float) -> str:
    return f"{value:,.0f} €".replace(",", "\u202f")


def candidates_of(project: dict, ranked: pd.DataFrame, funders: pd.DataFrame, need: float,
                  budget: float, lang: str = "fr") -> tuple[list[Candidate], list[str]]:
    """The funder rows a plan may use, with their floor and ceiling, and notes on those left out."""
    keys = funders.set_index([funders["funder_id"], funders["call_id"].fillna("")])
    sought = set(project.get("instruments_sought") or ())
    start = project.get("start_date")
    out, notes = [], []
    for row in ranked.to_dict("records"):
        if row["eligibility"] not in ("eligible", "to_check"):
            continue
        call = row["call_id"] if isinstance(row["call_id"], str) else None
        f = keys.loc[(row["funder_id"], call or "")]
        if isinstance(f, pd.DataFrame):
            f = f.iloc[0]
        t_min, t_max, share = _number(f["ticket_min"]), _number(f["ticket_max"]), _number(f["max_share_of_budget"])
        floor = max(1.0, 0.0 if math.isnan(t_min) else t_min)
        cap = min(need, math.inf if math.isnan(t_max) else t_max,
                  math.inf if math.isnan(share) else share * budget)
        name = f["name"] or row["funder_id"]
        if floor > cap + 1e-9:
            notes.append(t("note.ticket_min", lang, name=name, floor=euros(floor), cap=euros(cap)))
            continue
        offered = tuple(f["instruments"] or ())
        common = [i for i in offered if i in sought] or list(offered)
        instrument = "grant" if "grant" in common else (common[0] if common else "")
        deadline = f["call_closes"] if isinstance(f["call_closes"], str) else None
        flags = []
        if deadline and isinstance(start, str) and deadline > start:
            flags.append(t("flag.late", lang, deadline=deadline, start=start))
        if row["eligibility"] == "to_check" and row.get("reasons"):
            flags.append(t("flag.to_check", lang, reasons=row["reasons"]))
        out.append(Candidate(row["funder_id"], call, name, f["call_title"] if call else None, f["funder_type"],
                             f["funder_type"] in PUBLIC_TYPES, float(row["score"]), row["eligibility"],
                             row.get("reasons") or "", floor, cap, instrument, deadline, flags))
    return out, notes


def build_model(cands: list[Candidate], need: float, public_room: float, max_applications: int | None):
    """The plan MILP: variables ``[x (apply), a (ask, in shares of the need)]``."""
    n = len(cands)
    score = np.array([c.score for c in cands])
    floor = np.array([c.floor for c in cands]) / need
    cap = np.array([c.cap for c in cands]) / need
    c = np.concatenate([np.full(n, -APPLICATION_COST), 1.0 + SCORE_WEIGHT * score])
    model = solver.new_model(c, np.zeros(2 * n), np.concatenate([np.ones(n), cap]),
                             np.concatenate([np.ones(n), np.zeros(n)]))
    eye = sp.identity(n, format="csr")
    model.add_rows(sp.hstack([-sp.diags(cap), eye]), -np.inf, 0.0)   # a <= cap x
    model.add_rows(sp.hstack([-sp.diags(floor), eye]), 0.0, np.inf)  # a >= floor x
    zeros = sp.csr_matrix((1, n))
    model.add_rows(sp.hstack([zeros, np.ones((1, n))]), -np.inf, 1.0)
    public = np.array([c.public for c in cands], dtype=float)
    if public.any():
        model.add_rows(sp.hstack([zeros, public[None, :]]), -np.inf, max(0.0, public_room / need))
    if max_applications is not None:
        model.add_rows(sp.hstack([np.ones((1, n)), zeros]), -np.inf, float(max_applications))
    funders = pd.Series([c.funder_id for c in cands])
    for _, idx in funders.groupby(funders).groups.items():
        if len(idx) > 1:
            row = np.zeros((1, n))
            row[0, list(idx)] = 1
            model.add_rows(sp.hstack([row, zeros]), -np.inf, 1.0)
    return model


def plan_objective(cands: list[Candidate], amounts, need: float) -> float:
    """The objective of asks ``amounts`` (euros): what the solver maximises, for tests and comparisons."""
    return sum(a / need * (1 + SCORE_WEIGHT * c.score) - (APPLICATION_COST if a > 0 else 0.0)
               for c, a in zip(cands, amounts, strict=True))


def plan_financing(project: dict, ranked: pd.DataFrame, funders: pd.DataFrame,
                   options: PlanOptions | None = None) -> PlanResult:
    """The best co-financing plan of ``project`` (a canonical row as a dict) and its next best alternatives."""
    options = options or PlanOptions()
    pid = project["project_id"]
    budget, secured = _number(project.get("total_budget")), _number(project.get("secured_funding"))
    if math.isnan(budget) or budget <= 0:
        raise PlanningError(t("err.no_budget", options.lang, pid=pid))
    notes = []
    if math.isnan(secured):
        secured = 0.0
        notes.append(t("note.secured_unknown", options.lang))
    notes.append(t("note.secured_private", options.lang))
    own = round(options.self_funding * budget, 2)
    need = budget - secured - own
    if need <= 0.5:
        notes.append(t("note.covered", options.lang))
        cands, more = [], []
    else:
        cands, more = candidates_of(project, ranked, funders, need, budget, options.lang)
    notes += more
    public_room = options.public_cap * budget
    result = PlanResult(pid, project.get("name") or "", budget, secured, own, max(need, 0.0), options.public_cap,
                        cands, [], notes,
                        project.get("expense_type") if isinstance(project.get("expense_type"), str) else None)
    if not cands:
        result.plans.append(_plan(result, 1, [], 0.0, "optimal", options))
        return result
    model = build_model(cands, need, public_room, options.max_applications)
    n = len(cands)
    for rank in range(1, options.alternatives + 2):
        solution = solver.solve(model, options.time_limit)
        if not solution.found:
            break
        x = np.round(solution.x[:n])
        amounts = [math.floor(v * need + 1e-6) if on else 0.0 for v, on in zip(solution.x[n:], x, strict=True)]
        result.plans.append(_plan(result, rank, amounts, plan_objective(cands, amounts, need), solution.status,
                                  options))
        chosen = x > 0.5
        cut = np.where(chosen, -1.0, 1.0)
        model.add_rows(sp.hstack([sp.csr_matrix(cut[None, :]), sp.csr_matrix((1, n))]),
                       1.0 - chosen.sum(), np.inf)
    return result


def _plan(result: PlanResult, rank: int, amounts, objective: float, status: str, options: PlanOptions):
    budget = result.budget
    rows = []
    used_public = 0.0
    for c, a in zip(result.candidates, amounts, strict=True):
        if a <= 0:
            continue
        used_public += a if c.public else 0.0
        rows.append({"plan": rank, "kind": "funder", "funder_id": c.funder_id, "call_id": c.call_id, "amount": a,
                     "public": c.public, "eligibility": c.eligibility, "funder_name": c.funder_name,
                     "call_title": c.call_title, "instrument": c.instrument, "deadline": c.deadline,
                     "score": round(c.score, 4), "notes": " ; ".join(c.flags)})
    rows.sort(key=lambda r: (-r["amount"], r["funder_id"], r["call_id"] or ""))
    if result.secured:
        rows.append({"plan": rank, "kind": "secured", "amount": result.secured, "public": False})
    if result.self_funding:
        rows.append({"plan": rank, "kind": "self", "amount": result.self_funding, "public": False})
    asked = sum(amounts)
    gap = round(budget - result.secured - result.self_funding - asked, 2)
    reasons = []
    if gap > 0.5:
        reasons = gap_reasons(result, amounts, used_public, options)
        rows.append({"plan": rank, "kind": "gap", "amount": gap, "public": False, "notes": " ; ".join(reasons)})
    lines = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    lines["share_of_budget"] = (lines["amount"] / budget).round(4)
    lines["public"] = lines["public"].map(lambda v: "true" if v is True else "false")
    return FinancingPlan(rank, list(amounts), objective, lines, max(gap, 0.0), reasons, status)


def gap_reasons(result: PlanResult, amounts, used_public: float, options: PlanOptions) -> list[str]:
    """Which constraints leave the gap uncovered, in words."""
    cands = result.candidates
    out = []
    lang = options.lang
    if not cands:
        return [t("gap.none", lang)]
    room = pd.Series({c.funder_id: c.cap for c in cands}).groupby(level=0).max().sum()
    if room < result.need - 0.5:
        out.append(t("gap.ceilings", lang, room=euros(room), need=euros(result.need)))
    public_room = options.public_cap * result.budget
    if any(c.public for c in cands) and used_public >= public_room - 1:
        out.append(t("gap.public", lang, cap=f"{options.public_cap:.0%}", room=euros(public_room)))
    n_asked = sum(1 for a in amounts if a > 0)
    if options.max_applications is not None and n_asked >= options.max_applications:
        out.append(t("gap.max_apps", lang, n=options.max_applications))
    return out or [t("gap.tickets", lang)]
