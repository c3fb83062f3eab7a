"""Hand-built scenarios: one tiny project and a funder or two, with the expected
verdict, the key words of the reasons, and the ordering."""

from __future__ import annotations

import pytest
from conftest import (
    TinyTerritories,
    fit,
    funder,
    funders_frame,
    pair,
    project,
    projects_frame,
    ranked,
)

from matcher.core.errors import MatchingError
from matcher.engine.model import Matcher

LYON, VILLEURBANNE, GRENOBLE = "commune:69123", "commune:69266", "commune:38185"
METROPOLE, RHONE, AURA = "epci:200046977", "dep:69", "reg:84"

ALL_JT = ["climate_mitigation", "climate_adaptation", "water_marine", "circular_economy",
          "pollution_prevention", "biodiversity", "inclusive_employment", "vulnerable_publics",
          "essential_needs", "fair_territory", "territorial_cooperation", "democratic_governance",
          "citizen_participation"]


def base(project_id="P1", **fields):
    """A complete association project in Lyon asking 20 000 € for operating costs."""
    row = dict(name="Épicerie solidaire", summary="Alimentation durable pour les habitants du quartier",
               legal_form="association", territory=(LYON,), amount_requested=20_000.0,
               total_budget=100_000.0, sectors=("food_agriculture",), instruments_sought=("grant",),
               stage="launch", expense_type="operating", ess_status=("ess_member",),
               partners_count=3, partner_kinds=("association",), governance=("democratic",))
    row.update(fields)
    return project(project_id, **row)


def reasons(row, lang="fr") -> str:
    return row["reasons"]


# --------------------------------------------------------------------------- legal forms


def test_legal_form_refused_names_the_form_and_the_accepted_ones():
    row = pair(base(legal_form="scop"), funder(eligible_legal_forms=("association", "scic")))
    assert row["eligibility"] == "ineligible"
    assert "SCOP" in row["reasons"] and "n'est pas acceptée" in row["reasons"]
    assert "Association" in row["reasons"] and "SCIC" in row["reasons"]
    english = pair(base(legal_form="scop"), funder(eligible_legal_forms=("association", "scic")), lang="en")
    assert "is not accepted (accepted: Association" in english["reasons"]


def test_excluded_legal_form():
    row = pair(base(legal_form="commercial_company"), funder(excluded_legal_forms=("commercial_company",)))
    assert row["eligibility"] == "ineligible"
    assert "exclue" in row["reasons"]
    assert pair(base(), funder(excluded_legal_forms=("commercial_company",)))["eligibility"] == "eligible"


def test_group_expansion_accepts_every_cooperative_and_scores_below_an_explicit_listing():
    coops = funder("F1", eligible_legal_forms=("cooperatives",))
    assert pair(base(legal_form="scic"), coops)["eligibility"] == "eligible"
    assert pair(base(legal_form="cae"), coops)["eligibility"] == "eligible"
    assert pair(base(legal_form="association"), coops)["eligibility"] == "ineligible"
    via_group = pair(base(legal_form="scic"), coops)["score_legal_form"]
    named = pair(base(legal_form="scic"), funder("F1", eligible_legal_forms=("scic",)))["score_legal_form"]
    open_funder = pair(base(legal_form="scic"), funder("F1"))["score_legal_form"]
    assert named > via_group > open_funder


# --------------------------------------------------------------------------- places


def test_place_outside_the_perimeter():
    row = pair(base(territory=(GRENOBLE,)), funder(perimeter=(METROPOLE,)))
    assert row["eligibility"] == "ineligible"
    assert "hors du périmètre" in row["reasons"] and "Grenoble" in row["reasons"]
    assert row["score_territory"] == 0


