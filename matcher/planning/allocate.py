"""An envelope allocation: which applications a call funds, and how much, under share constraints.

One mixed-integer program. For each eligible or to-check application ``j`` a
binary ``y_j`` (funded or not) and, with ``partial``, a fraction ``x_j`` of its
amount ``m_j`` (what it asks, capped by the funder's ticket maximum and
``max_per_project``), ``floor·y_j <= x_j <= y_j``; all-or-nothing funds
``m_j·y_j``. Rows, in shares of the envelope ``E``:

- ``Σ m_j x_j <= E``;
- for each ``--min-share DIM:VALUE=s``: ``Σ_{j in group} m_j x_j >= s·E``;
- for each ``--max-share DIM:VALUE=s``: ``Σ_{j in group} m_j x_j <= s·E``.

The objective is the fit-weighted money, ``Σ score_j · m_j x_j / E``. With
thousands of applications the model goes through :func:`.solver.solve_core`
(LP relaxation, then the exact MILP over the applications near the margin),
which also gives the LP bound, hence a proven worst-case gap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.core.errors import InputError
from matcher.core.missing import is_missing
from matcher.planning.solver import new_model, solve_core

DIMENSIONS = ("region", "department", "sector", "legal_form", "ess", "new_recipient")
#: Default floor of a partial grant, as a share of the amount asked.
PARTIAL_FLOOR = 0.5
#: Applications listed "just below the line".
BELOW_THE_LINE = 5
#: Columns of the machine CSV, in order.
ALLOCATION_COLUMNS = ("alternative", "project_id", "amount", "requested", "score", "eligibility", *DIMENSIONS,
                      "project_name", "call_id")
_TRUE = {"true", "yes", "oui", "vrai", "1", "y", "o"}
_FALSE = {"false", "no", "non", "faux", "0", "n"}
_SHARE = re.compile(r"^\s*(?P<dim>[a-z_]+)\s*:\s*(?P<value>.+?)\s*=\s*(?P<share>[-+0-9.,eE%]+)\s*$")


class InfeasibleError(InputError):
    """The constraints cannot all hold; ``reasons`` names the ones that cannot."""

    def __init__(self, message: str, reasons: list[str]):
        super().__init__(message)
        self.reasons = reasons


@dataclass(frozen=True)
class ShareConstraint:
    """``kind`` ("min" or "max") share of the envelope for the applications whose ``dimension`` is ``value``."""

    kind: str
    dimension: str
    value: str
    share: float
    text: str  # as the user wrote it, e.g. "min-share department:93=0.2"

    @property
    def label(self) -> str:
        return f"{self.kind}-share {self.dimension}:{self.value}={self.share:g}"


def parse_share(text: str, kind: str, territories=None) -> ShareConstraint:
    """``DIM:VALUE=SHARE`` → a :class:`ShareConstraint`; :class:`InputError` with what is wrong."""
    match = _SHARE.match(text or "")
    if not match:
        raise InputError(f"expected DIMENSION:VALUE=SHARE (e.g. region:84=0.3), got '{text}'")
    dim = match["dim"]
    if dim not in DIMENSIONS:
        from matcher.core.suggest import unknown_message

        raise InputError(unknown_message("dimension", dim, DIMENSIONS))
    raw = match["share"].replace(",", ".")
    try:
        share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"share '{match['share']}' is not a number") from None
    if not 0 <= share <= 1 or math.isnan(share):
        raise InputError(f"share {match['share']} must be between 0 and 1 (a share of the envelope)")
    value = canonical_value(dim, match["value"], territories)
    return ShareConstraint(kind, dim, value, share, f"{kind}-share {text.strip()}")


def canonical_value(dim: str, text: str, territories=None) -> str:
    """The canonical value of ``dim`` for what a person wrote (a code, a name or a label)."""
    from matcher.core.suggest import unknown_message
    from matcher.core.text import fold

    text = text.strip()
    if dim in ("ess", "new_recipient"):
        word = fold(text)
        if word in _TRUE or word in _FALSE:
            return "true" if word in _TRUE else "false"
        raise InputError(unknown_message(f"{dim} value", text, ["true", "false"]))
    if dim in ("region", "department"):
        territories = territories or _territories()
        level, prefix = ("region", "reg") if dim == "region" else ("department", "dep")
        codes = list(territories.codes(level))
        bare = text.split(":", 1)[1] if text.lower().startswith(prefix + ":") else text
        by_code = {c.split(":", 1)[1].upper(): c for c in codes}
        if bare.upper() in by_code:
            return by_code[bare.upper()].split(":", 1)[1]
        by_name = {fold(territories.name(c)): c for c in codes}
        if fold(bare) in by_name:
            return by_name[fold(bare)].split(":", 1)[1]
        raise InputError(unknown_message(f"{dim} code or name", text,
                                         sorted(c.split(":", 1)[1] for c in codes)))
    from matcher.referential.vocabularies import get_vocabulary, resolve_legal_form

    if dim == "legal_form":
        found = resolve_legal_form(text)
        if found:
            return found
        raise InputError(unknown_message("legal form", text, sorted(get_vocabulary("legal_forms").labels("en"))))
    vocab = get_vocabulary("sectors")
    found = vocab.resolve(text)
    if len(found) == 1:
        return found[0]
    raise InputError(unknown_message("sector", text, sorted(vocab.labels("en"))))


def _territories():
    from matcher.referential.territories import Territories

    return Territories.default()


def _codes(value) -> tuple:
    if is_missing(value) if not isinstance(value, tuple | list) else False:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, tuple | list | np.ndarray) else ()


def dimension_values(project: dict, territories, previous: set[str]) -> dict[str, tuple[str, ...]]:
    """Each dimension's values for one project (a project with two sectors is in both)."""
    from matcher.referential.vocabularies import is_ess_by_status

    regions, departments = set(), set()
    for code in _codes(project.get("territory")):
        if code not in territories:
            continue
        chain = (code, *territories.ancestors(code))
        regions.update(c.split(":", 1)[1] for c in chain if c.startswith("reg:"))
        departments.update(c.split(":", 1)[1] for c in chain if c.startswith("dep:"))
    form = None if is_missing(project.get("legal_form")) else str(project["legal_form"])
    ess = bool(_codes(project.get("ess_status"))) or bool(form and is_ess_by_status(form))
    siren = None if is_missing(project.get("siren")) else str(project["siren"])
    new = str(project["project_id"]) not in previous and (siren is None or siren not in previous)
    return {"region": tuple(sorted(regions)), "department": tuple(sorted(departments)),
            "sector": tuple(sorted(_codes(project.get("sectors")))), "legal_form": (form,) if form else (),
            "ess": ("true" if ess else "false",), "new_recipient": ("true" if new else "false",)}


