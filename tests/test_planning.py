"""Plans and allocations against brute-force enumeration on small random instances (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from matcher.planning.allocate import AllocationOptions, Share, allocate_envelope, parse_share
from matcher.planning.applications import resolve_share
from matcher.planning.plan import (
    APPLICATION_COST,
    PUBLIC_TYPES,
    PlanningError,
    PlanOptions,
    plan_financing,
)
from matcher.planning.plan import SCORE_WEIGHT as FIT_WEIGHT

TYPES = ["foundation", "local_authority", "state_agency", "solidarity_bank"]


@st.composite
def plan_instances(draw):
    n = draw(st.integers(1, 7))
    budget = float(draw(st.integers(50, 400)) * 1000)
    secured = float(draw(st.integers(0, 20)) * 1000)
    rows, ranked = [], []
    for i in range(n):
        funder = f"F{draw(st.integers(0, max(0, n - 2)))}"  # some funders have two calls
        low = float(draw(st.integers(0, 30)) * 1000)
        high = low + float(draw(st.integers(1, 150)) * 1000)
        share = draw(st.sampled_from([None, 0.3, 0.5, 0.8]))
        rows.append({"funder_id": funder, "call_id": f"C{i}", "ticket_min": low, "ticket_max": high,
                     "max_share_of_budget": share, "funder_type": draw(st.sampled_from(TYPES)),
                     "call_closes": None, "instruments": ("grant",), "name": funder, "call_title": None})
        ranked.append({"funder_id": funder, "call_id": f"C{i}", "eligibility": draw(st.sampled_from(["eligible",
                       "to_check"])), "score": draw(st.integers(0, 100)) / 100, "funder_name": funder,
                       "call_title": None, "reasons": ""})
    project = {"project_id": "P", "total_budget": budget, "secured_funding": secured, "start_date": None,
               "instruments_sought": ("grant",)}
    cap = draw(st.sampled_from([0.5, 0.8, 1.0]))
    most = draw(st.sampled_from([None, 1, 2, 3]))
    own = draw(st.sampled_from([0.0, 0.1]))
    return project, pd.DataFrame(ranked), pd.DataFrame(rows), cap, most, own


def brute_force_plan(project, ranked, funders, cap, most, own):
    """The optimum by enumerating every set of funder rows and solving the asks' LP for each (linprog)."""
    budget = project["total_budget"]
    need = budget - project["secured_funding"] - round(own * budget, 2)
    rows = funders.to_dict("records")
    scores = dict(zip(ranked["call_id"], ranked["score"], strict=True))
    best = 0.0  # no ask at all
    for size in range(1, len(rows) + 1 if most is None else min(most, len(rows)) + 1):
        for subset in itertools.combinations(rows, size):
            if len({r["funder_id"] for r in subset}) < size:
                continue
            share = [share_of(r) for r in subset]
            bounds = [(max(r["ticket_min"], 1.0), min(r["ticket_max"], need, budget * s if s is not None else np.inf))
                      for r, s in zip(subset, share, strict=True)]
            if any(lo > hi for lo, hi in bounds):
                continue
            public = [1.0 if r["funder_type"] in PUBLIC_TYPES else 0.0 for r in subset]
            # in thousands of euros: HiGHS's tolerances are absolute, so per-euro weights would be too small
            weights = np.array([1 + FIT_WEIGHT * scores[r["call_id"]] for r in subset])
            res = linprog(-weights, A_ub=[[1.0] * size, public], b_ub=[need / 1e3, cap * budget / 1e3],
                          bounds=[(lo / 1e3, hi / 1e3) for lo, hi in bounds], method="highs")
            if res.status == 0:
                best = max(best, -res.fun * 1e3 / need - APPLICATION_COST * size)
    return best


def share_of(row: dict) -> float | None:
    value = row["max_share_of_budget"]
    return None if value is None or value != value else float(value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_instances())
def test_plan_is_the_brute_force_optimum_and_holds_every_constraint(instance):
    project, ranked, funders, cap, most, own = instance
    need = project["total_budget"] - project["secured_funding"] - round(own * project["total_budget"], 2)
    result = plan_financing(project, ranked, funders, PlanOptions(self_funding=own, public_cap=cap,
                            max_applications=most, alternatives=2))
    optimum = brute_force_plan(project, ranked, funders, cap, most, own)
    first = result.plans[0]
    # amounts are rounded down to whole euros: at most one euro per line below the LP amounts
    assert first.objective == pytest.approx(optimum, abs=len(funders) * 2 / need + 1e-9)
    keyed = {(r["funder_id"], r["call_id"]): r for r in funders.to_dict("records")}
    seen = []
    for plan in result.plans:
        lines = plan.lines
        assert lines["amount"].sum() == pytest.approx(project["total_budget"], abs=0.01)  # balances
        asks = lines[lines["kind"] == "funder"]
        assert asks["funder_id"].is_unique  # one ask per funder
        if most is not None:
            assert len(asks) <= most
        assert asks.loc[asks["public"] == "true", "amount"].sum() <= cap * project["total_budget"] + 1e-6
        assert asks["amount"].sum() <= need + 1e-6
        for row in asks.to_dict("records"):
            f = keyed[(row["funder_id"], row["call_id"])]
            assert max(f["ticket_min"], 1) - 1e-6 <= row["amount"] <= f["ticket_max"] + 1e-6
            if share_of(f):
                assert row["amount"] <= share_of(f) * project["total_budget"] + 1e-6
        assert plan.objective <= first.objective + 1e-9  # none beats the first
        key = frozenset(zip(asks["funder_id"], asks["call_id"], strict=True))
        assert key not in seen  # distinct
        seen.append(key)


