"""Eligibility rules, one at a time, over tiny blocks of pairs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import funder, make_block, project
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engine.eligibility import (
    FAIL,
    PASS,
    UNKNOWN,
    BudgetShare,
    CallOpen,
    EsusAccredited,
    ExpenseTypeAccepted,
    InstrumentOffered,
    JustTransitionMet,
    LegalFormAccepted,
    LegalFormNotExcluded,
    NotChecked,
    PlaceInPerimeter,
    PlaceNotExcluded,
    ReasonContext,
    StageAccepted,
    TicketMaximum,
    TicketMinimum,
    default_rules,
    describe_pair,
    evaluate_rules,
    status_of,
)

LYON, GRENOBLE, RHONE = "commune:69123", "commune:38185", "dep:69"


def statuses(rule, project_rows, funder_rows, **params):
    _, block = make_block(project_rows, funder_rows, **params)
    return status_of(rule.evaluate(block), block.shape)


def warnings(rule, project_rows, funder_rows):
    _, block = make_block(project_rows, funder_rows)
    warn = rule.evaluate(block)[2]
    return np.zeros(block.shape, bool) if warn is None else np.broadcast_to(warn, block.shape)


def test_legal_form_rule_three_values():
    projects = [project("A", legal_form="scop"), project("B", legal_form="association"), project("C")]
    got = statuses(LegalFormAccepted(), projects, [funder("F", eligible_legal_forms=("association",))])
    assert got[:, 0].tolist() == [FAIL, PASS, UNKNOWN]


def test_legal_form_groups_are_expanded_on_both_lists():
    projects = [project("A", legal_form="scic"), project("B", legal_form="association")]
    accepted = statuses(LegalFormAccepted(), projects, [funder("F", eligible_legal_forms=("cooperatives",))])
    assert accepted[:, 0].tolist() == [PASS, FAIL]
    excluded = statuses(LegalFormNotExcluded(), projects, [funder("F", excluded_legal_forms=("cooperatives",))])
    assert excluded[:, 0].tolist() == [FAIL, PASS]


@pytest.mark.parametrize("condition", [None, ()])
def test_an_empty_funder_condition_sets_no_condition(condition):
    projects = [project("A", legal_form="scop"), project("B")]
    for rule, field in ((LegalFormAccepted(), "eligible_legal_forms"), (InstrumentOffered(), "instruments"),
                        (StageAccepted(), "stages")):
        got = statuses(rule, projects, [funder("F", **{field: condition})])
        assert (got == PASS).all(), rule.name


@pytest.mark.parametrize("condition", [None, ()])
def test_an_unstated_perimeter_is_to_check_not_no_condition(condition):
    projects = [project("A", territory=(LYON,)), project("B")]
    got = statuses(PlaceInPerimeter(), projects, [funder("F", perimeter=condition)])
    assert (got == UNKNOWN).all()


def test_perimeter_inside_outside_partly_and_unknown():
    projects = [project("in", territory=(LYON,)), project("out", territory=(GRENOBLE,)),
                project("both", territory=(LYON, GRENOBLE)), project("wider", territory=("reg:84",)),
                project("unknown")]
    got = statuses(PlaceInPerimeter(), projects, [funder("F", perimeter=(RHONE,))])
    assert got[:, 0].tolist() == [PASS, FAIL, UNKNOWN, UNKNOWN, UNKNOWN]


def test_an_empty_project_territory_is_unknown_not_nowhere():
    got = statuses(PlaceInPerimeter(), [project("A", territory=())], [funder("F", perimeter=(RHONE,))])
    assert got.tolist() == [[UNKNOWN]]


def test_excluded_places():
    projects = [project("lyon", territory=(LYON,)), project("rhone", territory=(RHONE,)),
                project("grenoble", territory=(GRENOBLE,))]
    got = statuses(PlaceNotExcluded(), projects, [funder("F", excluded_places=(LYON,))])
    assert got[:, 0].tolist() == [FAIL, UNKNOWN, PASS]


def test_instruments_overlap():
    projects = [project("A", instruments_sought=("grant", "loan")), project("B", instruments_sought=("equity",)),
                project("C")]
    got = statuses(InstrumentOffered(), projects, [funder("F", instruments=("loan",))])
    assert got[:, 0].tolist() == [PASS, FAIL, UNKNOWN]


def test_stage():
    projects = [project("A", stage="launch"), project("B", stage="emergence"), project("C")]
    got = statuses(StageAccepted(), projects, [funder("F", stages=("launch", "development"))])
    assert got[:, 0].tolist() == [PASS, FAIL, UNKNOWN]


def test_expense_type_both_overlaps_each_kind_and_warns_when_half_is_funded():
    projects = [project("both", expense_type="both"), project("inv", expense_type="investment"),
                project("op", expense_type="operating")]
    funders = [funder("F-inv", expense_types=("investment",)), funder("F-both", expense_types=("both",))]
    got = statuses(ExpenseTypeAccepted(), projects, funders)
    assert got.tolist() == [[PASS, PASS], [PASS, PASS], [PASS, FAIL]]
    warn = warnings(ExpenseTypeAccepted(), projects, funders)
    assert warn.tolist() == [[False, True], [False, False], [False, False]]


@pytest.mark.parametrize("date, status", [("2026-01-31", FAIL), ("2026-02-01", PASS), ("2026-03-15", PASS),
                                          ("2026-03-16", FAIL)])
def test_call_open_bounds_are_inclusive(date, status):
    funders = [funder("F", call_id="C", call_opens="2026-02-01", call_closes="2026-03-15")]
    assert statuses(CallOpen(), [project("A")], funders, date=date).item() == status


def test_call_with_one_bound_is_open_on_the_other_side():
    funders = [funder("F1", call_id="C", call_closes="2026-03-15"), funder("F2", call_id="C", call_opens="2030-01-01")]
    assert statuses(CallOpen(), [project("A")], funders, date="1990-01-01").tolist() == [[PASS, FAIL]]


def test_esus():
    projects = [project("yes", ess_status=("esus",)), project("no", ess_status=("ess_member",)),
                project("none", ess_status=()), project("unknown")]
    got = statuses(EsusAccredited(), projects, [funder("F", requires_esus=True), funder("G", requires_esus=False)])
    assert got.tolist() == [[PASS, PASS], [FAIL, PASS], [FAIL, PASS], [UNKNOWN, PASS]]


def test_just_transition_requirements():
    levels_known_zero = dict.fromkeys(["inclusive_employment", "vulnerable_publics", "essential_needs",
                                       "fair_territory"], 0)
    projects = [project("just", jt={"biodiversity": 1, "fair_territory": 2}),
                project("eco", jt={"biodiversity": 3} | levels_known_zero),
                project("eco?", jt={"biodiversity": 3}),
                project("none")]
    got = statuses(JustTransitionMet(), projects,
                   [funder("F-just", just_transition_requirements=("just",)),
                    funder("G-bio", just_transition_requirements=("biodiversity",))])
    assert got.tolist() == [[PASS, PASS], [FAIL, PASS], [UNKNOWN, PASS], [UNKNOWN, UNKNOWN]]


def test_amount_rules():
    projects = [project("small", amount_requested=1_000.0), project("mid", amount_requested=20_000.0),
                project("big", amount_requested=200_000.0), project("unknown")]
    funders = [funder("F-soft", ticket_min=5_000.0, ticket_max=50_000.0),
               funder("G-strict", ticket_max=50_000.0, ticket_max_strict=True)]
    assert statuses(TicketMinimum(), projects, funders).tolist() == [
        [FAIL, PASS], [PASS, PASS], [PASS, PASS], [UNKNOWN, PASS]]
    assert statuses(TicketMaximum(), projects, funders).tolist() == [
        [PASS, PASS], [PASS, PASS], [PASS, FAIL], [PASS, UNKNOWN]]
    assert warnings(TicketMaximum(), projects, funders).tolist() == [
        [False, False], [False, False], [True, False], [False, False]]


def test_budget_share_only_warns():
    projects = [project("A", amount_requested=60_000.0, total_budget=100_000.0),
                project("B", amount_requested=40_000.0, total_budget=100_000.0),
                project("C", amount_requested=60_000.0)]
    funders = [funder("F", max_share_of_budget=0.5)]
    assert (statuses(BudgetShare(), projects, funders) == PASS).all()
    assert warnings(BudgetShare(), projects, funders)[:, 0].tolist() == [True, False, False]


def test_verdicts_and_bits():
    projects = [project("ok", legal_form="association", amount_requested=10_000.0, territory=(LYON,)),
                project("check", amount_requested=10_000.0, territory=(LYON,)),
                project("refused", legal_form="scop")]
    matcher, block = make_block(projects, [funder("F", eligible_legal_forms=("association",), ticket_min=5_000.0)])
    result = evaluate_rules(matcher.rules_, block)
    assert result.verdict[:, 0].tolist() == [0, 1, 2]
    names = [r.name for r in matcher.rules_]
    assert result.unknown_bits[1, 0] == (1 << names.index("legal_form"))
    # the refused project also lacks its amount and place: every fact is recorded
    assert result.fail_bits[2, 0] == 1 << names.index("legal_form")
    assert result.unknown_bits[2, 0] == (1 << names.index("ticket_min")) | (1 << names.index("perimeter"))


def test_reasons_are_bilingual_with_the_values_and_listed_fails_first():
    rules = default_rules()
    names = [r.name for r in rules]
    project_row = {"project_id": "P", "legal_form": "scop", "amount_requested": 120_000.0}
    funder_row = {"funder_id": "F", "eligible_legal_forms": ("association", "scic"), "ticket_max": 48_000.0,
                  "ticket_min": None}
    reasons = describe_pair(rules, 1 << names.index("legal_form"), 0, 1 << names.index("ticket_max"),
                            project_row, funder_row, ReasonContext(None, 0))
    assert [r.kind for r in reasons] == ["fail", "warning"]
    assert reasons[0].fr.startswith("La forme juridique « SCOP")
    assert reasons[0].fr.endswith("(acceptées : Association, SCIC (société coopérative d'intérêt collectif))")
    assert reasons[0].en.startswith("Legal form 'SCOP")
    assert reasons[1].fr == "Plafond 48\u202f000\u00a0€ : couvre 40\u00a0% des 120\u202f000\u00a0€ demandés"
    assert reasons[1].en == "Ceiling €48,000: covers 40% of the €120,000 asked"


def test_every_rule_has_a_text_for_what_it_can_report():
    from matcher.engine.explain import messages

    texts = messages()["reasons"]
    for rule in default_rules():
        assert rule.name in texts, rule.name
        for entry in texts[rule.name].values():
            assert entry["fr"] and entry["en"]


def test_a_rule_written_with_masks_only_gets_its_bit():
    """A custom rule may give boolean masks (evaluate); evaluate_rules packs them into its bit."""
    from matcher.engine.eligibility import Rule

    class _BigAsk(Rule):
        name = "big_ask"

        def evaluate(self, block):
            amount = block.p.amount[:, None]
            return amount > 100_000, np.isnan(amount) & np.ones(block.shape, bool), None

    projects = [project("A", amount_requested=500_000), project("B", amount_requested=1_000), project("C")]
    _, block = make_block(projects, [funder("F"), funder("G")])
    result = evaluate_rules([TicketMinimum(), _BigAsk()], block)
    assert result.fail_bits[:, 0].tolist() == [2, 0, 0]
    assert result.unknown_bits[:, 1].tolist() == [0, 0, 2]
    assert result.verdict[:, 0].tolist() == [2, 0, 1]

    class _Nothing(Rule):
        name = "nothing"

    with pytest.raises(NotImplementedError, match="_Nothing implements neither evaluate nor write_bits"):
        evaluate_rules([_Nothing()], block)


def test_a_fact_two_rules_miss_is_said_once_on_the_line():
    """Issue 16: no amount against a minimum and a strict ceiling gave "Montant demandé non renseigné"
    twice on one line; the reasons column, describe_pair and explain now say it once, with both details."""
    from conftest import fit, projects_frame

    matcher = fit(funder("F", ticket_min=2_000.0, ticket_max=30_000.0, ticket_max_strict=True,
                         eligible_legal_forms=("association",), excluded_legal_forms=("scop",)))
    projects = projects_frame(project("P", territory=(LYON,)))
    line = matcher.rank_funders(projects)["reasons"].iloc[0]
    amount_fr = ("Montant demandé non renseigné : à fournir (minimum 2\u202f000\u00a0€ et plafond strict "
                 "30\u202f000\u00a0€)")
    form_fr = "Forme juridique non renseignée : à fournir (acceptées : Association et exclues : SCOP"
    assert line.count("Montant demandé non renseigné") == 1 and amount_fr in line
    assert line.count("Forme juridique non renseignée") == 1 and form_fr in line
    explanation = matcher.explain(projects, "P", "F")
    assert " ; ".join(explanation.reasons_text("fr")) == line
    assert "Amount requested not given: please provide it (minimum €2,000 and strict ceiling €30,000)" in (
        explanation.reasons_text("en"))
    assert [r.kind for r in explanation.reasons] == ["unknown", "unknown"]


def test_heads_shared_in_french_are_shared_in_english():
    """Merging is by the French head for Reason objects and by each language's head for texts: the two
    agree only if templates that share a head in one language share it in the other."""
    from matcher.engine.explain import _head_of, messages

    entries = [entry for rule in messages()["reasons"].values() for entry in rule.values()]
    for a in entries:
        for b in entries:
            same_fr = _head_of(a["fr"]) is not None and _head_of(a["fr"]) == _head_of(b["fr"])
            same_en = _head_of(a["en"]) is not None and _head_of(a["en"]) == _head_of(b["en"])
            assert same_fr == same_en, (a, b)


def test_waive_unstated_sets_the_instrument_rule_aside_for_the_run_only_when_no_project_states_it():
    from conftest import fit, projects_frame

    matcher = fit(funder("F", instruments=("loan",)))
    none_stated = projects_frame(project("A", territory=(LYON,)), project("B", territory=(LYON,)))
    assert matcher.rank_funders(none_stated)["eligibility"].tolist() == ["to_check", "to_check"]
    assert matcher.waive_unstated(none_stated) == ("instruments",)
    ranked = matcher.rank_funders(none_stated)
    assert ranked["eligibility"].tolist() == ["eligible", "eligible"] and not ranked["reasons"].any()
    assert matcher.run_notices("en")[0].startswith("No project states the instruments it seeks")
    one_stated = projects_frame(project("A", instruments_sought=("grant",), territory=(LYON,)),
                                project("B", territory=(LYON,)))
    assert matcher.waive_unstated(one_stated) == () and matcher.run_notices() == []
    assert matcher.rank_funders(one_stated, include_ineligible=True)["eligibility"].tolist() == [
        "ineligible", "to_check"]


_AMOUNTS = st.one_of(st.none(), st.just(float("nan")), st.floats(-1e9, 1e12, allow_nan=False),
                     st.integers(0, 10**9))


@settings(max_examples=200, deadline=None)
@given(requested=_AMOUNTS, budget=_AMOUNTS, maximum=_AMOUNTS, share=st.one_of(st.none(), st.floats(0, 1)),
       kind=st.sampled_from(["fail", "unknown", "warning"]), lang=st.sampled_from(["fr", "en"]))
def test_describe_text_is_the_text_of_describe(requested, budget, maximum, share, kind, lang):
    """The one-language texts the batch writes for the amount rules are those of describe()."""
    project_row = {"amount_requested": requested, "total_budget": budget}
    funder_row = {"ticket_max": maximum, "max_share_of_budget": share}
    context = ReasonContext(None, 0)
    for rule in (TicketMaximum(), BudgetShare(), TicketMinimum(), NotChecked(TicketMaximum())):
        try:
            expected = rule.describe(kind, project_row, funder_row, context).text(lang)
        except KeyError:  # a kind this rule never gives has no text either way
            with pytest.raises(KeyError):
                rule.describe_text(kind, project_row, funder_row, context, lang)
            continue
        assert rule.describe_text(kind, project_row, funder_row, context, lang) == expected
