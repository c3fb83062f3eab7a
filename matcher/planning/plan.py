"""A co-financing plan for one project: which funders to apply to, and how much to ask each.

One mixed-integer program (HiGHS through :mod:`.solver`). For each candidate
funder row ``i`` (an eligible or to-check pair of the ranking, its call not
closed on the run date) a binary ``y_i`` (apply or not) and an amount ``a_i``:

- ``lo_i·y_i <= a_i <= hi_i·y_i``: the ticket range, at most ``max_share_of_budget``
  of the budget, at most the need;
- ``Σ a_i <= need`` (need = budget − secured funding − self-funding);
- ``Σ_public a_i <= public_cap·budget − public secured`` (secured funding counts as
  private: the profile does not say who gave it, so the cap applies to the asks);
- at most one ask per funder, at most ``max_applications`` asks.

The objective, in shares of the need: every euro covered counts 1, plus
``FIT_WEIGHT × score`` (better-fitting funders first), minus ``APPLICATION_COST``
per application (fewer applications, other things equal). The next best plans
are the optima with each earlier funder set cut off (a "no-good" row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.core.errors import InputError
from matcher.core.missing import is_missing
from matcher.planning.solver import new_model, solve

#: Weight of the fit (score in [0, 1]) beside the coverage of one euro.
FIT_WEIGHT = 0.1
#: Cost of one application, as a share of the need (an application must bring more than this).
APPLICATION_COST = 0.002
#: Default ceiling of direct public aid, as a share of the eligible cost.
PUBLIC_CAP = 0.8
#: Funder types whose money is public aid.
PUBLIC_TYPES = frozenset({"local_authority", "state_agency", "eu_programme"})
#: Columns of a plan's lines (the machine CSV), in order.
LINE_COLUMNS = ("plan", "kind", "funder_id", "call_id", "amount", "share_of_budget", "public", "eligibility",
                "funder_name", "call_title", "instrument", "deadline", "status", "score")


@dataclass(frozen=True)
class Candidate:
    """A funder row that may take part in the plan, with the bounds of its ask."""

    funder_id: str
    call_id: str | None
    funder_name: str
    call_title: str | None
    funder_type: str | None
    instrument: str | None
    score: float
    eligibility: str
    low: float
    high: float
    deadline: str | None
    notes: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return self.funder_type in PUBLIC_TYPES


@dataclass
class Plan:
    """One plan: its lines (funder asks, secured, self, gap), objective, and the reasons of its gap."""

    number: int
    lines: pd.DataFrame
    objective: float
    chosen: tuple[int, ...]
    gap: float
    gap_reasons: list[str] = field(default_factory=list)
    status: str = "optimal"

    @property
    def asked(self) -> float:
        return float(self.lines.loc[self.lines["kind"] == "funder", "amount"].sum())

    @property
    def public_share(self) -> float:
        funders = self.lines[self.lines["kind"] == "funder"]
        budget = float(self.lines["amount"].sum())
        return float(funders.loc[funders["public"], "amount"].sum()) / budget if budget else 0.0


@dataclass
class PlanResult:
    """The plans of one project, best first, with the candidates and the funder rows left out."""

    project_id: str
    project_name: str
    budget: float
    secured: float
    self_funding: float
    need: float
    public_cap: float
    run_date: str
    plans: list[Plan]
    candidates: list[Candidate]
    left_out: pd.DataFrame

    def lines(self) -> pd.DataFrame:
        """Every line of every plan (the machine CSV)."""
        frames = [p.lines for p in self.plans]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(LINE_COLUMNS))


def _text(value) -> str | None:
    return None if is_missing(value) else str(value)


def _number(value) -> float | None:
    return None if is_missing(value) else float(value)


def missing_for_plan(project: dict) -> list[str]:
    """What a project lacks for a plan (its total budget), as field names."""
    budget = _number(project.get("total_budget"))
    return ["total_budget"] if budget is None or budget <= 0 else []


def candidates_for(project: dict, ranked: pd.DataFrame, funders: pd.DataFrame, run_date: str,
                   need: float) -> tuple[list[Candidate], pd.DataFrame]:
    """The funder rows that may take part (and those left out, with the reason in English)."""
    budget = float(project["total_budget"])
    start = _text(project.get("start_date"))
    keys = {(str(r["funder_id"]), _text(r.get("call_id"))): r for r in funders.to_dict("records")}
    out, left = [], []
    sought = set(project.get("instruments_sought") or ())
    for row in ranked.to_dict("records"):
        key = (str(row["funder_id"]), _text(row.get("call_id")))
        funder = keys.get(key, {})
        closes = _text(funder.get("call_closes"))
        if row["eligibility"] == "ineligible":
            left.append((*key, "ineligible"))
            continue
        if closes is not None and closes < run_date:
            left.append((*key, f"call closed on {closes}"))
            continue
        low = _number(funder.get("ticket_min")) or 0.0
        high = min(x for x in (_number(funder.get("ticket_max")), need,
                               None if _number(funder.get("max_share_of_budget")) is None
                               else float(funder["max_share_of_budget"]) * budget) if x is not None)
        if high < max(low, 1.0):
            left.append((*key, f"its minimum ticket {low:,.0f} is above what the plan can ask ({high:,.0f})"))
            continue
        notes = []
        if row["eligibility"] == "to_check":
            notes.append("to check: " + (_text(row.get("reasons")) or "eligibility"))
        if closes is not None and start is not None and closes > start:
            notes.append(f"the call closes on {closes}, after the project starts ({start})")
        offered = tuple(funder.get("instruments") or ())
        instruments = [i for i in offered if i in sought] or list(offered)
        out.append(Candidate(key[0], key[1], _text(row.get("funder_name")) or key[0], _text(row.get("call_title")),
                             _text(funder.get("funder_type")), instruments[0] if instruments else None,
                             float(row["score"]) if not is_missing(row["score"]) else 0.0, str(row["eligibility"]),
                             float(low), float(high), closes, tuple(notes)))
    return out, pd.DataFrame(left, columns=["funder_id", "call_id", "reason"])


def objective_weights(candidates: list[Candidate]) -> np.ndarray:
    """The objective's weight of one unit of each ask (the share of the need it covers)."""
    return np.array([1.0 + FIT_WEIGHT * c.score for c in candidates])


