"""Tests for matcher.referential.vocabularies: data integrity, resolution, legal forms, INSEE codes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.core.errors import VocabularyError
from matcher.core.text import fold
from matcher.referential.vocabularies import (
    VOCABULARY_NAMES,
    Vocabulary,
    VocabularyValue,
    criteria_in_pillar,
    expand_legal_forms,
    get_vocabulary,
    insee_code,
    insee_legal_categories,
    is_ess_by_status,
    pillar,
    resolve_legal_form,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_DIR = Path(__file__).resolve().parents[1] / "matcher" / "data"

EXPECTED_IDS = {
    "sectors": (
        "energy", "mobility", "food_agriculture", "housing_urbanism", "circular_economy",
        "biodiversity_water", "climate_adaptation", "health", "employment_inclusion",
        "social_cohesion", "culture_sport", "education", "digital", "local_economy", "citizenship",
    ),
    "legal_forms": (
        "association", "foundation", "endowment_fund", "scop", "scic", "cae", "cooperative",
        "mutual", "commercial_company", "sole_proprietor", "commune", "epci", "department",
        "region", "other_local_authority", "public_body", "gip", "gie", "other",
    ),
    "instruments": (
        "grant", "loan", "honour_loan", "quasi_equity", "equity", "guarantee",
        "recoverable_advance", "engineering_support", "prize", "in_kind",
    ),
    "stages": ("emergence", "launch", "development", "scale_up", "consolidation"),
    "expense_types": ("investment", "operating", "both"),
    "funder_types": (
        "endowment_fund", "foundation", "local_authority", "state_agency", "eu_programme",
        "solidarity_bank", "impact_investor", "corporate_philanthropy", "other",
    ),
    "jt_criteria": (
        "climate_mitigation", "climate_adaptation", "water_marine", "circular_economy",
        "pollution_prevention", "biodiversity", "inclusive_employment", "vulnerable_publics",
        "essential_needs", "fair_territory", "territorial_cooperation", "democratic_governance",
        "citizen_participation",
    ),
    "partner_kinds": ("association", "company", "local_authority", "public_body", "research", "citizens"),
    "grant_status": ("granted", "refused", "pending"),
}


# --------------------------------------------------------------------------- data integrity


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_value_has_snake_case_id_and_both_labels(name):
    vocab = get_vocabulary(name)
    assert len(vocab) > 0
    assert len(set(vocab.ids)) == len(vocab.ids)
    for value_id in vocab.ids:
        assert value_id == value_id.lower() and " " not in value_id
        assert vocab.label(value_id, "fr").strip()
        assert vocab.label(value_id, "en").strip()


@pytest.mark.parametrize("name, ids", sorted(EXPECTED_IDS.items()))
def test_fixed_ids_in_stable_order(name, ids):
    assert get_vocabulary(name).ids == ids


def test_jt_requirements_are_the_criteria_plus_just():
    criteria = get_vocabulary("jt_criteria").ids
    requirements = get_vocabulary("jt_requirements")
    assert requirements.ids == (*criteria, "just")
    assert requirements.resolve("transition écologique juste") == ("just",)


def test_ess_status_governance_and_groups_hold_the_briefed_values():
    assert {"esus", "ess_member", "ptce", "tzcld", "tiers_lieu", "siae", "rup"} <= set(
        get_vocabulary("ess_status").ids)
    assert {"multi_stakeholder", "democratic", "citizen_participation", "shared"} == set(
        get_vocabulary("governance").ids)
    assert {"cooperatives", "ess", "local_authorities", "companies", "associations"} <= set(
        get_vocabulary("legal_form_groups").ids)


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_label_and_synonym_resolves_exactly_to_its_own_id(name):
    """No synonym is silently taken by another id: each one comes back as its own id."""
    vocab = get_vocabulary(name)
    for value_id in vocab.ids:
        value = vocab.value(value_id)
        for text in (value_id, value.fr, value.en, *value.synonyms):
            assert vocab.resolve(text, fuzzy=False) == (value_id,), (name, text)


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_multi_labels_resolve_to_all_their_ids(name):
    vocab = get_vocabulary(name)
    for label, ids in vocab.multi.items():
        assert len(ids) >= 1
        assert vocab.resolve(label, fuzzy=False) == ids, label


def test_a_synonym_meaning_two_ids_is_refused_at_load():
    values = [
        VocabularyValue("alpha", "Alpha", "Alpha", ("commun",)),
        VocabularyValue("beta", "Bêta", "Beta", ("Commun!",)),
    ]
    with pytest.raises(VocabularyError, match="commun"):
        Vocabulary("test", values)


def test_a_repeated_synonym_of_the_same_id_is_fine():
    vocab = Vocabulary("test", [VocabularyValue("alpha", "Alpha", "Alpha", ("un", "UN", "Un."))])
    assert vocab.resolve("un") == ("alpha",)


@pytest.mark.parametrize(
    "values, multi, message",
    [
        ([VocabularyValue("Bad Id", "a", "a")], None, "snake_case"),
        ([VocabularyValue("a", "a", "a"), VocabularyValue("a", "b", "b")], None, "duplicate"),
        ([VocabularyValue("a", "", "a")], None, "label"),
        ([VocabularyValue("a", "a", "a")], {"x": ["nope"]}, "unknown ids"),
        ([VocabularyValue("a", "a", "a"), VocabularyValue("b", "b", "b")], {"a": ["a", "b"]}, "would mean"),
    ],
)
def test_invalid_vocabularies_are_refused(values, multi, message):
    with pytest.raises(VocabularyError, match=message):
        Vocabulary("test", values, multi)


def test_unknown_vocabulary_name_raises():
    with pytest.raises(VocabularyError, match="unknown vocabulary"):
        get_vocabulary("colours")


def test_vocabularies_are_cached():
    assert get_vocabulary("sectors") is get_vocabulary("sectors")


def test_label_attribute_and_errors():
    sectors = get_vocabulary("sectors")
    assert sectors.label("health") == "Santé"
    assert sectors.label("health", lang="en") == "Health"
    assert get_vocabulary("legal_forms").attribute("scic", "family") == "cooperative"
    assert sectors.attribute("health", "nothing", default=7) == 7
    with pytest.raises(VocabularyError):
        sectors.label("health", lang="de")
    with pytest.raises(VocabularyError):
        sectors.label("astronomy")
    with pytest.raises(VocabularyError):
        sectors.attribute("astronomy", "x")


# --------------------------------------------------------------------------- real spellings

REAL_SPELLINGS = [
    # the six words of the founding brief
    ("sectors", "urbanisme", ("housing_urbanism",)),
    ("sectors", "mobilité", ("mobility",)),
    ("sectors", "énergie", ("energy",)),
    ("sectors", "agriculture", ("food_agriculture",)),
    ("sectors", "santé", ("health",)),
    ("sectors", "emploi", ("employment_inclusion",)),
    ("sectors", "EMPLOI ", ("employment_inclusion",)),
    ("sectors", "Mobilite", ("mobility",)),
    # Aides-territoires themes and categories
    ("sectors", "Economie circulaire", ("circular_economy",)),
    ("sectors", "Mobilité partagée", ("mobility",)),
    ("sectors", "Tiers-lieux", ("local_economy",)),
    ("sectors", "Alimentation", ("food_agriculture",)),
    ("sectors", "Rénovation énergétique", ("energy", "housing_urbanism")),
    ("sectors", "Biodiversité", ("biodiversity_water",)),
    ("sectors", "Eau et assainissement", ("biodiversity_water",)),
    ("sectors", "Mobilité / transports / Mobilité partagée", ("mobility",)),
    ("sectors", "Énergies / Déchets / Recyclage et valorisation des déchets", ("circular_economy",)),
    ("sectors", "Solidarités / lien social / Inclusion numérique", ("digital", "social_cohesion")),
    ("sectors", "Mobilité / transports / Modes actifs : vélo, marche et aménagements associés", ("mobility",)),
    ("sectors", "Eau et milieux aquatiques / Cours d'eau / canaux / plans d'eau", ("biodiversity_water",)),
    ("sectors", "Développement économique / production et consommation / Innovation, créativité et recherche",
     ("local_economy",)),
    # Paris "secteur activite" labels
    ("sectors", "Culture & Arts", ("culture_sport",)),
    ("sectors", "Sport", ("culture_sport",)),
    ("sectors", "Social", ("social_cohesion",)),
    ("sectors", "Précarité & Exclusion", ("social_cohesion",)),
    ("sectors", "Environnement & écologie", ("biodiversity_water",)),
    ("sectors", "Déplacements et transports", ("mobility",)),
    ("sectors", "Emploi / Développement économique", ("employment_inclusion", "local_economy")),
    # instruments, incl. Aides-territoires "Types d'aides"
    ("instruments", "Subvention", ("grant",)),
    ("instruments", "Prêt", ("loan",)),
    ("instruments", "prêt d'honneur", ("honour_loan",)),
    ("instruments", "titres participatifs", ("quasi_equity",)),
    ("instruments", "obligations associatives", ("quasi_equity",)),
    ("instruments", "prise de participation", ("equity",)),
    ("instruments", "Avance récupérable", ("recoverable_advance",)),
    ("instruments", "garantie", ("guarantee",)),
    ("instruments", "Ingénierie Juridique / administrative", ("engineering_support",)),
    ("instruments", "Ingénierie financière", ("engineering_support",)),
    ("instruments", "Certificat d'économie d'énergie (CEE)", ("grant",)),
    ("instruments", "mécénat de compétences", ("in_kind",)),
    ("instruments", "trophée", ("prize",)),
    ("instruments", "aide en nature", ("in_kind",)),
    # stages
    ("stages", "amorçage", ("emergence",)),
    ("stages", "démarrage", ("launch",)),
    ("stages", "Développement", ("development",)),
    ("stages", "essaimage", ("scale_up",)),
    ("stages", "changement d'échelle", ("scale_up",)),
    ("stages", "pérennisation", ("consolidation",)),
    ("stages", "tous stades", ("consolidation", "development", "emergence", "launch", "scale_up")),
    # expense types
    ("expense_types", "Fonctionnement", ("operating",)),
    ("expense_types", "Investissement", ("investment",)),
    ("expense_types", "mixte", ("both",)),
    # statuses
    ("ess_status", "agrément ESUS", ("esus",)),
    ("ess_status", "Entreprise solidaire d'utilité sociale", ("esus",)),
    ("ess_status", "PTCE", ("ptce",)),
    ("ess_status", "EBE", ("tzcld",)),
    ("ess_status", "tiers-lieu", ("tiers_lieu",)),
    ("ess_status", "Atelier chantier d'insertion", ("siae",)),
    ("ess_status", "reconnue d'utilité publique", ("rup",)),
    ("grant_status", "Attribuée", ("granted",)),
    ("grant_status", "votée", ("granted",)),
    ("grant_status", "rejetée", ("refused",)),
    ("grant_status", "en cours d'intruction", ("pending",)),  # SCDL's own misspelling
    # funder types, governance, criteria, partners
    ("funder_types", "Fonds de dotation", ("endowment_fund",)),
    ("funder_types", "FEDER", ("eu_programme",)),
    ("funder_types", "France Active", ("solidarity_bank",)),
    ("governance", "une personne une voix", ("democratic",)),
    ("governance", "multi-sociétariat", ("multi_stakeholder",)),
    ("governance", "gouvernance partagée", ("shared",)),
    ("jt_criteria", "atténuation du changement climatique", ("climate_mitigation",)),
    ("jt_criteria", "QPV", ("fair_territory",)),
    ("jt_criteria", "précarité énergétique", ("essential_needs",)),
    ("jt_criteria", "participation citoyenne", ("citizen_participation",)),
    ("partner_kinds", "laboratoire", ("research",)),
    ("partner_kinds", "habitants", ("citizens",)),
    ("legal_forms", "coopératives", ("cae", "cooperative", "scic", "scop")),
    ("legal_forms", "Intercommunalités / Pays", ("epci", "other_local_authority")),
]


@pytest.mark.parametrize("name, text, expected", REAL_SPELLINGS)
def test_real_spellings(name, text, expected):
    assert get_vocabulary(name).resolve_cell(text) == (expected, [])


LEGAL_FORM_SPELLINGS = [
    ("Asso loi 1901", "association"),
    ("association déclarée", "association"),
    ("Association reconnue d'utilité publique", "association"),
    ("ARUP", "association"),
    ("SCIC SAS", "scic"),
    ("SCIC SA", "scic"),
    ("Société coopérative d'intérêt collectif", "scic"),
    ("SAS à capital variable SCIC", "scic"),
    ("SCOP SARL", "scop"),
    ("SCOP SA", "scop"),
    ("société coopérative ouvrière de production", "scop"),
    ("Société à responsabilité limitée SCOP", "scop"),
    ("SARL SCOP Les Ateliers du Vélo", "scop"),
    ("Coopérative d'activité et d'emploi", "cae"),
    ("CAE", "cae"),
    ("CAE SCOP", "cae"),
    ("fonds de dotation", "endowment_fund"),
    ("FRUP", "foundation"),
    ("Fondation reconnue d'utilité publique", "foundation"),
    ("SAS", "commercial_company"),
    ("SASU", "commercial_company"),
    ("SARL", "commercial_company"),
    ("EURL", "commercial_company"),
    ("auto-entrepreneur", "sole_proprietor"),
    ("micro-entreprise", "sole_proprietor"),
    ("EI", "sole_proprietor"),
    ("Mairie", "commune"),
    ("Commune de Saint-Étienne", "commune"),
    ("Ville de Paris", "commune"),
    ("Communauté de communes", "epci"),
    ("Communauté de communes du Pays de Gex", "epci"),
    ("CC", "epci"),
    ("Communauté d'agglomération", "epci"),
    ("Métropole", "epci"),
    ("Conseil départemental", "department"),
    ("Conseil départemental du Morbihan", "department"),
    ("Département", "department"),
    ("Conseil régional", "region"),
    ("Région", "region"),
    ("Syndicat mixte du Pays de Redon", "other_local_authority"),
    ("GIP", "gip"),
    ("GIE", "gie"),
    ("EPIC", "public_body"),
    ("établissement public", "public_body"),
    ("mutuelle", "mutual"),
    ("SEM", "public_body"),
    ("SPL", "public_body"),
    ("Association syndicale libre du lotissement", "other"),
    # typos, fuzzily
    ("Asociation", "association"),
    ("Comunauté de communes", "epci"),
]


@pytest.mark.parametrize("text, expected", LEGAL_FORM_SPELLINGS)
def test_legal_form_spellings(text, expected):
    assert resolve_legal_form(text) == expected


@pytest.mark.parametrize("text", ["coopératives", "collectivités", "Particuliers", "blabla", "", None,
                                  float("nan"), pd.NA])
def test_legal_form_not_one_form(text):
    assert resolve_legal_form(text) is None


# --------------------------------------------------------------------------- INSEE codes

# Every family of codes given in DESIGN §4, plus the range rules.
INSEE_FAMILIES = {
    "association": [9210, 9220, 9221, 9222, 9230, 9240, 9260],
    "foundation": [9300],
    "scop": [5458, 5558, 5658],
    "cooperative": [5203, 5307, 5309, 5443, 5451, 5453, 5454, 5455, 5459, 5460, 5543, 5547,
                    5551, 5552, 5553, 5554, 5555, 5559, 5560, 5643, 5647, 5651, 5652, 5653,
                    5654, 5655, 5659, 5660, 6316, 6317, 6318, 6543, 6551, 6554, 6558, 6560],
    "mutual": [6411, 8210, 8250, 8290, 8999],
    "commercial_company": [5710, 5720, 5499, 5498, 5599, 5202, 5800, 6540, 5999],
    "sole_proprietor": [1000],
    "commune": [7210],
    "department": [7220],
    "region": [7230],
    "other_local_authority": [7225, 7229, 7354, 7355, 7357],
    "epci": [7343, 7344, 7346, 7348, 7353],
    "gip": [7410],
    "gie": [6220, 6210],
    "public_body": [4110, 4120, 4130, 4140, 4150, 5415, 5515, 5615, 7361, 7372, 7389, 7490, 7399, 7113],
    "other": [9110, 9900, 2110],
}


@pytest.mark.parametrize(
    "code, expected",
    [(code, form) for form, codes in INSEE_FAMILIES.items() for code in codes],
)
def test_insee_codes(code, expected):
    assert resolve_legal_form(code) == expected


def test_insee_8xxx_that_are_not_mutuals():
    """Decision recorded in vocab_legal_forms.yaml: only 82xx (and 6411) are mutuals."""
    assert resolve_legal_form(8110) == "public_body"  # régime général de la sécurité sociale
    assert resolve_legal_form(8410) == "other"  # syndicat de salariés
    assert resolve_legal_form(8510) == "other"  # institution de prévoyance


@pytest.mark.parametrize("value", [9220, "9220", "9220.0", " 9220 ", 9220.0, np.int64(9220), np.float64(9220)])
def test_insee_code_formats(value):
    assert insee_code(value) == 9220
    assert resolve_legal_form(value) == "association"


@pytest.mark.parametrize("value", ["92", 92, 99999, "9220.5", 9220.5, "abc", True, None, float("nan"), "0999"])
def test_not_insee_codes(value):
    assert insee_code(value) is None


def test_insee_csv_rows_are_valid_and_cover_the_design_codes():
    forms = get_vocabulary("legal_forms")
    with (DATA_DIR / "insee_legal_categories.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["code", "legal_form", "label_fr"]
    codes = [int(row["code"]) for row in rows]
    assert len(codes) == len(set(codes))
    assert all(1000 <= c <= 9999 for c in codes)
    assert all(row["legal_form"] in forms and row["label_fr"] for row in rows)
    table = insee_legal_categories()
    for form, family_codes in INSEE_FAMILIES.items():
        if form in ("scop", "cooperative", "foundation", "gip", "commune", "department", "region"):
            for code in family_codes:
                assert table[code][0] == form, code


# --------------------------------------------------------------------------- groups and ESS


def test_group_expansion():
    assert expand_legal_forms("cooperatives") == ("cae", "cooperative", "scic", "scop")
    assert expand_legal_forms(["local_authorities"]) == (
        "commune", "department", "epci", "other_local_authority", "region")
    assert expand_legal_forms(["companies"]) == ("commercial_company", "sole_proprietor")
    assert expand_legal_forms(["associations"]) == ("association",)
    assert expand_legal_forms(["cooperatives", "association", "scop"]) == (
        "association", "cae", "cooperative", "scic", "scop")
    assert expand_legal_forms(["coopératives", "Collectivités"]) == (
        "cae", "commune", "cooperative", "department", "epci", "other_local_authority", "region", "scic", "scop")
    assert expand_legal_forms([9220, "SCIC SAS"]) == ("association", "scic")
    assert expand_legal_forms([]) == ()


def test_ess_group_is_every_form_ess_by_status():
    forms = get_vocabulary("legal_forms")
    expected = tuple(sorted(f for f in forms.ids if is_ess_by_status(f)))
    assert expand_legal_forms("ess") == expected
    assert forms.resolve("structures de l'ESS") == expected
    assert set(expected) == {"association", "foundation", "endowment_fund", "scop", "scic", "cae",
                             "cooperative", "mutual"}


def test_expand_unknown_raises():
    with pytest.raises(VocabularyError, match="unknown legal form"):
        expand_legal_forms(["cooperatives", "pirates"])


@pytest.mark.parametrize("form", ["association", "foundation", "endowment_fund", "scop", "scic", "cae",
                                  "cooperative", "mutual"])
def test_ess_by_status(form):
    assert is_ess_by_status(form) is True


@pytest.mark.parametrize("form", ["commercial_company", "sole_proprietor", "commune", "public_body", "gie", "other"])
def test_not_ess_by_status(form):
    assert is_ess_by_status(form) is False


def test_ess_by_status_unknown_id_raises():
    with pytest.raises(VocabularyError):
        is_ess_by_status("pirate_ship")


def test_every_legal_form_has_a_family():
    forms = get_vocabulary("legal_forms")
    families = {f: forms.attribute(f, "family") for f in forms.ids}
    assert families["scic"] == families["scop"] == families["cae"] == "cooperative"
    assert families["commune"] == families["region"] == "local_authority"
    assert set(families.values()) <= {"association_like", "cooperative", "company", "local_authority",
                                      "public", "other"}


# --------------------------------------------------------------------------- just transition


def test_pillars():
    assert pillar("climate_mitigation") == "ecological"
    assert pillar("biodiversity") == "ecological"
    assert pillar("fair_territory") == "social"
    assert pillar("democratic_governance") == "cooperation"
    assert criteria_in_pillar("ecological") == (
        "climate_mitigation", "climate_adaptation", "water_marine", "circular_economy",
        "pollution_prevention", "biodiversity")
    assert criteria_in_pillar("social") == (
        "inclusive_employment", "vulnerable_publics", "essential_needs", "fair_territory")
    assert criteria_in_pillar("cooperation") == (
        "territorial_cooperation", "democratic_governance", "citizen_participation")
    with pytest.raises(VocabularyError):
        pillar("just")
    with pytest.raises(VocabularyError):
        criteria_in_pillar("economic")


# --------------------------------------------------------------------------- cells and unknowns


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_unknown_text_gives_empty(name):
    vocab = get_vocabulary(name)
    assert vocab.resolve("zzqx wobble") == ()
    assert vocab.resolve_cell("zzqx wobble") == ((), ["zzqx wobble"])
    assert vocab.resolve(None) == ()
    assert vocab.resolve_cell(None) == ((), [])
    assert vocab.resolve_cell(float("nan")) == ((), [])


def test_cell_splitting():
    sectors = get_vocabulary("sectors")
    assert sectors.resolve_cell("Sport; Social | Santé\nEmploi") == (
        ("culture_sport", "employment_inclusion", "health", "social_cohesion"), [])
    assert sectors.resolve_cell("Social, Emploi / Développement économique") == (
        ("employment_inclusion", "local_economy", "social_cohesion"), [])
    assert sectors.resolve_cell("culture/sport") == (("culture_sport",), [])
    assert sectors.resolve_cell(["Santé", "Sport", None, float("nan")]) == (("culture_sport", "health"), [])
    assert sectors.resolve_cell("Santé, xyz, Santé; xyz") == (("health",), ["xyz"])
    instruments = get_vocabulary("instruments")
    assert instruments.resolve_cell("Ingénierie Juridique / administrative;Subvention") == (
        ("engineering_support", "grant"), [])
    assert instruments.resolve_cell("Subvention, Ingénierie Juridique / administrative, Prêt") == (
        ("engineering_support", "grant", "loan"), [])
    forms = get_vocabulary("legal_forms")
    assert forms.resolve_cell("Communes, Entreprises publiques locales (Sem, Spl, SemOp)") == (
        ("commune", "public_body"), [])
    assert forms.resolve_cell("Associations;Particuliers") == (("association",), [])


def test_ignored_labels_are_known_but_carry_no_id():
    sectors = get_vocabulary("sectors")
    assert sectors.resolve("Relations internationales") == ()
    assert sectors.is_known("Relations internationales")
    assert not sectors.is_known("zzqx")
    assert sectors.resolve_cell("Fonctions support / Appui méthodologique") == ((), [])


def test_fuzzy_forgives_typos():
    assert get_vocabulary("instruments").resolve("subvension") == ("grant",)
    assert get_vocabulary("sectors").resolve("agricultre") == ("food_agriculture",)
    assert get_vocabulary("sectors").resolve("environement") == ("biodiversity_water",)
    assert get_vocabulary("grant_status").resolve("rejetee") == ("refused",)


@pytest.mark.parametrize(
    "name, text",
    [
        ("sectors", "scolaire"),  # not "solaire"
        ("sectors", "préparation"),  # not "réparation"
        ("sectors", "montage"),  # not "montagne"
        ("expense_types", "mobilisation"),  # not "immobilisations"
        ("legal_forms", "SAR"),  # short: never fuzzy
        ("legal_forms", "collective"),  # not "collectivité"
        ("jt_criteria", "construction"),  # not "co-construction"
    ],
)
def test_fuzzy_refuses_near_misses(name, text):
    assert get_vocabulary(name).resolve(text) == ()


def test_fuzzy_refuses_when_two_ids_are_equally_close():
    vocab = Vocabulary("test", [
        VocabularyValue("one", "maison rouge", "red house"),
        VocabularyValue("two", "maison rouges", "red houses"),
    ])
    assert vocab.resolve("maison rouget") == ()
    assert vocab.resolve("maison rouge") == ("one",)


def test_parent_prefix_is_dropped():
    vocab = Vocabulary(
        "test",
        [VocabularyValue("leaf", "Feuille", "Leaf"), VocabularyValue("tree", "Arbre", "Tree")],
        multi={"Arbre / Branche": ["leaf", "tree"]},
        parents=["Arbre / Branche"],
    )
    assert vocab.resolve("Arbre / Branche / Feuille") == ("leaf",)
    assert vocab.resolve("Arbre / Branche") == ("leaf", "tree")


def test_contained_needs_the_most_specific_form():
    forms = get_vocabulary("legal_forms")
    assert forms.resolve_contained("La SCIC SAS des Monts") == "scic"
    assert forms.resolve_contained("Association des communes forestières") == "association"
    assert forms.resolve_contained("nothing here") is None


# --------------------------------------------------------------------------- properties


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(cell=TEXT, name=st.sampled_from(VOCABULARY_NAMES))
def test_resolve_cell_never_fails_and_returns_known_sorted_ids(cell, name):
    vocab = get_vocabulary(name)
    ids, unknown = vocab.resolve_cell(cell)
    assert list(ids) == sorted(set(ids))
    assert set(ids) <= set(vocab.ids)
    assert len(unknown) == len(set(unknown))
    assert all(token and token in cell for token in unknown)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_case_accents_and_spacing_do_not_matter(data):
    name = data.draw(st.sampled_from(VOCABULARY_NAMES))
    vocab = get_vocabulary(name)
    value_id = data.draw(st.sampled_from(vocab.ids))
    value = vocab.value(value_id)
    text = data.draw(st.sampled_from((value.fr, value.en, *value.synonyms)))
    if fold(text) != fold(text.upper()):
        return  # "ß"-like letters change under upper(); none are expected in the data
    variant = data.draw(st.sampled_from([text.upper(), f"  {text.lower()} ", f"{text}."]))
    assert vocab.resolve(variant) == (value_id,)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(allow_nan=True), TEXT, st.none()))
def test_resolve_legal_form_never_fails(value):
    result = resolve_legal_form(value)
    assert result is None or result in get_vocabulary("legal_forms")


# --------------------------------------------------------------------------- real data

PARIS = [
    SHARED_DATA / "paris-subventions" / "subventions-accordees-et-refusees_TRAIN.csv.gz",
    SHARED_DATA / "paris-subventions" / "subventions-accordees-et-refusees_TEST.csv.gz",
]
AIDES = SHARED_DATA / "aides-territoires" / "aides-territoires_periurbain.csv"


@pytest.mark.realdata
@pytest.mark.skipif(not all(p.exists() for p in PARIS), reason="../shared/data/paris-subventions absent")
def test_paris_sector_labels():
    cells = pd.concat([pd.read_csv(p, dtype=str, usecols=["secteur activite"]) for p in PARIS])["secteur activite"]
    sectors = get_vocabulary("sectors")
    labels = cells.dropna().str.split(";").explode().str.strip().unique()
    unmapped = {label for label in labels if not sectors.resolve(label)}
    assert unmapped == {"Relations internationales", "Technique & Recherche"}
    assert all(sectors.is_known(label) for label in labels)
    covered = sum(1 for cell in cells if sectors.resolve_cell(cell)[0])
    assert covered / len(cells) > 0.99


@pytest.mark.realdata
@pytest.mark.skipif(not AIDES.exists(), reason="../shared/data/aides-territoires absent")
def test_aides_territoires_types_and_audiences_are_all_understood():
    frame = pd.read_csv(AIDES, dtype=str)
    instruments, forms = get_vocabulary("instruments"), get_vocabulary("legal_forms")
    types = frame["Types d'aides"].dropna().str.split(";").explode().str.strip().unique()
    assert {t for t in types if not instruments.resolve(t)} == {"Autre aide financière"}
    audiences = frame["Bénéficiaire"].dropna()
    assert all(forms.resolve_cell(cell)[1] == [] for cell in audiences)