def previous_recipients(history: pd.DataFrame | None, funder_id: str) -> set[str]:
    """Project ids and SIRENs this funder granted before (for ``new_recipient``)."""
    if history is None or history.empty:
        return set()
    rows = history[history["funder_id"].astype(str) == funder_id]
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "granted"]
    out = set()
    for column in ("recipient_id", "project_id"):
        if column in rows.columns:
            for value in rows[column].dropna().astype(str):
                out.add(value)
                if value.isdigit() and len(value) >= 9:
                    out.add(value[:9])
    return out


@dataclass
class Application:
    project_id: str
    project_name: str
    call_id: str | None
    score: float
    eligibility: str
    requested: float
    amount: float  # the most it can get
    values: dict[str, tuple[str, ...]]


@dataclass
class Allocation:
    """One allocation: the amount of each funded application (by index), its objective and status."""

    number: int
    amounts: dict[int, float]
    objective: float
    status: str
    gap: float = 0.0  # proven worst-case distance to the optimum, as a share (0 when exact)
    label: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.amounts.values()))


@dataclass
class AllocationResult:
    """The best allocation, its next best distinct alternatives, the what-ifs and the committee pack's facts."""

    funder_id: str
    call_id: str | None
    envelope: float
    partial: bool
    floor: float
    applications: list[Application]
    constraints: list[ShareConstraint]
    best: Allocation
    alternatives: list[Allocation] = field(default_factory=list)
    without: list[tuple[ShareConstraint, Allocation]] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)  # labels of the share constraints that bind

    def group(self, constraint: ShareConstraint) -> list[int]:
        return [j for j, a in enumerate(self.applications) if constraint.value in a.values[constraint.dimension]]

    def constraint_status(self, allocation: Allocation | None = None) -> pd.DataFrame:
        """Each constraint: its bound, value, slack, and whether it binds."""
        allocation = allocation or self.best
        rows = [{"constraint": "envelope", "bound": self.envelope, "value": allocation.total,
                 "slack": self.envelope - allocation.total}]
        for c in self.constraints:
            value = sum(allocation.amounts.get(j, 0.0) for j in self.group(c))
            bound = c.share * self.envelope
            rows.append({"constraint": c.label, "bound": bound, "value": value,
                         "slack": (value - bound) if c.kind == "min" else (bound - value)})
        frame = pd.DataFrame(rows)
        dropped = set(self.binding)
        smallest = min((a.amount * (self.floor if self.partial else 1.0) for j, a in enumerate(self.applications)
                        if j not in allocation.amounts), default=0.0)
        frame["binding"] = [(row["slack"] < max(1.0, smallest)) if row["constraint"] == "envelope" else
                            (row["constraint"] in dropped) for row in frame.to_dict("records")]
        return frame

    def table(self, allocations: list[Allocation] | None = None) -> pd.DataFrame:
        """The machine CSV: one row per funded application of each allocation."""
        rows = []
        for alloc in allocations or [self.best, *self.alternatives]:
            for j in sorted(alloc.amounts, key=lambda j: (-self.applications[j].score, self.applications[j].project_id)):
                a = self.applications[j]
                rows.append({"alternative": alloc.number, "project_id": a.project_id, "amount": alloc.amounts[j],
                             "requested": a.requested, "score": round(a.score, 4), "eligibility": a.eligibility,
                             **{d: "|".join(a.values[d]) for d in DIMENSIONS}, "project_name": a.project_name,
                             "call_id": a.call_id})
        return pd.DataFrame(rows, columns=list(ALLOCATION_COLUMNS))

    def balance(self, allocation: Allocation | None = None) -> pd.DataFrame:
        """The portfolio by each dimension: projects and amounts funded per value."""
        allocation = allocation or self.best
        tally: dict[tuple[str, str], list] = {}
        for j, amount in allocation.amounts.items():
            for dim in DIMENSIONS:
                for value in self.applications[j].values[dim] or ("?",):
                    entry = tally.setdefault((dim, value), [0, 0.0])
                    entry[0] += 1
                    entry[1] += amount
        rows = [{"dimension": d, "value": v, "projects": n, "amount": a, "share_of_envelope": round(a / self.envelope, 4)}
                for (d, v), (n, a) in tally.items()]
        rows.sort(key=lambda r: (DIMENSIONS.index(r["dimension"]), -r["amount"], r["value"]))
        return pd.DataFrame(rows, columns=["dimension", "value", "projects", "amount", "share_of_envelope"])

    def below_the_line(self, count: int = BELOW_THE_LINE) -> pd.DataFrame:
        """The best-scored applications left unfunded, and why each missed (in English codes and words)."""
        left = self.envelope - self.best.total
        status = {c.label: c for c in self.constraints}
        values = {row["constraint"]: row for row in self.constraint_status().to_dict("records")}
        rows = []
        unfunded = [j for j in range(len(self.applications)) if j not in self.best.amounts]
        unfunded.sort(key=lambda j: (-self.applications[j].score, self.applications[j].project_id))
        for j in unfunded[:count]:
            a = self.applications[j]
            least = a.amount * (self.floor if self.partial else 1.0)
            full = [label for label, c in status.items() if c.kind == "max" and c.value in a.values[c.dimension]
                    and values[label]["slack"] < least]
            if full:
                why = f"{full[0]} is full ({values[full[0]]['slack']:,.0f} € left, it needs {least:,.0f} €)"
            elif least > left:
                why = f"the envelope has {left:,.0f} € left, it needs {least:,.0f} €"
            else:
                why = "the money went to a combination that fits better under the constraints"
            rows.append({"project_id": a.project_id, "project_name": a.project_name, "score": round(a.score, 4),
                         "requested": a.requested, "reason": why})
        return pd.DataFrame(rows, columns=["project_id", "project_name", "score", "requested", "reason"])