def test_nested_perimeters_all_contain_the_commune_and_the_most_local_scores_highest():
    funders = [funder("F1-commune", perimeter=(LYON,)), funder("F2-epci", perimeter=(METROPOLE,)),
               funder("F3-dep", perimeter=(RHONE,)), funder("F4-reg", perimeter=(AURA,)),
               funder("F5-fr", perimeter=("FR",)), funder("F6-eu", perimeter=("EU",))]
    frame = ranked([base()], funders)
    assert (frame["eligibility"] == "eligible").all()
    assert list(frame["funder_id"]) == ["F1-commune", "F2-epci", "F3-dep", "F4-reg", "F5-fr", "F6-eu"]
    assert list(frame["score_territory"]) == pytest.approx([1.0, 0.9, 0.8, 0.65, 0.45, 0.35])


def test_a_perimeter_with_several_codes_uses_the_most_local_one_containing_the_place():
    row = pair(base(), funder(perimeter=("FR", METROPOLE)))
    assert row["score_territory"] == pytest.approx(0.9)


def test_project_partly_outside_the_perimeter_is_to_check():
    row = pair(base(territory=(LYON, GRENOBLE)), funder(perimeter=(RHONE,)))
    assert row["eligibility"] == "to_check"
    assert "en partie hors du périmètre" in row["reasons"] and "Grenoble" in row["reasons"]
    assert row["score_territory"] == pytest.approx(0.4)  # (0.8 + 0) / 2


def test_project_wider_than_the_perimeter_is_to_check_not_refused():
    row = pair(base(territory=(RHONE,)), funder(perimeter=(LYON,)))
    assert row["eligibility"] == "to_check"
    assert row["score_territory"] == pytest.approx(0.5)  # half of a commune-level fit


def test_excluded_place():
    rhone_but_villeurbanne = funder(perimeter=(RHONE,), excluded_places=(VILLEURBANNE,))
    row = pair(base(territory=(VILLEURBANNE,)), rhone_but_villeurbanne)
    assert row["eligibility"] == "ineligible"
    assert "exclu" in row["reasons"] and "Villeurbanne" in row["reasons"]
    assert pair(base(territory=(LYON,)), rhone_but_villeurbanne)["eligibility"] == "eligible"
    touching = pair(base(territory=(METROPOLE,)), rhone_but_villeurbanne)
    assert touching["eligibility"] == "to_check" and "territoire exclu" in touching["reasons"]


# --------------------------------------------------------------------------- calls


def test_closed_call():
    call = funder(call_id="AAP-1", call_title="Appel 2026", call_opens="2026-01-01", call_closes="2026-03-15")
    row = pair(base(), call)
    assert row["eligibility"] == "ineligible"
    assert row["reasons"] == "Appel clos le 15/03/2026"
    assert pair(base(), call, lang="en")["reasons"] == "Call closed on 15 March 2026"
    assert pair(base(), call, date="2026-03-15")["eligibility"] == "eligible"  # closing day included


def test_call_not_yet_open():
    row = pair(base(), funder(call_id="AAP-2", call_opens="2026-09-01"))
    assert row["eligibility"] == "ineligible"
    assert row["reasons"] == "L'appel ouvre le 01/09/2026"


def test_funder_without_call_is_open_all_year():
    row = pair(base(), funder(), date="1999-12-31")
    assert row["eligibility"] == "eligible" and row["call_id"] is None


# --------------------------------------------------------------------------- ESUS and just transition


@pytest.mark.parametrize("ess, verdict, words", [
    (("esus", "ess_member"), "eligible", ""),
    (("ess_member",), "ineligible", "le projet ne l'a pas"),
    ((), "ineligible", "le projet ne l'a pas"),
    (None, "to_check", "statut ESS du projet à fournir"),
])
def test_esus_required(ess, verdict, words):
    row = pair(base(ess_status=ess), funder(requires_esus=True))
    assert row["eligibility"] == verdict
    assert words in row["reasons"]


@pytest.mark.parametrize("level, verdict", [(0, "ineligible"), (1, "eligible"), (3, "eligible"),
                                            (None, "to_check")])