def build_model(candidates: list[Candidate], need: float, public_room: float, max_applications: int | None):
    """The MILP over ``[a_1..a_n, y_1..y_n]``, amounts in shares of the need."""
    n = len(candidates)
    low = np.array([c.low for c in candidates]) / need
    high = np.array([c.high for c in candidates]) / need
    c = np.concatenate([objective_weights(candidates), -APPLICATION_COST * np.ones(n)])
    model = new_model(c, np.zeros(2 * n), np.concatenate([high, np.ones(n)]),
                      np.concatenate([np.zeros(n), np.ones(n)]))
    eye = sp.identity(n, format="csr")
    model.add_rows(sp.hstack([eye, -sp.diags(high)]), -np.inf, 0.0)  # a <= hi·y
    model.add_rows(sp.hstack([eye, -sp.diags(low)]), 0.0, np.inf)   # a >= lo·y
    model.add_rows(np.hstack([np.ones((1, n)), np.zeros((1, n))]), -np.inf, 1.0)  # Σ a <= need
    public = np.array([c.public for c in candidates], dtype=float)
    if public.any() and np.isfinite(public_room):
        model.add_rows(np.hstack([public[None, :], np.zeros((1, n))]), -np.inf, max(0.0, public_room / need))
    if max_applications is not None:
        model.add_rows(np.hstack([np.zeros((1, n)), np.ones((1, n))]), -np.inf, float(max_applications))
    groups: dict[str, list[int]] = {}
    for i, cand in enumerate(candidates):
        groups.setdefault(cand.funder_id, []).append(i)
    several = [idx for idx in groups.values() if len(idx) > 1]
    if several:
        rows = sp.lil_matrix((len(several), 2 * n))
        for r, idx in enumerate(several):
            for i in idx:
                rows[r, n + i] = 1.0
        model.add_rows(rows, -np.inf, 1.0)
    return model


def _cut(model, chosen: tuple[int, ...], n: int) -> None:
    """Forbid the funder set ``chosen`` (any other set stays allowed)."""
    row = np.zeros((1, 2 * n))
    row[0, n:] = -1.0
    row[0, [n + i for i in chosen]] = 1.0
    model.add_rows(row, -np.inf, len(chosen) - 1.0)


def _amounts(x: np.ndarray, candidates: list[Candidate], need: float) -> tuple[dict[int, float], tuple[int, ...]]:
    n = len(candidates)
    chosen = tuple(i for i in range(n) if x[n + i] > 0.5)
    amounts = {}
    for i in chosen:
        value = math.floor(round(x[i] * need, 6))
        amounts[i] = float(min(max(value, math.ceil(candidates[i].low)), math.floor(candidates[i].high)))
    return amounts, chosen


def plan_objective(amounts: dict[int, float], candidates: list[Candidate], need: float) -> float:
    """The objective of a plan (amounts in euros), as the solver maximises it."""
    weights = objective_weights(candidates)
    return float(sum(weights[i] * a / need for i, a in amounts.items()) - APPLICATION_COST * len(amounts))