def applications_from(ranked: pd.DataFrame, projects: pd.DataFrame, funder: dict, history, max_per_project,
                      territories=None) -> list[Application]:
    """The eligible and to-check applications of a ranking, with their amounts and dimension values."""
    territories = territories or _territories()
    previous = previous_recipients(history, str(funder["funder_id"]))
    records = {str(r["project_id"]): r for r in projects.to_dict("records")}
    cap = funder.get("ticket_max")
    cap = math.inf if is_missing(cap) else float(cap)
    if max_per_project is not None:
        cap = min(cap, float(max_per_project))
    out = []
    for row in ranked[ranked["eligibility"] != "ineligible"].to_dict("records"):
        project = records.get(str(row["project_id"]), {"project_id": row["project_id"]})
        requested = project.get("amount_requested")
        if is_missing(requested) or float(requested) <= 0:
            continue
        out.append(Application(str(row["project_id"]), str(project.get("name") or row["project_id"]),
                               None if is_missing(row.get("call_id")) else str(row["call_id"]),
                               float(row["score"]), str(row["eligibility"]), float(requested),
                               float(min(float(requested), cap)),
                               dimension_values(project, territories, previous)))
    out.sort(key=lambda a: (-a.score, a.project_id))
    return out


def check_feasible(applications: list[Application], constraints: list[ShareConstraint], envelope: float,
                   partial: bool, floor: float) -> None:
    """Name the constraints that cannot hold, one by one and together (before any solve)."""
    reasons = []
    mins = [c for c in constraints if c.kind == "min"]
    for c in mins:
        need = c.share * envelope
        asks = sum(a.amount for a in applications if c.value in a.values[c.dimension])
        if asks + 1e-6 < need:
            reasons.append(f"{c.label} needs {need:,.0f} € but the eligible applications from "
                           f"{c.dimension} {c.value} ask {asks:,.0f} €")
        for m in constraints:
            if m.kind == "max" and m.dimension == c.dimension and m.value == c.value and m.share < c.share:
                reasons.append(f"{c.label} and {m.label} contradict each other")
    for dim in ("legal_form", "ess", "new_recipient"):  # one value per project: the groups are disjoint
        total = sum(c.share for c in mins if c.dimension == dim)
        if total > 1 + 1e-9:
            reasons.append(f"the min-shares of {dim} add up to {total:g}, more than the whole envelope")
    if reasons:
        raise InfeasibleError("the constraints cannot all hold: " + "; ".join(reasons), reasons)


