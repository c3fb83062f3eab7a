"""The projects pipeline: canonical rows, rejects and the accounting, on tiny files."""

import pandas as pd
import pytest

from matcher.io.loading import load


def write(tmp_path, text, name="p.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def accounted(result):
    s = result.summary
    return s["rows_read"] == s["rows_normalised"] + s["rows_rejected"]


def test_french_headers_and_messy_values_normalise(tmp_path):
    path = write(tmp_path, (
        "Identifiant;Nom du projet;Forme juridique;Montant demandé;Budget total;Territoire;Secteurs;Stade\n"
        "P1;Recyclerie;Asso loi 1901;50 000 €;1,2 M€;Lyon;économie circulaire;émergence\n"
        "P2;Méthanisation;SCIC SAS;45k€;120.000,00;69001;\"énergie; agriculture\";développement\n"
    ))
    result = load("projects", path)
    frame = result.frame
    assert accounted(result) and result.summary["rows_normalised"] == 2
    assert frame["legal_form"].tolist() == ["association", "scic"]
    assert frame["amount_requested"].tolist() == [50000.0, 45000.0]
    assert frame["total_budget"].tolist() == [1_200_000.0, 120_000.0]
    assert frame.loc[0, "territory"] == ("commune:69123",)
    assert frame.loc[0, "sectors"] == ("circular_economy",)
    assert set(frame.loc[1, "sectors"]) == {"energy", "food_agriculture"}
    assert frame["stage"].tolist() == ["emergence", "development"]


def test_unknown_stays_unknown_not_zero(tmp_path):
    path = write(tmp_path, "project_id,name,amount_requested,dnsh,duration_months\nP1,A,,,\n")
    frame = load("projects", path).frame
    assert pd.isna(frame.loc[0, "amount_requested"])
    assert frame.loc[0, "dnsh"] is pd.NA
    assert frame.loc[0, "duration_months"] is pd.NA
    assert frame.loc[0, "sectors"] is None
    assert all(frame[f"jt_{c}"].isna().all() for c in ("climate_mitigation", "inclusive_employment"))


def test_unreadable_amount_is_a_warning_and_the_row_is_kept(tmp_path):
    path = write(tmp_path, "project_id,amount_requested\nP1,douze mille\nP2,12 000\n")
    result = load("projects", path)
    assert result.summary["rows_normalised"] == 2 and result.summary["rows_rejected"] == 0
    assert result.summary["warnings"] == 1
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.severity) == (2, "amount_requested", "warning")
    assert "douze mille" in problem.reason_en
    assert pd.isna(result.frame.loc[0, "amount_requested"])


def test_duplicate_ids_are_rejected_with_the_first_row(tmp_path):
    path = write(tmp_path, "project_id,name\nP1,A\nP2,B\nP1,C\n")
    result = load("projects", path)
    assert result.frame["name"].tolist() == ["A", "B"]
    assert result.summary["rows_rejected"] == 1 and accounted(result)
    (problem,) = [p for p in result.problems if p.severity == "error"]
    assert problem.row == 4 and "first seen on row 2" in problem.reason_en


def test_missing_id_and_empty_rows_are_rejected(tmp_path):
    path = write(tmp_path, "project_id,name,summary\n,Sans id,x\n , NC ,-\nP3,ok,\n")
    result = load("projects", path)
    reasons = sorted((p.row, p.reason_en) for p in result.problems if p.severity == "error")
    assert reasons == [(2, "missing project_id"), (3, "empty row")]
    assert result.frame["project_id"].tolist() == ["P3"] and accounted(result)


def test_empty_record_in_yaml_is_rejected(tmp_path):
    path = write(tmp_path, "- {project_id: P1, name: A}\n- {}\n- {name: B}\n", name="p.yaml")
    result = load("projects", path)
    assert result.summary["rows_read"] == 3 and accounted(result)
    assert sorted((p.row, p.reason_en) for p in result.problems) == [(2, "empty row"), (3, "missing project_id")]