def test_required_just_transition_criterion(level, verdict):
    jt = {} if level is None else {"climate_mitigation": level}
    row = pair(base(jt=jt), funder(just_transition_requirements=("climate_mitigation",)))
    assert row["eligibility"] == verdict
    if verdict != "eligible":
        assert "Atténuation" in row["reasons"] or "climat" in row["reasons"].lower()


def test_just_requirement_needs_one_ecological_and_one_social_criterion():
    requires_just = funder(just_transition_requirements=("just",))
    both = pair(base(jt={"biodiversity": 2, "vulnerable_publics": 1}), requires_just)
    assert both["eligibility"] == "eligible"
    only_ecological = {c: 0 for c in ALL_JT} | {"biodiversity": 3}
    refused = pair(base(jt=only_ecological), requires_just)
    assert refused["eligibility"] == "ineligible"
    assert "au moins un critère écologique et un social" in refused["reasons"]
    social_unknown = pair(base(jt={"biodiversity": 3}), requires_just)
    assert social_unknown["eligibility"] == "to_check"


# --------------------------------------------------------------------------- amounts


def test_partial_coverage_warning_above_a_soft_ceiling():
    row = pair(base(amount_requested=120_000.0, total_budget=400_000.0), funder(ticket_max=50_000.0))
    assert row["eligibility"] == "eligible"
    assert "couvre 42\u00a0% des 120\u202f000\u00a0€ demandés" in row["reasons"]
    assert row["coverage"] == pytest.approx(50_000 / 120_000)
    english = pair(base(amount_requested=120_000.0), funder(ticket_max=50_000.0), lang="en")
    assert "covers 42% of the €120,000 asked" in english["reasons"]


def test_strict_ceiling_refuses():
    row = pair(base(amount_requested=120_000.0), funder(ticket_max=50_000.0, ticket_max_strict=True))
    assert row["eligibility"] == "ineligible"
    assert "plafond strict" in row["reasons"]


def test_below_ticket_min_refuses():
    row = pair(base(amount_requested=3_000.0), funder(ticket_min=5_000.0))
    assert row["eligibility"] == "ineligible"
    assert "sous le minimum" in row["reasons"] and "5\u202f000\u00a0€" in row["reasons"]


def test_share_of_budget_warning():
    row = pair(base(amount_requested=60_000.0, total_budget=100_000.0), funder(max_share_of_budget=0.5))
    assert row["eligibility"] == "eligible"
    assert "60\u00a0% du budget" in row["reasons"] and "au plus 50\u00a0%" in row["reasons"]
    assert row["coverage"] == pytest.approx(50_000 / 60_000)


# --------------------------------------------------------------------------- missing data


@pytest.mark.parametrize("missing, condition, words", [
    ("amount_requested", {"ticket_min": 5_000.0}, "Montant demandé non renseigné"),
    ("legal_form", {"eligible_legal_forms": ("association",)}, "Forme juridique non renseignée"),
    ("territory", {"perimeter": (RHONE,)}, "Territoire du projet non renseigné"),
    ("instruments_sought", {"instruments": ("grant",)}, "Instruments recherchés non renseignés"),
    ("stage", {"stages": ("launch",)}, "Stade du projet non renseigné"),
    ("expense_type", {"expense_types": ("operating",)}, "Type de dépense non renseigné"),
])
def test_missing_project_fact_gives_to_check_with_the_fact_to_provide(missing, condition, words):
    row = pair(base(**{missing: None}), funder(**condition))
    assert row["eligibility"] == "to_check"
    assert words in row["reasons"] and "à fournir" in row["reasons"]


def test_empty_funder_condition_sets_no_condition():
    row = pair(base(legal_form=None, amount_requested=None),
               funder(eligible_legal_forms=(), ticket_max=50_000.0))
    assert row["eligibility"] == "eligible"


def test_unstated_funder_perimeter_is_to_check():
    row = pair(base(), funder(perimeter=None))
    assert row["eligibility"] == "to_check"
    assert "Périmètre géographique du financeur non renseigné" in row["reasons"]