def build_model(applications, constraints, envelope, partial, floor):
    n = len(applications)
    amounts = np.array([a.amount for a in applications]) / envelope
    scores = np.array([a.score for a in applications])
    if partial:
        c = np.concatenate([scores * amounts, np.zeros(n)])
        model = new_model(c, np.zeros(2 * n), np.ones(2 * n), np.concatenate([np.zeros(n), np.ones(n)]))
        eye = sp.identity(n, format="csr")
        model.add_rows(sp.hstack([eye, -eye]), -np.inf, 0.0)
        model.add_rows(sp.hstack([eye, -floor * eye]), 0.0, np.inf)
        width = 2 * n
    else:
        model = new_model(scores * amounts, np.zeros(n), np.ones(n), np.ones(n))
        width = n
    rows, lower, upper = [amounts], [-np.inf], [1.0]
    for con in constraints:
        member = np.array([con.value in a.values[con.dimension] for a in applications], dtype=float)
        rows.append(member * amounts)
        lower.append(con.share if con.kind == "min" else -np.inf)
        upper.append(con.share if con.kind == "max" else np.inf)
    matrix = sp.csr_matrix(np.vstack(rows))
    if width > n:
        matrix = sp.hstack([matrix, sp.csr_matrix((matrix.shape[0], n))], format="csr")
    model.add_rows(matrix, np.array(lower), np.array(upper))
    return model


def _read(solution, applications, envelope, partial) -> dict[int, float]:
    n = len(applications)
    x = solution.x
    out = {}
    for j in range(n):
        on = x[n + j] > 0.5 if partial else x[j] > 0.5
        if on:
            share = min(1.0, x[j]) if partial else 1.0
            out[j] = float(math.floor(round(share * applications[j].amount, 6)))
    return out