@st.composite
def allocation_instances(draw):
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        rows.append({"project_id": f"P{i:02d}", "project_name": f"P{i}", "call_id": None,
                     "requested": float(draw(st.integers(1, 20)) * 1000), "score": draw(st.integers(1, 100)) / 100,
                     "eligibility": "eligible", "region": (draw(st.sampled_from(["84", "93", "75"])),),
                     "department": (), "sector": ("energy",) if draw(st.booleans()) else ("mobility",),
                     "legal_form": ("association",), "ess": ("true",), "new_recipient": ()})
    apps = pd.DataFrame(rows).sort_values(["score", "project_id"], ascending=[False, True], ignore_index=True)
    envelope = float(draw(st.integers(5, 80)) * 1000)
    shares = []
    for kind in ("min", "max"):
        if draw(st.booleans()):
            dim, value = draw(st.sampled_from([("region", r) for r in ("84", "93", "75")] + [("sector", "energy")]))
            shares.append(Share(kind, dim, value, draw(st.integers(0, 10)) / 10))
    partial = draw(st.booleans()) and n <= 8
    return apps, envelope, tuple(shares), partial


def members(apps, share):
    return np.array([share.value in v for v in apps[share.dimension]])


def brute_force_allocation(apps, envelope, shares):
    n = len(apps)
    amounts = apps["requested"].to_numpy()
    scores = apps["score"].to_numpy()
    subsets = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)
    spent = subsets @ amounts
    ok = spent <= envelope + 1e-9
    for c in shares:
        group = subsets @ (amounts * members(apps, c))
        ok &= group >= c.share * envelope - 1e-9 if c.kind == "min" else group <= c.share * envelope + 1e-9
    if not ok.any():
        return None
    return float(((subsets @ (amounts * scores)) / envelope)[ok].max())


def brute_force_partial(apps, envelope, shares, floor):
    """Partial grants: for each funded set, the amounts' LP (floor x r <= z <= r) by linprog."""
    n = len(apps)
    r, s = apps["requested"].to_numpy(), apps["score"].to_numpy()
    best = None
    for mask in range(1, 2 ** n):
        on = [j for j in range(n) if mask >> j & 1]
        a_ub, b_ub = [[1.0] * len(on)], [envelope]
        for c in shares:
            row = [1.0 if c.value in apps.iloc[j][c.dimension] else 0.0 for j in on]
            if c.kind == "min":
                a_ub.append([-v for v in row])
                b_ub.append(-c.share * envelope)
            else:
                a_ub.append(row)
                b_ub.append(c.share * envelope)
        res = linprog(-s[on], A_ub=a_ub, b_ub=[b / 1e3 for b in b_ub],
                      bounds=[(floor * r[j] / 1e3, r[j] / 1e3) for j in on], method="highs")
        if res.status == 0:
            best = max(best if best is not None else -1.0, -res.fun * 1e3 / envelope)
    empty_ok = all(c.kind == "max" or c.share == 0 for c in shares)
    if empty_ok:
        best = max(best if best is not None else 0.0, 0.0)
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(allocation_instances())
def test_allocation_is_the_brute_force_optimum_and_holds_every_constraint(instance):
    apps, envelope, shares, partial = instance
    options = AllocationOptions(envelope=envelope, shares=shares, partial=partial, alternatives=2)
    optimum = (brute_force_partial(apps, envelope, shares, options.floor) if partial
               else brute_force_allocation(apps, envelope, shares))
    try:
        result = allocate_envelope(apps, options)
    except PlanningError:
        assert optimum is None
        return
    assert optimum is not None
    best = result.allocations[0]
    # partial amounts are rounded down to whole euros
    assert best.objective == pytest.approx(optimum, abs=1e-6 + (len(apps) * 2 / envelope if partial else 0))
    r = apps["requested"].to_numpy()
    seen = []
    for alloc in result.allocations:
        dropped = alloc.dropped
        chosen = alloc.amounts > 0
        if partial:
            assert np.all(alloc.amounts[chosen] >= np.floor(options.floor * r[chosen]) - 1)
            assert np.all(alloc.amounts <= r + 1e-6)
        else:
            assert np.array_equal(alloc.amounts[chosen], r[chosen])  # all or nothing
        assert alloc.amounts.sum() <= envelope + 1e-6
        for c in shares:
            if c == dropped:
                continue
            group = alloc.amounts[members(apps, c)].sum()
            slack = len(apps) + 1e-6 if partial else 1e-6
            assert group >= c.share * envelope - slack if c.kind == "min" else group <= c.share * envelope + 1e-6
        if dropped is None:  # same constraints: none beats the first, all distinct
            assert alloc.objective <= best.objective + 1e-9
            key = frozenset(np.flatnonzero(chosen))
            assert key not in seen
            seen.append(key)
        else:  # one constraint relaxed: never worse than the first
            assert alloc.objective >= best.objective - 1e-9