def test_learned_ticket_minimum_is_not_a_rule():
    habit = funder(ticket_min=100_000.0, learned=True)
    rule = funder(ticket_min=100_000.0)
    assert pair(base(amount_requested=5_000.0), habit)["eligibility"] == "eligible"
    assert pair(base(amount_requested=5_000.0), rule)["eligibility"] == "ineligible"


def test_other_hard_conditions():
    assert pair(base(instruments_sought=("loan",)), funder(instruments=("grant",)))["eligibility"] == "ineligible"
    assert pair(base(stage="emergence"), funder(stages=("development",)))["eligibility"] == "ineligible"
    row = pair(base(expense_type="both"), funder(expense_types=("investment",)))
    assert row["eligibility"] == "eligible" and "Seules les dépenses" in row["reasons"]
    assert pair(base(expense_type="operating"), funder(expense_types=("both",)))["eligibility"] == "eligible"


# --------------------------------------------------------------------------- ordering


def test_local_funder_beats_national_one():
    frame = ranked([base()], [funder("A-national", perimeter=("FR",)), funder("Z-local", perimeter=(METROPOLE,))])
    assert list(frame["funder_id"]) == ["Z-local", "A-national"]


def test_sector_priorities_order_funders():
    energy_first = funder("F-energy", sectors={"energy": 3.0, "mobility": 1.0})
    mobility_first = funder("F-mobility", sectors={"energy": 1.0, "mobility": 3.0})
    for sector, best in (("energy", "F-energy"), ("mobility", "F-mobility")):
        frame = ranked([base(sectors=(sector,))], [energy_first, mobility_first])
        assert frame["funder_id"].iloc[0] == best
        assert frame["score_sector"].iloc[0] == pytest.approx(1.0)
        assert frame["score_sector"].iloc[1] == pytest.approx(0.7 / 3 + 0.3)


LOCAL_OFF_TOPIC = funder("L", perimeter=(LYON,), sectors={"mobility": 1.0})
NATIONAL_ON_TOPIC = funder("N", perimeter=("FR",), sectors={"food_agriculture": 1.0})


def test_weights_override_per_funder_row():
    assert ranked([base()], [LOCAL_OFF_TOPIC, NATIONAL_ON_TOPIC])["funder_id"].iloc[0] == "N"
    territorial = dict(LOCAL_OFF_TOPIC, weights={"territory": 2.0})
    frame = ranked([base()], [territorial, NATIONAL_ON_TOPIC])
    assert frame["funder_id"].iloc[0] == "L"


def test_run_weights_override_funder_weights_and_defaults():
    frame = ranked([base()], [LOCAL_OFF_TOPIC, NATIONAL_ON_TOPIC], weights={"territory": 2.0})
    assert frame["funder_id"].iloc[0] == "L"
    territorial = dict(LOCAL_OFF_TOPIC, weights={"territory": 2.0})
    frame = ranked([base()], [territorial, NATIONAL_ON_TOPIC], weights={"territory": 0.0})
    assert frame["funder_id"].iloc[0] == "N"
    assert frame["contribution_territory"].fillna(0).eq(0).all()
    french_names = ranked([base()], [LOCAL_OFF_TOPIC, NATIONAL_ON_TOPIC], weights={"territoire": 2.0})
    assert french_names["funder_id"].iloc[0] == "L"


def test_ineligible_pairs_come_after_eligible_ones_whatever_their_score():
    strong_but_refused = funder("A", perimeter=(LYON,), sectors={"food_agriculture": 1.0},
                                eligible_legal_forms=("scop",))
    weak = funder("B", perimeter=("EU",), sectors={"mobility": 1.0})
    frame = ranked([base()], [strong_but_refused, weak])
    assert list(frame["funder_id"]) == ["B", "A"]
    assert frame.loc[frame["funder_id"] == "A", "score"].item() > frame.loc[frame["funder_id"] == "B", "score"].item()
    assert list(ranked([base()], [strong_but_refused, weak], include_ineligible=False)["funder_id"]) == ["B"]