def test_unknown_legal_form_and_place_are_reported(tmp_path):
    path = write(tmp_path, "project_id,legal_form,territory\nP1,Truc bidule,Atlantide\n")
    result = load("projects", path)
    columns = sorted(p.column for p in result.problems)
    assert columns == ["legal_form", "territory"]
    assert result.frame.loc[0, "legal_form"] is None and result.frame.loc[0, "territory"] is None


def test_ambiguous_place_lists_candidates_and_is_not_guessed(tmp_path):
    path = write(tmp_path, "project_id,territory\nP1,Saint-Denis\n")
    result = load("projects", path)
    (problem,) = result.problems
    assert "ambiguous" in problem.reason_en and "93" in problem.reason_en
    assert result.frame.loc[0, "territory"] is None


def test_just_transition_list_column(tmp_path):
    path = write(tmp_path, 'project_id,just_transition\nP1,"climate_mitigation:3; inclusive_employment"\nP2,\n')
    frame = load("projects", path).frame
    assert frame.loc[0, "jt_climate_mitigation"] == 3
    assert frame.loc[0, "jt_inclusive_employment"] == 2  # named without a level: claimed
    assert frame.loc[0, "jt_biodiversity"] == 0  # not named in a given list
    assert pd.isna(frame.loc[1, "jt_climate_mitigation"])  # blank list: unknown


def test_just_transition_one_column_per_criterion(tmp_path):
    path = write(tmp_path, "project_id,climate_mitigation,inclusive_employment\nP1,3,0\nP2,,1\n")
    frame = load("projects", path).frame
    assert frame["jt_climate_mitigation"].tolist()[0] == 3
    assert pd.isna(frame["jt_climate_mitigation"].tolist()[1])
    assert frame["jt_inclusive_employment"].tolist() == [0, 1]


def test_invalid_siret_is_reported_and_siren_derived(tmp_path):
    path = write(tmp_path, "project_id,siret\nP1,732 829 320 00074\nP2,12345\n")
    result = load("projects", path)
    assert result.frame["siren"].tolist() == ["732829320", None]
    assert [p.row for p in result.problems] == [3]


def test_forced_mapping(tmp_path):
    path = write(tmp_path, "ref;Combien\nA;10 000\n")
    result = load("projects", path, forced={"project_id": "ref", "amount_requested": "Combien"})
    assert result.frame.loc[0, "amount_requested"] == 10000.0


def test_row_order_does_not_change_canonical_values(tmp_path):
    rows = ["P1;Asso;50 000;Lyon", "P2;SCOP;1 M€;Bretagne", "P3;;;Paris"]
    header = "project_id;legal_form;amount_requested;territory\n"
    a = load("projects", write(tmp_path, header + "\n".join(rows), "a.csv"))
    b = load(
        "projects",
        write(tmp_path, "project_id;legal_form;amount_requested;territory\n" + "\n".join(rows[::-1]), "b.csv"),
    )
    left = a.frame.sort_values("project_id").reset_index(drop=True)
    right = b.frame.sort_values("project_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings(tmp_path, encoding):
    path = write(
        tmp_path,
        "Identifiant;Forme juridique;Montant demandé\nP1;Société coopérative d'intérêt collectif;12 500 €\n",
        encoding=encoding,
    )
    frame = load("projects", path).frame
    assert frame.loc[0, "legal_form"] == "scic" and frame.loc[0, "amount_requested"] == 12500.0


def test_every_commune_resolves_from_its_insee_code_in_a_file(tmp_path):
    from matcher.referential.territories import Territories

    communes = sorted(Territories.default().codes("commune"))
    lines = [f"P{i},{code.split(':')[1]}" for i, code in enumerate(communes)]
    path = write(tmp_path, "project_id,Code commune\n" + "\n".join(lines) + "\n")
    result = load("projects", path)
    assert result.summary["warnings"] == 0
    assert [t[0] for t in result.frame["territory"]] == communes


def test_a_column_of_postcodes_reads_as_postcodes(tmp_path):
    path = write(tmp_path, "project_id,Code postal\nP1,69001\nP2,13001\n")
    frame = load("projects", path).frame
    assert frame["territory"].tolist() == [("commune:69123",), ("commune:13055",)]