def make_plans(project: dict, ranked: pd.DataFrame, funders: pd.DataFrame, run_date: str,
               self_funding: float = 0.0, public_cap: float = PUBLIC_CAP, max_applications: int | None = None,
               alternatives: int = 2, time_limit: float | None = None) -> PlanResult:
    """The best plan of ``project`` and up to ``alternatives`` next best distinct plans.

    ``ranked`` is the project's ranking (``Matcher.rank_funders`` with the to-check
    and ineligible lines); ``funders`` the canonical funder frame. Raises
    :class:`InputError` when the project lacks a budget.
    """
    pid = str(project["project_id"])
    missing = missing_for_plan(project)
    if missing:
        raise InputError(f"project {pid} has no total budget: a plan needs {', '.join(missing)} "
                         f"(and, when there is some, secured_funding)")
    budget = float(project["total_budget"])
    secured = _number(project.get("secured_funding")) or 0.0
    own = round(self_funding * budget, 2)
    need = max(0.0, budget - secured - own)
    candidates, left = candidates_for(project, ranked, funders, run_date, max(need, 1.0))
    result = PlanResult(pid, _text(project.get("name")) or pid, budget, secured, own, need, public_cap, run_date,
                        [], candidates, left)
    if need <= 0 or not candidates:
        result.plans.append(_plan(1, {}, (), candidates, result, "optimal"))
        if need > 0:
            result.plans[0].gap_reasons.append("no_candidate")
        return result
    model = build_model(candidates, need, public_cap * budget, max_applications)
    for number in range(1, alternatives + 2):
        solution = solve(model, time_limit)
        if not solution.found:
            break
        amounts, chosen = _amounts(solution.x, candidates, need)
        plan = _plan(number, amounts, chosen, candidates, result, solution.status)
        if number == 1 and plan.gap >= 1.0:
            plan.gap_reasons = gap_reasons(candidates, need, budget, public_cap, max_applications, plan, time_limit)
        result.plans.append(plan)
        if not chosen:
            break
        _cut(model, chosen, len(candidates))
    return result


def _plan(number, amounts, chosen, candidates, result: PlanResult, status) -> Plan:
    budget = result.budget
    rows = []
    for i in sorted(chosen, key=lambda i: (-amounts[i], candidates[i].funder_id, candidates[i].call_id or "")):
        c = candidates[i]
        rows.append({"plan": number, "kind": "funder", "funder_id": c.funder_id, "call_id": c.call_id,
                     "amount": amounts[i], "public": c.public, "eligibility": c.eligibility,
                     "funder_name": c.funder_name, "call_title": c.call_title, "instrument": c.instrument,
                     "deadline": c.deadline, "status": " ; ".join(c.notes) or "ok", "score": round(c.score, 4)})
    if result.secured:
        rows.append({"plan": number, "kind": "secured", "amount": result.secured, "public": False,
                     "status": "secured"})
    if result.self_funding:
        rows.append({"plan": number, "kind": "self", "amount": result.self_funding, "public": False,
                     "status": "self-funding"})
    asked = sum(amounts.values())
    gap = round(budget - result.secured - result.self_funding - asked, 2)
    if gap > 0:
        rows.append({"plan": number, "kind": "gap", "amount": gap, "public": False, "status": "uncovered"})
    lines = pd.DataFrame(rows, columns=list(LINE_COLUMNS))
    lines["share_of_budget"] = (lines["amount"] / budget).round(4)
    lines["plan"] = number
    lines["public"] = lines["public"].fillna(False).astype(bool)
    return Plan(number, lines, plan_objective(amounts, candidates, max(result.need, 1.0)), tuple(sorted(chosen)),
                max(gap, 0.0), [], status)


def gap_reasons(candidates, need, budget, public_cap, max_applications, plan: Plan, time_limit) -> list[str]:
    """Which constraints make the gap: each one whose removal would cover more (a few small re-solves)."""
    reasons = []
    trials = {"public_cap": (float("inf"), max_applications, candidates)}
    if max_applications is not None:
        trials["max_applications"] = (public_cap * budget, None, candidates)
    wide = [Candidate(**{**c.__dict__, "high": need}) for c in candidates]
    trials["ticket_or_share"] = (public_cap * budget, max_applications, wide)
    for name, (room, most, cands) in trials.items():
        solution = solve(build_model(cands, need, room, most), time_limit)
        if solution.found:
            n = len(cands)
            covered = float(np.sum(solution.x[:n])) * need
            if covered > plan.asked + 1.0:
                reasons.append(name)
    return reasons or ["no_more_funders"]
