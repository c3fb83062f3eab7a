"""An envelope allocation: which applications to a funder (or call) to fund, and how much.

Model (one MILP, HiGHS): ``y_j`` = fund application *j* or not, ``z_j`` its
amount, at most what it asks (``min(amount_requested, ticket_max,
max_per_project)``); all-or-nothing by default (``z_j = r_j y_j``), or with
``partial`` between ``floor × r_j`` and ``r_j``. Amounts add up to at most the
envelope; each share constraint bounds the amount funded in one dimension
value (``region``, ``department``, ``sector``, ``legal_form``, ``ess``,
``new_recipient``) as a share of the envelope. Objective (maximised): the
money weighted by fit, ``Σ score_j × z_j / envelope``. Large models are solved
on a core of the applications nearest the margin (:func:`solver.solve_core`),
with the LP bound beside the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.planning import solver
from matcher.planning.plan import PlanningError, euros
from matcher.planning.texts import t

DIMENSIONS = ("region", "department", "sector", "legal_form", "ess", "new_recipient")
ALLOCATION_COLUMNS = ("alternative", "project_id", "amount", "requested", "score", "eligibility") + DIMENSIONS
#: Default floor of a partial grant, as a share of what the application asks.
PARTIAL_FLOOR = 0.5


@dataclass(frozen=True)
class Share:
    """``kind`` ("min" or "max") share of the envelope for the applications whose ``dimension`` holds ``value``."""

    kind: str
    dimension: str
    value: str
    share: float

    @property
    def label(self) -> str:
        return f"{self.kind}-share {self.dimension}:{self.value}={self.share:g}"


def parse_share(kind: str, text: str, lang: str = "fr") -> Share:
    """``DIM:VALUE=SHARE`` → :class:`Share`; ``ValueError`` with the reason when malformed."""
    head, sep, number = text.rpartition("=")
    dimension, colon, value = head.partition(":")
    if not sep or not colon or not value.strip():
        raise ValueError(t("err.share_format", lang, text=text))
    dimension = dimension.strip()
    if dimension not in DIMENSIONS:
        from matcher.planning.texts import unknown

        raise ValueError(unknown("dimension", dimension, DIMENSIONS, lang))
    try:
        share = float(number.replace(",", "."))
    except ValueError:
        raise ValueError(t("err.share_number", lang, value=number)) from None
    if not 0 <= share <= 1:
        raise ValueError(t("err.share_bounds", lang, value=f"{share:g}"))
    return Share(kind, dimension, value.strip(), share)


@dataclass(frozen=True)
class AllocationOptions:
    envelope: float
    shares: tuple[Share, ...] = ()
    max_per_project: float | None = None
    partial: bool = False
    floor: float = PARTIAL_FLOOR
    alternatives: int = 2
    time_limit: float | None = None
    lang: str = "fr"


@dataclass
class Allocation:
    """One allocation: amount per application, objective, how it was found, and what it trades away."""

    rank: int
    label: str
    amounts: np.ndarray
    objective: float
    status: str
    gap: float
    dropped: Share | None = None


@dataclass
class AllocationResult:
    applications: pd.DataFrame  # project_id, requested, score, eligibility, the dimension values (tuples)
    options: AllocationOptions
    allocations: list[Allocation]
    left_out: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        rows = []
        apps = self.applications
        for alloc in self.allocations:
            for j in np.flatnonzero(alloc.amounts > 0):
                a = apps.iloc[j]
                rows.append({"alternative": alloc.rank, "project_id": a["project_id"], "amount": alloc.amounts[j],
                             "requested": a["requested"], "score": round(float(a["score"]), 4),
                             "eligibility": a["eligibility"],
                             **{d: "|".join(a[d]) for d in DIMENSIONS}, "project_name": a["project_name"]})
        return pd.DataFrame(rows, columns=[*ALLOCATION_COLUMNS, "project_name"])


def membership(apps: pd.DataFrame, share: Share) -> np.ndarray:
    return np.array([share.value in values for values in apps[share.dimension]], dtype=bool)


def build_model(apps: pd.DataFrame, options: AllocationOptions, shares) -> solver.Model:
    """Variables: ``y`` (fund or not), then with ``partial`` ``z`` (amount, in shares of the envelope)."""
    n = len(apps)
    envelope = options.envelope
    r = apps["requested"].to_numpy(float) / envelope
    s = apps["score"].to_numpy(float)
    if options.partial:
        model = solver.new_model(np.concatenate([np.zeros(n), s]), np.zeros(2 * n), np.concatenate([np.ones(n), r]),
                                 np.concatenate([np.ones(n), np.zeros(n)]))
        eye = sp.identity(n, format="csr")
        model.add_rows(sp.hstack([-sp.diags(r), eye]), -np.inf, 0.0)
        model.add_rows(sp.hstack([-sp.diags(options.floor * r), eye]), 0.0, np.inf)
        money = sp.hstack([sp.csr_matrix((1, n)), np.ones((1, n))])
        def group(mask):
            return sp.hstack([sp.csr_matrix((1, n)), mask[None, :].astype(float)])
    else:
        model = solver.new_model(s * r, np.zeros(n), np.ones(n), np.ones(n))
        money = sp.csr_matrix(r[None, :])
        def group(mask):
            return sp.csr_matrix((mask * r)[None, :])
    model.add_rows(money, -np.inf, 1.0)
    for share in shares:
        mask = membership(apps, share)
        if share.kind == "min":
            model.add_rows(group(mask), share.share, np.inf)
        else:
            model.add_rows(group(mask), -np.inf, share.share)
    return model


def check_feasible(apps: pd.DataFrame, options: AllocationOptions) -> None:
    """Refuse, naming them, the share constraints that cannot hold whatever is chosen."""
    problems = []
    for share in options.shares:
        if share.kind != "min":
            continue
        need = share.share * options.envelope
        asked = apps.loc[membership(apps, share), "requested"].sum()
        if asked + 0.5 < need:
            problems.append(t("err.min_needs", options.lang, label=share.label, need=euros(need),
                              dimension=share.dimension, value=share.value, asked=euros(asked)))
        for other in options.shares:
            if other.kind == "max" and (other.dimension, other.value) == (share.dimension, share.value) \
                    and other.share < share.share:
                problems.append(t("err.contradict", options.lang, a=share.label, b=other.label))
    if problems:
        raise PlanningError(t("err.infeasible", options.lang, problems=" ; ".join(problems)))


def _amounts(apps, options, x) -> np.ndarray:
    n = len(apps)
    r = apps["requested"].to_numpy(float)
    if options.partial:
        on = np.round(x[:n]) > 0.5
        z = np.minimum(np.floor(x[n:] * options.envelope + 1e-6), r)
        return np.where(on, z, 0.0)
    return np.where(np.round(x[:n]) > 0.5, r, 0.0)


def allocation_objective(apps, amounts, envelope) -> float:
    return float((apps["score"].to_numpy(float) * amounts).sum() / envelope)


def allocate_envelope(apps: pd.DataFrame, options: AllocationOptions) -> AllocationResult:
    """The best allocation, then alternatives: without each constraint that binds, then the next best ones."""
    if options.envelope <= 0:
        raise PlanningError(t("err.envelope", options.lang, value=f"{options.envelope:g}"))
    check_feasible(apps, options)
    result = AllocationResult(apps, options, [])
    if apps.empty:
        result.allocations.append(Allocation(1, "best", np.zeros(0), 0.0, "optimal", 0.0))
        return result
    model = build_model(apps, options, options.shares)
    core = solver.solve_core(model, options.time_limit)
    if not core.solution.found:
        raise PlanningError(t("err.infeasible_together", options.lang, problems=infeasible_set(apps, options)))
    best = Allocation(1, "best", _amounts(apps, options, core.solution.x), core.solution.objective,
                      core.solution.status, core.gap)
    result.allocations.append(best)
    rank = 2
    for share in binding(apps, options, best.amounts)[: options.alternatives]:
        rest = [s for s in options.shares if s != share]
        other = solver.solve_core(build_model(apps, options, rest), options.time_limit)
        if other.solution.found:
            result.allocations.append(Allocation(rank, f"without {share.label}", _amounts(apps, options,
                                      other.solution.x), other.solution.objective, other.solution.status,
                                      other.gap, share))
            rank += 1
    n = len(apps)
    width = model.c.shape[0]
    chosen_sets = [best.amounts > 0]
    for _ in range(options.alternatives - (rank - 2)):
        for chosen in chosen_sets[-1:]:
            cut = np.zeros(width)
            cut[:n] = np.where(chosen, -1.0, 1.0)
            model.add_rows(sp.csr_matrix(cut[None, :]), 1.0 - chosen.sum(), np.inf)
        nxt = solver.solve_core(model, options.time_limit)
        if not nxt.solution.found:
            break
        amounts = _amounts(apps, options, nxt.solution.x)
        chosen_sets.append(amounts > 0)
        result.allocations.append(Allocation(rank, "next best", amounts, nxt.solution.objective,
                                             nxt.solution.status, nxt.gap))
        rank += 1
    return result


def infeasible_set(apps, options) -> str:
    """The share constraints that cannot hold together (a deletion filter over LP relaxations)."""
    kept = list(options.shares)
    for share in list(kept):
        trial = [s for s in kept if s != share]
        lp, _ = solver.relaxation(build_model(apps, options, trial))
        if not lp.found:
            kept = trial
    if not kept:
        return t("err.no_whole", options.lang)
    lp, _ = solver.relaxation(build_model(apps, options, kept))
    tail = "" if not lp.found else t("err.whole", options.lang)
    return ", ".join(s.label for s in kept) + tail


def binding(apps, options, amounts) -> list[Share]:
    """The share constraints that shape the allocation: a max that stops the next application, a min that
    would break if any of its funded applications were dropped."""
    out = []
    unfunded = amounts <= 0
    r = apps["requested"].to_numpy(float)
    for share in options.shares:
        mask = membership(apps, share)
        total = amounts[mask].sum()
        bound = share.share * options.envelope
        if share.kind == "max":
            waiting = r[mask & unfunded]
            if waiting.size and bound - total < waiting.min():
                out.append(share)
        else:
            funded = amounts[mask & ~unfunded]
            if funded.size and total - funded.min() < bound:
                out.append(share)
    return out


def balance(apps: pd.DataFrame, amounts: np.ndarray, envelope: float) -> pd.DataFrame:
    """Funded projects and amounts by each dimension value."""
    rows = []
    for dim in DIMENSIONS:
        counts: dict[str, list[float]] = {}
        for values, amount in zip(apps[dim], amounts, strict=True):
            if amount > 0:
                for v in values or ("unknown",):
                    counts.setdefault(v, [0, 0.0])
                    counts[v][0] += 1
                    counts[v][1] += amount
        for value, (k, money) in sorted(counts.items()):
            rows.append({"dimension": dim, "value": value, "projects": k, "amount": money,
                         "share_of_envelope": round(money / envelope, 4)})
    return pd.DataFrame(rows, columns=["dimension", "value", "projects", "amount", "share_of_envelope"])


def below_the_line(apps, options, amounts, count: int = 5, lang: str | None = None) -> list[tuple[str, str]]:
    """The best-scoring applications left out, and why each missed."""
    lang = lang or options.lang
    left = options.envelope - amounts.sum()
    out = []
    r = apps["requested"].to_numpy(float)
    for j in np.flatnonzero(amounts <= 0)[:count]:
        need = options.floor * r[j] if options.partial else r[j]
        why = []
        if need > left + 1e-6:
            why.append(t("why.envelope", lang, left=euros(left), need=euros(need)))
        for share in options.shares:
            if share.kind == "max" and share.value in apps.iloc[j][share.dimension]:
                room = share.share * options.envelope - amounts[membership(apps, share)].sum()
                if need > room + 1e-6:
                    why.append(t("why.share", lang, label=share.label, room=euros(max(room, 0))))
        if not why:
            why.append(t("why.elsewhere", lang))
        out.append((apps.iloc[j]["project_id"], " ; ".join(why)))
    return out