def _objective(amounts: dict[int, float], applications, envelope) -> float:
    return float(sum(applications[j].score * a for j, a in amounts.items()) / envelope)


def _solve(model, applications, constraints, envelope, partial, number, time_limit, label=""):
    core = solve_core(model, time_limit)
    if not core.solution.found:
        return None
    amounts = _read(core.solution, applications, envelope, partial)
    return Allocation(number, amounts, _objective(amounts, applications, envelope), core.solution.status,
                      core.gap, label)


def _cut(model, chosen, n, partial):
    width = 2 * n if partial else n
    offset = n if partial else 0
    row = np.zeros((1, width))
    row[0, offset:offset + n] = -1.0
    row[0, [offset + j for j in chosen]] = 1.0
    model.add_rows(row, -np.inf, len(chosen) - 1.0)


def allocate(ranked: pd.DataFrame, projects: pd.DataFrame, funder: dict, envelope: float,
             constraints: list[ShareConstraint] = (), max_per_project: float | None = None, partial: bool = False,
             floor: float = PARTIAL_FLOOR, alternatives: int = 2, what_if: int = 3, history=None,
             time_limit: float | None = None, applications: list[Application] | None = None) -> AllocationResult:
    """Fund the applications of one call: the best allocation, ``alternatives`` next best, what-ifs.

    ``what_if`` re-solves without each of at most that many share constraints that
    bind (those whose LP dual is not zero), most costly first.
    Raises :class:`InfeasibleError` naming the constraints that cannot hold.
    """
    if not envelope > 0:
        raise InputError(f"the envelope must be a positive amount, got {envelope:g}")
    constraints = list(constraints)
    apps = applications if applications is not None else applications_from(ranked, projects, funder, history,
                                                                            max_per_project)
    check_feasible(apps, constraints, envelope, partial, floor)
    call_id = next((a.call_id for a in apps), None)
    result = AllocationResult(str(funder["funder_id"]), call_id, envelope, partial, floor, apps, constraints,
                              Allocation(1, {}, 0.0, "optimal"))
    if not apps:
        return result
    model = build_model(apps, constraints, envelope, partial, floor)
    best = _solve(model, apps, constraints, envelope, partial, 1, time_limit)
    if best is None:
        raise InfeasibleError("the constraints cannot all hold together: "
                              + ", ".join(c.label for c in constraints if c.kind == "min")
                              + " (each can be met alone, not all at once within the envelope)",
                              [c.label for c in constraints])
    result.best = best
    for number in range(2, alternatives + 2):
        previous = (result.alternatives or [best])[-1]
        if not previous.amounts:
            break
        _cut(model, tuple(previous.amounts), len(apps), partial)
        alt = _solve(model, apps, constraints, envelope, partial, number, time_limit)
        if alt is None:
            break
        result.alternatives.append(alt)
    binding = binding_constraints(apps, constraints, envelope, partial, floor, best)
    result.binding = [c.label for c in binding]
    for con in binding[:what_if]:
        rest = [c for c in constraints if c is not con]
        other = _solve(build_model(apps, rest, envelope, partial, floor), apps, rest, envelope, partial, 0,
                       time_limit, label=f"without {con.label}")
        if other is not None:
            result.without.append((con, other))
    return result


def binding_constraints(apps, constraints, envelope, partial, floor, best: Allocation) -> list[ShareConstraint]:
    """The share constraints that bind: those whose removal could raise the objective, most costly first.

    Read from the LP relaxation's duals (one LP solve): a constraint with a zero
    dual is slack at the LP optimum; the others are ordered by dual × bound.
    """
    from matcher.planning.solver import relaxation

    if not constraints:
        return []
    lp, _reduced, duals = relaxation(build_model(apps, constraints, envelope, partial, floor), with_duals=True)
    if duals is None:
        return []
    offset = len(duals) - len(constraints)
    weight = [(abs(duals[offset + k]) * c.share, k) for k, c in enumerate(constraints)]
    return [constraints[k] for w, k in sorted(weight, key=lambda t: (-t[0], t[1])) if w > 1e-9]
