"""Invariants of the matcher on random small profile sets (hypothesis), and the
vectorised engine checked against the per-pair reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import reference
from conftest import TinyTerritories, funders_frame, projects_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.engine.eligibility import evaluate_rules
from matcher.engine.features import Block, as_day
from matcher.engine.model import Matcher
from matcher.engine.scoring import score_block

DATE = "2026-04-01"
CODES = ["commune:69123", "commune:69266", "commune:69029", "commune:38185", "commune:75056",
         "epci:200046977", "epci:246900245", "epci:200040715", "dep:69", "dep:38", "dep:75",
         "reg:84", "reg:11", "FR", "EU"]
FORMS = ["association", "scop", "scic", "commune", "commercial_company", "foundation"]
FORM_CONDITIONS = FORMS + ["cooperatives", "associations", "local_authorities"]
SECTORS = ["energy", "mobility", "food_agriculture", "health", "employment_inclusion"]
INSTRUMENTS = ["grant", "loan", "equity"]
STAGES = ["emergence", "launch", "development"]
EXPENSES = ["investment", "operating", "both"]
AMOUNTS = [1_000.0, 5_000.0, 20_000.0, 50_000.0, 120_000.0, 500_000.0]
JT = ["climate_mitigation", "biodiversity", "inclusive_employment", "vulnerable_publics",
      "territorial_cooperation"]
WORDS = ["énergie", "solaire", "citoyenne", "alimentation", "insertion", "emploi", "mobilité",
         "vélo", "santé", "habitants", "quartier", "rénovation", "logement", "coopérative", "les", "de"]
CRITERIA = ["sector", "text", "scale", "legal_form", "territory", "just_transition", "cooperation"]


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def subset(values, min_size=0, max_size=3):
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=max_size, unique=True).map(tuple)


texts = maybe(st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join))


@st.composite
def project_rows(draw, n):
    rows = []
    for i in range(n):
        jt = {c: draw(st.integers(0, 3)) for c in draw(subset(JT, 0, 5))}
        rows.append({
            "project_id": f"P{i:02d}",
            "name": draw(texts), "summary": draw(texts),
            "legal_form": draw(maybe(st.sampled_from(FORMS))),
            "territory": draw(maybe(subset(CODES, 1, 2))),
            "amount_requested": draw(maybe(st.sampled_from(AMOUNTS))),
            "total_budget": draw(maybe(st.sampled_from([10_000.0, 100_000.0, 1_000_000.0]))),
            "sectors": draw(maybe(subset(SECTORS, 0, 3))),
            "instruments_sought": draw(maybe(subset(INSTRUMENTS, 1, 2))),
            "stage": draw(maybe(st.sampled_from(STAGES))),
            "expense_type": draw(maybe(st.sampled_from(EXPENSES))),
            "ess_status": draw(maybe(st.sampled_from([(), ("esus",), ("ess_member",)]))),
            "partners_count": draw(maybe(st.integers(0, 8))),
            "partner_kinds": draw(maybe(subset(["association", "company", "research"], 0, 3))),
            "governance": draw(maybe(subset(["democratic", "multi_stakeholder", "shared"], 0, 3))),
            "jt": jt,
        })
    return rows


@st.composite
def funder_rows(draw, n):
    rows = []
    for i in range(n):
        calls = draw(st.sampled_from([[None], ["C1"], ["C1", "C2"]]))
        for call in calls:
            rows.append({
                "funder_id": f"F{i:02d}",
                "call_id": call,
                "name": draw(texts), "description": draw(texts),
                "call_title": draw(texts) if call else None,
                "call_opens": draw(maybe(st.sampled_from(["2026-01-01", "2026-05-01"]))) if call else None,
                "call_closes": draw(maybe(st.sampled_from(["2026-03-15", "2026-12-31"]))) if call else None,
                "sectors": draw(maybe(st.dictionaries(st.sampled_from(SECTORS), st.sampled_from([1.0, 2.0, 3.0]),
                                                      max_size=3))),
                "perimeter": draw(maybe(subset(CODES, 0, 2))),
                "excluded_places": draw(maybe(subset(CODES[:8], 0, 1))),
                "instruments": draw(maybe(subset(INSTRUMENTS, 0, 2))),
                "stages": draw(maybe(subset(STAGES, 0, 2))),
                "expense_types": draw(maybe(subset(EXPENSES, 0, 2))),
                "eligible_legal_forms": draw(maybe(subset(FORM_CONDITIONS, 0, 2))),
                "excluded_legal_forms": draw(maybe(subset(FORMS, 0, 1))),
                "ticket_min": draw(maybe(st.sampled_from([2_000.0, 10_000.0]))),
                "ticket_max": draw(maybe(st.sampled_from([30_000.0, 100_000.0]))),
                "ticket_max_strict": draw(maybe(st.booleans())),
                "max_share_of_budget": draw(maybe(st.sampled_from([0.5, 0.8]))),
                "requires_esus": draw(maybe(st.booleans())),
                "just_transition_requirements": draw(maybe(subset(JT + ["just"], 0, 2))),
                "just_transition_priorities": draw(maybe(st.dictionaries(st.sampled_from(JT),
                                                                         st.sampled_from([1.0, 2.0]),
                                                                         max_size=3))),
                "weights": draw(maybe(st.dictionaries(st.sampled_from(CRITERIA),
                                                      st.sampled_from([0.0, 0.1, 0.5, 2.0]), max_size=3))),
            })
    return rows


profile_sets = st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(
    lambda n: st.tuples(project_rows(n[0]), funder_rows(n[1])))
run_weights = maybe(st.dictionaries(st.sampled_from(CRITERIA), st.sampled_from([0.0, 0.3, 1.0]), max_size=2))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fitted(funders: pd.DataFrame, weights=None) -> Matcher:
    return Matcher(date=DATE, territories=TinyTerritories(), weights=weights, top=None).fit(funders)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9


@SETTINGS
@given(profile_sets, run_weights)
def test_contributions_sum_to_the_score(profiles, weights):
    matcher = fitted(funders_frame(*profiles[1]), weights)
    ranked = matcher.rank_funders(projects_frame(*profiles[0]), include_ineligible=True)
    contributions = ranked[[f"contribution_{c}" for c in CRITERIA]].sum(axis=1, skipna=True)
    assert np.allclose(contributions, ranked["score"], atol=1e-9, rtol=0)
    assert ((ranked["score"] >= 0) & (ranked["score"] <= 1 + 1e-12)).all()


@SETTINGS
@given(profile_sets)
def test_an_ineligible_pair_never_outranks_an_eligible_one(profiles):
    matcher = fitted(funders_frame(*profiles[1]))
    ranked = matcher.rank_funders(projects_frame(*profiles[0]), include_ineligible=True)
    for _, group in ranked.groupby("project_id"):
        bad = (group["eligibility"] == "ineligible").to_numpy()
        assert list(bad) == sorted(bad), "ineligible pairs must come last"
        assert list(group["rank"]) == list(range(1, len(group) + 1))
    for _, group in matcher.rank_projects(projects_frame(*profiles[0]), "F00",
                                          include_ineligible=True).groupby("call_id", dropna=False):
        bad = (group["eligibility"] == "ineligible").to_numpy()
        assert list(bad) == sorted(bad)


@SETTINGS
@given(profile_sets, st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(profiles, rnd):
    projects, funders = projects_frame(*profiles[0]), funders_frame(*profiles[1])
    first = fitted(funders).rank_funders(projects, top=3, include_ineligible=True)
    p_order, f_order = list(range(len(projects))), list(range(len(funders)))
    rnd.shuffle(p_order)
    rnd.shuffle(f_order)
    second = fitted(funders.iloc[f_order]).rank_funders(projects.iloc[p_order], top=3,
                                                         include_ineligible=True)
    pd.testing.assert_frame_equal(first, second)
    by_funder = fitted(funders).rank_projects(projects, "F00", top=2)
    again = fitted(funders.iloc[f_order]).rank_projects(projects.iloc[p_order], "F00", top=2)
    pd.testing.assert_frame_equal(by_funder, again)


@SETTINGS
@given(profile_sets, st.sampled_from(CRITERIA), st.floats(0.0, 1.0))
def test_raising_one_criterion_never_lowers_the_score(profiles, name, bump):
    matcher = fitted(funders_frame(*profiles[1]))
    projects = projects_frame(*profiles[0])
    features = matcher.space_.encode_projects(projects)
    block = Block(features, matcher.funder_features_, matcher.space_, as_day(DATE))
    base = score_block(matcher.criteria_, matcher.rules_, block, matcher.weights_)
    c = matcher.criteria_names_.index(name)
    raised = np.stack(base.scores)
    known = ~np.isnan(raised[c])
    raised[c] = np.where(known, np.minimum(1.0, raised[c] + bump), raised[c])
    w = matcher.weights_.T[:, None, :]
    known_all = ~np.isnan(raised)
    num = np.where(known_all, raised * w, 0).sum(axis=0)
    den = np.where(known_all, w, 0).sum(axis=0)
    after = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    assert (after >= base.score - 1e-12).all()


@SETTINGS
@given(profile_sets, run_weights)
def test_vectorised_engine_equals_the_reference(profiles, weights):
    projects, funders = projects_frame(*profiles[0]), funders_frame(*profiles[1])
    matcher = fitted(funders, weights)
    day = as_day(DATE)
    features = matcher.space_.encode_projects(projects)
    block = Block(features, matcher.funder_features_, matcher.space_, day)
    scored = score_block(matcher.criteria_, matcher.rules_, block, matcher.weights_)
    rules = evaluate_rules(matcher.rules_, block)
    names = [r.name for r in matcher.rules_]
    project_records = projects.to_dict("records")
    funder_records = matcher.funders_.to_dict("records")
    for i, project in enumerate(project_records):
        for f, funder in enumerate(funder_records):
            expected = reference.evaluate_pair(project, funder, day=day, territories=matcher.territories_,
                                               text_model=matcher.space_.text_model, run_weights=weights)
            where = f"{project['project_id']} x {funder['funder_id']}/{funder['call_id']}"
            for k, name in enumerate(names):
                status, warn = expected["statuses"][name]
                got = 2 if rules.fail_bits[i, f] >> k & 1 else (1 if rules.unknown_bits[i, f] >> k & 1 else 0)
                assert got == status, f"{where}: rule {name}"
                assert bool(rules.warn_bits[i, f] >> k & 1) == warn, f"{where}: warning {name}"
            for c, name in enumerate(matcher.criteria_names_):
                assert same(scored.scores[c][i, f], expected["scores"][name]), f"{where}: {name}"
            assert same(scored.score[i, f], expected["score"]), where
            assert ["eligible", "to_check", "ineligible"][rules.verdict[i, f]] == expected["verdict"]

    ranked = matcher.rank_funders(projects, include_ineligible=True)
    oracle = reference.rank_funders(projects, funders, day=day, territories=matcher.territories_,
                                    text_model=matcher.space_.text_model, run_weights=weights,
                                    include_ineligible=True)
    columns = ["project_id", "funder_id", "call_id", "rank", "eligibility"]
    pd.testing.assert_frame_equal(ranked[columns].reset_index(drop=True), oracle[columns],
                                  check_dtype=False)
    assert np.allclose(ranked["score"], oracle["score"], atol=1e-9, rtol=0)


REAL_CODES = ["commune:75056", "dep:75", "epci:200054781", "commune:92012", "dep:92", "reg:11",
              "commune:69123", "epci:200046977", "dep:69", "reg:84", "epci:200006682", "commune:21010",
              "commune:71073", "dep:21", "dep:71", "reg:27", "FR", "EU"]


@st.composite
def real_place_sets(draw):
    projects = [{"project_id": f"P{i}", "territory": draw(maybe(subset(REAL_CODES, 1, 2))),
                 "amount_requested": 10_000.0} for i in range(draw(st.integers(1, 4)))]
    funders = [{"funder_id": f"F{i}", "perimeter": draw(maybe(subset(REAL_CODES, 1, 2))),
                "excluded_places": draw(maybe(subset(REAL_CODES, 1, 1)))} for i in range(draw(st.integers(1, 4)))]
    return projects, funders


def _check_places_against_reference(projects, funders):
    from matcher.referential.territories import Territories

    matcher = Matcher(date=DATE, territories=Territories.default(), top=None).fit(funders)
    features = matcher.space_.encode_projects(projects)
    block = Block(features, matcher.funder_features_, matcher.space_, as_day(DATE))
    rules = evaluate_rules(matcher.rules_, block)
    territory = matcher.criteria_[matcher.criteria_names_.index("territory")].score(block)
    names = [r.name for r in matcher.rules_]
    for i, project in enumerate(projects.to_dict("records")):
        for f, funder in enumerate(matcher.funders_.to_dict("records")):
            expected = reference.eligibility(project, funder, as_day(DATE), matcher.territories_)
            where = (project["territory"], funder["perimeter"], funder["excluded_places"])
            for name in ("perimeter", "excluded_places"):
                k = names.index(name)
                got = 2 if rules.fail_bits[i, f] >> k & 1 else (1 if rules.unknown_bits[i, f] >> k & 1 else 0)
                assert got == expected[name][0], (where, name)
            assert same(territory[i, f], reference.territory(project, funder, matcher.territories_)), where


def test_every_pair_of_real_places_matches_containment():
    """Twins (Paris commune/department), a metropole holding a department, an
    EPCI across two departments: every code against every code."""
    projects = projects_frame(*[{"project_id": f"P{i:02d}", "territory": (code,)}
                                for i, code in enumerate(REAL_CODES)])
    funders = funders_frame(*[{"funder_id": f"F{i:02d}", "perimeter": (code,)} for i, code in enumerate(REAL_CODES)],
                            *[{"funder_id": f"X{i:02d}", "excluded_places": (code,)}
                              for i, code in enumerate(REAL_CODES)])
    _check_places_against_reference(projects, funders)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(real_place_sets())
def test_territory_encoding_equals_containment_on_the_real_table(profiles):
    _check_places_against_reference(projects_frame(*profiles[0]), funders_frame(*profiles[1]))


def test_top_none_means_every_line_and_left_out_the_matchers_top():
    """Review of issue 16: rank_funders(top=None) fell back to the matcher's top (10), not "all"."""
    from conftest import fit, funder, project, projects_frame

    matcher = fit(*[funder(f"F{i}") for i in range(4)], top=2)
    projects = projects_frame(project("P1"), project("P2"))
    assert len(matcher.rank_funders(projects)) == 4  # 2 per project: the matcher's top
    assert len(matcher.rank_funders(projects, top=None)) == 8
    assert len(matcher.rank_funders(projects, top=1)) == 2
    assert len(matcher.rank_projects(projects, "F0")) == 2
    assert len(matcher.rank_projects(projects, "F0", top=None)) == 2
    assert len(fit(*[funder(f"F{i}") for i in range(4)], top=1).rank_projects(projects, "F0", top=None)) == 2
