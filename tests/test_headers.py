"""Tests for matcher.normalize.headers: exact, synonym, criterion, fuzzy and forced mapping; reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.core.errors import InputError, MappingError
from matcher.normalize.headers import (
    compact_name,
    ignored_headers,
    load_mapping_file,
    map_headers,
    parse_map_options,
    synonym_levels,
)
from matcher.normalize.problems import FILE
from matcher.normalize.schema import SCHEMAS

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JT = {
    "climate_mitigation": ("Atténuation du changement climatique", "Climate change mitigation"),
    "inclusive_employment": ("Emploi inclusif", "Inclusive employment", "Insertion"),
}


def mapped(columns, kind="projects", **options) -> dict[str, str]:
    return map_headers(columns, kind, jt_criteria=options.pop("jt_criteria", JT), **options).mapping


# --------------------------------------------------------------------------- exact and synonyms


@pytest.mark.parametrize("column", ["project_id", "Project ID", "PROJECT-ID", "projectId", " project id "])
def test_exact_match_ignores_case_accents_punctuation_and_camel_case(column):
    result = map_headers([column], "projects", jt_criteria=JT)
    assert result.mapping == {column: "project_id"}
    assert result.method == {column: "exact"}
    assert result.problems == []


@pytest.mark.parametrize(("column", "kind", "field"), [
    ("Forme juridique", "projects", "legal_form"),
    ("Statut juridique", "projects", "legal_form"),
    ("Montant demandé", "projects", "amount_requested"),
    ("MONTANT_SOLLICITE", "projects", "amount_requested"),
    ("Montant demandé (€)", "projects", "amount_requested"),
    ("Budget total", "projects", "total_budget"),
    ("Budget prévisionnel", "projects", "total_budget"),
    ("Code INSEE", "projects", "territory"),
    ("Code postal", "projects", "territory"),
    ("Département", "projects", "territory"),
    ("Porteur", "projects", "carrier_name"),
    ("Structure porteuse", "projects", "carrier_name"),
    ("Nom du projet", "projects", "name"),
    ("Intitulé", "projects", "name"),
    ("Résumé", "projects", "summary"),
    ("Description", "projects", "summary"),
    ("Thématiques", "projects", "sectors"),
    ("Date de début", "projects", "start_date"),
    ("Durée (mois)", "projects", "duration_months"),
    ("Financeur", "funders", "name"),
    ("Périmètre", "funders", "perimeter"),
    ("Plafond", "funders", "ticket_max"),
    ("Montant max", "funders", "ticket_max"),
    ("Taux maximum", "funders", "max_share_of_budget"),
    ("Date de clôture", "funders", "call_closes"),
    ("Description", "funders", "description"),
    ("Description", "history", "purpose"),
    ("Financeur", "history", "funder_name"),
])
def test_french_and_english_synonyms(column, kind, field):
    result = map_headers([column], kind, jt_criteria=JT)
    assert result.mapping == {column: field}
    assert result.method[column] in ("synonym", "exact")


def test_better_synonym_level_wins_and_the_other_column_is_reported():
    result = map_headers(["Budget total", "Budget"], "projects", jt_criteria=JT)
    assert result.mapping == {"Budget total": "total_budget"}
    assert result.unmapped == ["Budget"]
    assert all(p.severity == FILE and "read from 'Budget total'" in p.reason_en for p in result.problems)


def test_place_parts_in_several_columns_are_combined_not_competing():
    result = map_headers(["Code commune", "Commune", "Département"], "projects", jt_criteria=JT)
    assert result.mapping == {"Code commune": "territory"}  # the most precise part
    assert result.place_parts == {"Code commune": "insee", "Commune": "commune", "Département": "department"}
    assert result.unmapped == []
    (report,) = result.problems
    assert report.code == "header.place_combined" and "'Commune' (commune)" in report.reason_en
    # two columns for one part, or a column naming the whole place: no combination
    assert map_headers(["Commune", "Ville", "Code postal"], "projects", jt_criteria=JT).place_parts == {}
    assert map_headers(["Territoire", "Code postal"], "projects", jt_criteria=JT).mapping == {"Territoire": "territory"}


def test_field_name_beats_synonym():
    result = map_headers(["Nom du projet", "name"], "projects", jt_criteria=JT)
    assert result.mapping == {"name": "name"}
    assert result.unmapped == ["Nom du projet"]


# --------------------------------------------------------------------------- ambiguity, unmapped


def test_two_columns_at_the_same_level_are_ambiguous_and_unused():
    result = map_headers(["Secteurs", "Thématiques", "Nom du projet"], "projects", jt_criteria=JT)
    assert result.mapping == {"Nom du projet": "name"}
    assert result.ambiguous == [("Secteurs", ("sectors",)), ("Thématiques", ("sectors",))]
    assert len(result.problems) == 2
    assert "--map sectors=COLUMN" in result.problems[0].reason_en
    assert "--map sectors=COLONNE" in result.problems[0].reason_fr


def test_one_column_matching_several_fields_equally_is_ambiguous():
    result = map_headers(["Montant"], "funders", fuzzy_threshold=70)
    assert result.mapping == {}
    assert result.ambiguous == [("Montant", ("ticket_max", "ticket_min"))]
    assert "several fields" in result.problems[0].reason_en


def test_unmapped_columns_are_reported_in_both_languages():
    result = map_headers(["project_id", "Commentaires internes"], "projects", jt_criteria=JT)
    assert result.unmapped == ["Commentaires internes"]
    (problem,) = result.problems
    assert problem.severity == FILE and problem.column == "Commentaires internes" and problem.row is None
    assert "matches no projects field" in problem.reason_en
    assert "« Commentaires internes »" in problem.reason_fr


def test_every_column_lands_in_exactly_one_bucket():
    columns = ["ID", "Nom", "Secteurs", "Thématiques", "Notes", "Montant demandee", "Insertion"]
    result = map_headers(columns, "projects", jt_criteria=JT)
    buckets = [*result.mapping, *result.unmapped, *(c for c, _ in result.ambiguous), *result.ignored,
               *(c for c in result.place_parts if c not in result.mapping)]
    assert sorted(buckets) == sorted(columns)


# --------------------------------------------------------------------------- fuzzy


def test_fuzzy_match_above_threshold_with_a_report():
    result = map_headers(["Montant demandee", "Budjet total"], "projects", jt_criteria=JT)
    assert result.mapping == {"Montant demandee": "amount_requested", "Budjet total": "total_budget"}
    assert result.method == {"Montant demandee": "fuzzy", "Budjet total": "fuzzy"}
    assert all("approximate" in p.reason_en for p in result.problems)


def test_fuzzy_threshold_is_respected():
    assert mapped(["Montant demandee"], fuzzy_threshold=101) == {}
    result = map_headers(["Montant demande 2024"], "projects", jt_criteria=JT)  # fuzzy score 86 < 88...
    assert result.method == {"Montant demande 2024": "words"}  # ...but its words say it
    assert mapped(["Montant HT"]) == {}  # one word shared by several fields names none


def test_exact_beats_fuzzy_for_the_same_field():
    result = map_headers(["Montant demandé", "Montant demandee"], "projects", jt_criteria=JT)
    assert result.mapping == {"Montant demandé": "amount_requested"}
    assert result.unmapped == ["Montant demandee"]


# --------------------------------------------------------------------------- forced


def test_forced_mapping_comes_first_and_other_candidates_are_reported():
    result = map_headers(["Montant demandé", "Montant (€)"], "projects",
                         forced={"amount_requested": "Montant (€)"}, jt_criteria=JT)
    assert result.mapping == {"Montant (€)": "amount_requested"}
    assert result.method == {"Montant (€)": "forced"}
    assert result.unmapped == ["Montant demandé"]


def test_forced_column_is_found_case_and_accent_insensitively():
    assert mapped(["Montant demandé"], forced={"total_budget": "montant demande"}) == \
        {"Montant demandé": "total_budget"}


def test_forced_unknown_field_suggests_the_closest():
    with pytest.raises(MappingError, match="unknown projects field 'amount_request'; did you mean amount_requested"):
        map_headers(["A"], "projects", forced={"amount_request": "A"}, jt_criteria=JT)


def test_forced_missing_column_lists_the_columns():
    with pytest.raises(MappingError, match="no such column; available columns: 'A', 'B'"):
        map_headers(["A", "B"], "projects", forced={"name": "C"}, jt_criteria=JT)


def test_one_column_forced_onto_two_fields_is_an_error():
    with pytest.raises(MappingError, match="mapped to two fields"):
        map_headers(["A"], "projects", forced={"name": "A", "summary": "A"}, jt_criteria=JT)


def test_unknown_kind_is_an_error():
    with pytest.raises(MappingError, match="unknown kind 'grants'"):
        map_headers(["A"], "grants")


# --------------------------------------------------------------------------- just-transition columns


@pytest.mark.parametrize(("column", "field"), [
    ("climate_mitigation", "jt_climate_mitigation"),
    ("jt_climate_mitigation", "jt_climate_mitigation"),
    ("JT Inclusive Employment", "jt_inclusive_employment"),
    ("Emploi inclusif", "jt_inclusive_employment"),
    ("Niveau insertion", "jt_inclusive_employment"),
    ("Insertion (0-3)", "jt_inclusive_employment"),
])
def test_criterion_columns_map_to_pseudo_fields(column, field):
    assert mapped([column]) == {column: field}


def test_criterion_columns_only_for_projects_and_forcible():
    assert map_headers(["climate_mitigation"], "history", jt_criteria=JT).mapping == {}
    assert mapped(["Climat"], forced={"jt_climate_mitigation": "Climat"}) == {"Climat": "jt_climate_mitigation"}
    with pytest.raises(MappingError, match="unknown projects field 'jt_water'"):
        map_headers(["A"], "projects", forced={"jt_water": "A"}, jt_criteria=JT)


def test_criterion_columns_from_the_packaged_vocabulary():
    pytest.importorskip("matcher.referential.vocabularies")
    result = map_headers(["Atténuation climat", "Insertion", "Nom du projet", "Nature du projet"], "projects")
    assert result.mapping == {"Atténuation climat": "jt_climate_mitigation",
                              "Insertion": "jt_inclusive_employment", "Nom du projet": "name"}
    assert result.unmapped == ["Nature du projet"]


# --------------------------------------------------------------------------- standards


SCDL_2_HEADERS = [
    "idSubvention", "nomAttribuant", "idAttribuant", "nomServiceInstructeur", "idServiceInstructeur",
    "nomBeneficiaire", "idBeneficiaire", "rnaBeneficiaire", "exerciceBudgetaire", "pluriannualite",
    "anneesPluriannualite", "dateDecision", "dateConvention", "referenceDecision", "dateCreation",
    "dateDebut", "dateFin", "dispositif", "sousDispositif", "statutLabel", "objet", "nature",
    "montantDemande", "montant", "nomOutilInstruction", "nomOutilVersement", "ej", "cléVersement",
    "conditionsVersement", "descriptionConditionsVersement", "datesPeriodeVersement", "cofinancement",
    "attribuantsCofinanceurs", "idCofinancement", "idRAE", "notificationUE", "pourcentageSubvention",
    "evaluationCout", "evaluation", "dateMiseAJour",
]


def test_scdl_2_1_1_headers_are_all_known():
    result = map_headers(SCDL_2_HEADERS, "history")
    assert result.by_field == {
        "funder_name": "nomAttribuant", "funder_id": "idAttribuant",
        "recipient_name": "nomBeneficiaire", "recipient_id": "idBeneficiaire",
        "year": "exerciceBudgetaire", "award_date": "dateDecision", "programme": "dispositif",
        "status": "statutLabel", "purpose": "objet", "amount_requested": "montantDemande",
        "amount_awarded": "montant",
    }
    # Lower-priority alternatives lose to the better column, every other column is known.
    assert result.unmapped == ["rnaBeneficiaire", "dateConvention"]
    assert result.ambiguous == []
    assert len(result.ignored) == len(SCDL_2_HEADERS) - 13


def test_scdl_1_headers_map_convention_date_and_funder_siret():
    columns = ["nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire",
               "idBeneficiaire", "objet", "montant", "nature", "conditionsVersement",
               "datesPeriodeVersement", "idRAE", "notificationUE", "pourcentageSubvention"]
    result = map_headers(columns, "history")
    assert result.by_field["award_date"] == "dateConvention"
    assert result.by_field["funder_id"] == "idAttribuant"
    assert result.unmapped == [] and result.ambiguous == []


def test_scdl_example_file_headers_are_all_mapped():
    path = SHARED_DATA / "scdl" / "exemple_valide.csv"
    if not path.exists():
        pytest.skip("shared data not available (../shared/data)")
    from matcher.io.readers import read_table

    columns = list(read_table(path).frame.columns)
    result = map_headers(columns, "history")
    assert result.ambiguous == []
    assert result.unmapped == ["rnaBeneficiaire"]  # superseded by idBeneficiaire
    assert set(result.mapping) | set(result.ignored) | {"rnaBeneficiaire"} == set(columns)
    assert result.mapping["idAttribuant"] == "funder_id"
    assert result.mapping["dispositifAide"] == "programme"


def test_scdl_schema_fields_are_all_known():
    path = SHARED_DATA / "scdl" / "schema.json"
    if not path.exists():
        pytest.skip("shared data not available (../shared/data)")
    names = [f["name"] for f in json.loads(path.read_text(encoding="utf-8"))["fields"]]
    result = map_headers(names, "history")
    assert result.ambiguous == []
    assert set(result.unmapped) <= {"rnaBeneficiaire", "dateConvention"}


def test_360giving_flattened_csv_headers():
    columns = ["Identifier", "Title", "Description", "Currency", "Amount Awarded", "Award Date",
               "Recipient Org:Identifier", "Recipient Org:Name", "Funding Org:Identifier",
               "Funding Org:Name", "Grant Programme:Title", "Beneficiary Location:Name"]
    result = map_headers(columns, "history")
    assert result.by_field == {
        "purpose": "Description", "currency": "Currency", "amount_awarded": "Amount Awarded",
        "award_date": "Award Date", "recipient_id": "Recipient Org:Identifier",
        "recipient_name": "Recipient Org:Name", "funder_id": "Funding Org:Identifier",
        "funder_name": "Funding Org:Name", "programme": "Grant Programme:Title",
        "territory": "Beneficiary Location:Name",
    }
    assert result.ignored == ["Identifier"] and result.unmapped == ["Title"]


def test_360giving_json_flattened_names():
    columns = ["id", "title", "description", "currency", "amountAwarded", "awardDate",
               "recipientOrganization:id", "recipientOrganization:name", "fundingOrganization:id",
               "fundingOrganization:name", "grantProgramme:title", "beneficiaryLocation:name"]
    result = map_headers(columns, "history")
    assert result.by_field["funder_id"] == "fundingOrganization:id"
    assert result.by_field["recipient_name"] == "recipientOrganization:name"
    assert result.by_field["amount_awarded"] == "amountAwarded"
    assert result.by_field["territory"] == "beneficiaryLocation:name"
    assert result.ambiguous == []


# --------------------------------------------------------------------------- data file


def test_headers_yaml_is_consistent():
    for kind, fields in SCHEMAS.items():
        for name, levels in synonym_levels(kind).items():
            assert name in fields, (kind, name)
            assert all(isinstance(s, str) and s.strip() for level in levels for s in level)
        seen: dict[str, str] = {}
        for name, levels in synonym_levels(kind).items():
            for synonym in (s for level in levels for s in level):
                key = compact_name(synonym)
                assert seen.setdefault(key, name) == name, (kind, synonym, seen[key], name)
        assert not {compact_name(h) for h in ignored_headers(kind)} & set(seen), kind
        map_headers(["x"], kind, jt_criteria={})  # builds the tables without a clash


# --------------------------------------------------------------------------- --map and mapping files


def test_parse_map_options():
    assert parse_map_options(["amount_requested=Montant (€)", " name = Nom ", "x=a=b"]) == {
        "amount_requested": "Montant (€)", "name": "Nom", "x": "a=b"}
    with pytest.raises(MappingError, match=r"^--map expects field=Column, got 'x'$"):
        parse_map_options(["x"])
    with pytest.raises(MappingError, match="--map expects field=Column, got 'name='"):
        parse_map_options(["name="])
    with pytest.raises(MappingError, match="two columns for name"):
        parse_map_options(["name=A", "name=B"])


def test_load_mapping_file(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("amount_requested: Montant (€)\nyear: 2024\n", encoding="utf-8")
    assert load_mapping_file(path) == {"amount_requested": "Montant (€)", "year": "2024"}
    path.write_text("", encoding="utf-8")
    assert load_mapping_file(path) == {}
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(MappingError, match="field: Column"):
        load_mapping_file(path)
    path.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(MappingError, match="invalid YAML"):
        load_mapping_file(path)
    path.write_text("a: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    with pytest.raises(MappingError, match="invalid YAML"):
        load_mapping_file(path)
    path.write_text("a:\n  b: c\n", encoding="utf-8")
    with pytest.raises(MappingError, match="must be a column name"):
        load_mapping_file(path)
    with pytest.raises(InputError, match="not found"):
        load_mapping_file(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------- properties

KNOWN = [s for levels in synonym_levels("projects").values() for level in levels for s in level]


@given(st.lists(st.one_of(st.sampled_from(KNOWN + list(SCHEMAS["projects"])), st.text(max_size=12)),
                max_size=8, unique=True))
def test_mapping_invariants(columns):
    result = map_headers(columns, "projects", jt_criteria=JT)
    fields = list(result.mapping.values())
    assert len(fields) == len(set(fields))  # never two columns for one field
    assert set(fields) <= set(SCHEMAS["projects"]) | {f"jt_{c}" for c in JT}
    buckets = [*result.mapping, *result.unmapped, *(c for c, _ in result.ambiguous), *result.ignored,
               *(c for c in result.place_parts if c not in result.mapping)]
    assert sorted(buckets) == sorted(columns)
    assert list(result.explained) == columns
    assert all(p.severity == FILE and p.reason_en and p.reason_fr for p in result.problems)