def _apps(rows):
    base = {"project_name": "", "call_id": None, "eligibility": "eligible", "region": (), "department": (),
            "sector": ("energy",), "legal_form": ("association",), "ess": ("true",), "new_recipient": ()}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_partial_grants_respect_the_floor():
    apps = _apps([{"project_id": "A", "requested": 60000.0, "score": 0.9},
                  {"project_id": "B", "requested": 50000.0, "score": 0.5}])
    result = allocate_envelope(apps, AllocationOptions(envelope=90000, partial=True, floor=0.5))
    assert dict(zip(apps["project_id"], result.allocations[0].amounts, strict=True)) == {"A": 60000.0, "B": 30000.0}


def test_infeasible_min_share_is_named():
    apps = _apps([{"project_id": "A", "requested": 40000.0, "score": 0.5, "department": ("93",)},
                  {"project_id": "B", "requested": 80000.0, "score": 0.5, "department": ("26",)}])
    with pytest.raises(PlanningError) as err:
        allocate_envelope(apps, AllocationOptions(envelope=500000, shares=(parse_share("min", "department:93=0.2"),),
                                                  lang="en"))
    assert str(err.value) == ("the constraints cannot all hold: min-share department:93=0.2 needs 100\u202f000 € "
                              "but the eligible applications from department 93 ask 40\u202f000 €")


def test_binding_constraint_gives_a_without_alternative():
    apps = _apps([{"project_id": "A", "requested": 50000.0, "score": 0.9, "region": ("84",)},
                  {"project_id": "B", "requested": 50000.0, "score": 0.8, "region": ("84",)},
                  {"project_id": "C", "requested": 50000.0, "score": 0.2, "region": ("93",)}])
    result = allocate_envelope(apps, AllocationOptions(envelope=100000,
                                                       shares=(parse_share("max", "region:84=0.5"),)))
    best, without = result.allocations[0], result.allocations[1]
    assert best.amounts.tolist() == [50000.0, 0.0, 50000.0]
    assert without.label == "without max-share region:84=0.5"
    assert without.amounts.tolist() == [50000.0, 50000.0, 0.0]


@pytest.mark.parametrize(("text", "lang", "message"), [
    ("region:84=1.5", "en", "the share must be between 0 and 1 (a share of the envelope), got 1.5"),
    ("colour:red=0.2", "en", "unknown dimension 'colour'"),
    ("region84=0.2", "en", "expected DIM:VALUE=SHARE, got 'region84=0.2'"),
    ("region:84=1.5", "fr", "la part doit être entre 0 et 1 (une part de l'enveloppe), reçu 1.5"),
    ("colour:red=0.2", "fr", "dimension inconnue « colour »"),
    ("region84=0.2", "fr", "DIM:VALEUR=PART attendu, reçu 'region84=0.2'"),
])
def test_parse_share_refuses_bad_input(text, lang, message):
    with pytest.raises(ValueError) as err:
        parse_share("max", text, lang)
    assert str(err.value).startswith(message)


def test_share_values_read_codes_and_names():
    assert resolve_share(parse_share("max", "region:Auvergne-Rhône-Alpes=0.3"), False).value == "84"
    assert resolve_share(parse_share("min", "department:93=0.2"), False).value == "93"
    assert resolve_share(parse_share("min", "ess:oui=0.5"), False).value == "true"
    with pytest.raises(PlanningError, match="unknown region 'Atlantis'"):
        resolve_share(parse_share("max", "region:Atlantis=0.3"), False, "en")
    with pytest.raises(PlanningError, match="région inconnue « Atlantis »"):
        resolve_share(parse_share("max", "region:Atlantis=0.3"), False)
    with pytest.raises(PlanningError, match="new_recipient needs the funder's grant history"):
        resolve_share(parse_share("min", "new_recipient:true=0.3"), False, "en")
    with pytest.raises(PlanningError, match="new_recipient demande l'historique des aides du financeur"):
        resolve_share(parse_share("min", "new_recipient:true=0.3"), False)


def test_plan_without_budget_says_what_is_missing():
    with pytest.raises(PlanningError, match="project P has no total budget"):
        plan_financing({"project_id": "P", "total_budget": None}, pd.DataFrame(), pd.DataFrame(),
                       PlanOptions(lang="en"))
    with pytest.raises(PlanningError, match="le projet P n'a pas de budget total"):
        plan_financing({"project_id": "P", "total_budget": None}, pd.DataFrame(), pd.DataFrame())