def test_to_check_pairs_rank_with_eligible_ones_by_score():
    to_check = funder("A", perimeter=(LYON,), sectors={"food_agriculture": 1.0}, requires_esus=True)
    eligible = funder("B", perimeter=("EU",), sectors={"mobility": 1.0})
    frame = ranked([base(ess_status=None)], [eligible, to_check], include_ineligible=False)
    assert list(frame["funder_id"]) == ["A", "B"]
    assert list(frame["eligibility"]) == ["to_check", "eligible"]


def test_ties_break_by_funder_then_call_id():
    twins = [funder("F-b"), funder("F-a", call_id="C2"), funder("F-a", call_id="C1"), funder("F-c")]
    for rows in (twins, twins[::-1]):
        frame = ranked([base()], rows)
        assert list(zip(frame["funder_id"], frame["call_id"], strict=True)) == [
            ("F-a", "C1"), ("F-a", "C2"), ("F-b", None), ("F-c", None)]
        assert frame["score"].nunique() == 1


def test_rank_projects_ranks_each_call_of_a_funder():
    funders = [funder("F", call_id="C1", perimeter=(LYON,)), funder("F", call_id="C2", perimeter=(GRENOBLE,)),
               funder("G")]
    projects = projects_frame(base("P-lyon"), base("P-grenoble", territory=(GRENOBLE,)))
    matcher = fit(*funders)
    frame = matcher.rank_projects(projects, "F")
    assert list(zip(frame["call_id"], frame["project_id"], frame["rank"], strict=True)) == [
        ("C1", "P-lyon", 1), ("C2", "P-grenoble", 1)]
    one_call = matcher.rank_projects(projects, "F", call_id="C2", include_ineligible=True)
    assert list(one_call["project_id"]) == ["P-grenoble", "P-lyon"]
    assert list(one_call["rank"]) == [1, 2]


def test_top_limits_the_pairs_per_project():
    funders = [funder(f"F{i}") for i in range(5)]
    matcher = fit(*funders, top=2)
    projects = projects_frame(base("P1"), base("P2"))
    frame = matcher.rank_funders(projects)
    assert list(frame["rank"]) == [1, 2, 1, 2]
    assert len(matcher.rank_funders(projects, top=4)) == 8


# --------------------------------------------------------------------------- output, explanation, errors


def test_output_columns_in_order():
    frame = ranked([base()], [funder()])
    criteria = ["sector", "text", "scale", "legal_form", "territory", "just_transition", "cooperation"]
    expected = ["project_id", "funder_id", "call_id", "rank", "score", "eligibility", "reasons",
                "project_name", "funder_name"]
    for name in criteria:
        expected += [f"score_{name}", f"contribution_{name}"]
    assert list(frame.columns[:len(expected)]) == expected
    assert {"unknown_weight", "call_title", "call_closes", "coverage"} <= set(frame.columns)


def test_explanation_in_french_and_english():
    funder_row = funder("F1", name="Fondation Alimentation", description="Soutien à l'alimentation durable",
                        call_id="C1", call_title="Manger mieux", call_closes="2026-06-30",
                        ticket_max=50_000.0, sectors={"food_agriculture": 1.0}, perimeter=(RHONE,))
    matcher = fit(funder_row)
    projects = projects_frame(base(amount_requested=120_000.0))
    explanation = matcher.explain(projects, "P1", "F1")
    assert explanation.verdict == "eligible"
    assert sum(explanation.contributions.values()) == pytest.approx(explanation.score, abs=1e-9)
    assert "alimentation" in explanation.text_terms and "durable" in explanation.text_terms
    french = explanation.to_text("fr")
    assert "Verdict : éligible" in french and "clôture le 30/06/2026" in french
    assert "couvre 42\u00a0% des 120\u202f000\u00a0€ demandés" in french.lower()
    english = explanation.to_text("en")
    assert "Verdict: eligible" in english and "closes on 30 June 2026" in english
    assert "Covers 42% of the €120,000 asked" in english
    data = explanation.to_dict()
    assert data["reasons"][0]["kind"] == "warning" and "€120,000" in data["reasons"][0]["en"]


def test_unknown_ids_raise_with_close_ids():
    matcher = fit(funder("fondation-energie"), funder("fondation-emploi"))
    projects = projects_frame(base("projet-solaire"))
    with pytest.raises(MatchingError, match="unknown funder id 'fondation-energy'.*fondation-energie"):
        matcher.rank_projects(projects, "fondation-energy")
    with pytest.raises(MatchingError, match="unknown project id 'projet-solair'.*projet-solaire"):
        matcher.explain(projects, "projet-solair", "fondation-energie")
    with pytest.raises(MatchingError, match="has no call"):
        matcher.rank_projects(projects, "fondation-energie", call_id="C9")


@pytest.mark.parametrize("weights, words", [
    ({"secteur_typo": 1.0}, "unknown criterion 'secteur_typo'"),
    ({"sector": -1.0}, "must be a finite number >= 0"),
    (dict.fromkeys(["sector", "text", "scale", "legal_form", "territory", "just_transition",
                    "cooperation"], 0.0), "every weight is zero"),
])
def test_bad_run_weights_raise(weights, words):
    with pytest.raises(MatchingError, match=words):
        Matcher(weights=weights, territories=TinyTerritories()).fit(funders_frame(funder()))


def test_bad_funder_weights_are_all_reported_together():
    with pytest.raises(MatchingError) as err:
        fit(funder("F1", weights={"sectors_x": 1.0}), funder("F2", weights={"text": -2.0}))
    assert "F1" in str(err.value) and "F2" in str(err.value)


def test_real_territory_table_handles_twins_and_metropoles():
    from matcher.referential.territories import Territories

    table = Territories.default()
    matcher = Matcher(date="2026-04-01", territories=table).fit(funders_frame(
        funder("Paris-ville", perimeter=("commune:75056",)),
        funder("Grand-Paris", perimeter=("epci:200054781",)),
        funder("Lyon-metropole", perimeter=("epci:200046977",))))
    projects = projects_frame(base("P-paris", territory=("dep:75",)), base("P-lyon", territory=(LYON,)))
    frame = matcher.rank_funders(projects, include_ineligible=True)
    verdicts = dict(zip(zip(frame["project_id"], frame["funder_id"], strict=True), frame["eligibility"],
                        strict=True))
    assert verdicts["P-paris", "Paris-ville"] == "eligible"  # dep:75 and Paris are the same place
    assert verdicts["P-paris", "Grand-Paris"] == "eligible"  # Paris lies inside the Métropole du Grand Paris
    assert verdicts["P-paris", "Lyon-metropole"] == "ineligible"
    assert verdicts["P-lyon", "Lyon-metropole"] == "eligible"


def test_explanations_of_a_ranked_frame_match_its_rows():
    matcher = fit(funder("F1", perimeter=(LYON,)), funder("F2", call_id="C1"), funder("F2", call_id="C2",
                                                                                     ticket_min=50_000.0))
    projects = projects_frame(base("P1"), base("P2", territory=(GRENOBLE,)))
    frame = matcher.rank_funders(projects, include_ineligible=True)
    explanations = matcher.explanations(projects, frame)
    assert len(explanations) == len(frame)
    for explanation, (_, row) in zip(explanations, frame.iterrows(), strict=True):
        assert (explanation.project_id, explanation.funder_id, explanation.call_id) == (
            row["project_id"], row["funder_id"], row["call_id"])
        assert explanation.score == pytest.approx(row["score"], abs=1e-12)
        assert explanation.verdict == row["eligibility"]
        assert " ; ".join(explanation.reasons_text()) == row["reasons"]
