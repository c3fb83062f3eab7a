"""Aides-territoires export import: detection, funder reading, the pipeline, the real file."""

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funders.aides_territoires import (
    call_id_of,
    funder_type_of,
    infer_sectors,
    looks_like_aides_territoires,
    normalize_aides_territoires,
    read_funder,
    read_funder_perimeter,
    slug,
    strip_html,
)
from matcher.core.errors import MappingError
from matcher.io.loading import load
from matcher.io.readers import read_table
from matcher.io.writers import write_table
from matcher.normalize.schema import FUNDER_FIELDS
from matcher.referential.territories import Territories

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AIDES = DATA / "aides-territoires" / "aides-territoires_periurbain.csv"
HEADER = ["Nom", "Lien", "Financeurs", "Bénéficiaire", "Types d'aides", "AAP/AMI", "Récurrence",
          "Descriptif", "Date Clôture"]
AT = "https://aides-territoires.beta.gouv.fr/aides/"


def _export(tmp_path, rows, header=HEADER) -> Path:
    path = tmp_path / "aides.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ROWS = [
    ["Développer les pistes cyclables", AT + "e342-pistes-cyclables/", "Conseil départemental du Morbihan",
     "Communes;Intercommunalités / Pays", "Subvention;Ingénierie financière", "Oui", "Ponctuelle",
     "<p>Soutien aux <b>itinéraires</b> cyclables &amp; équipements.</p>", "31/12/2023"],
    ["Prêt rénovation", AT + "a1b2-pret-renovation/", "Banque des Territoires;ADEME",
     "Entreprises privées;Associations", "Prêt;Avance récupérable", "", "Permanente",
     "Travaux de voirie < 90 k€ HT", ""],
    ["Aide de Saint-Denis", AT + "c3d4-aide-saint-denis/", "Commune de Saint-Denis",
     "Associations", "Subvention", "", "Permanente", "", "pas une date"],
    ["Conseils en urbanisme", "", "Agences d'urbanisme", "Particuliers",
     "Autre aide financière", "", "Permanente", "Études", ""],
    ["Aide sans financeur", AT + "e5f6-orpheline/", "", "Communes", "Subvention", "", "", "", ""],
    ["Doublon cyclable", AT + "e342-pistes-cyclables/", "Conseil départemental du Morbihan",
     "Communes", "Subvention", "", "", "", ""],
]


@pytest.fixture
def result(tmp_path):
    return normalize_aides_territoires(read_table(_export(tmp_path, ROWS)))


# --------------------------------------------------------------------------- detection


def test_looks_like_aides_territoires_needs_the_four_signature_headers():
    assert looks_like_aides_territoires(HEADER)
    assert looks_like_aides_territoires(["NOM", "financeurs", "Beneficiaires", "Types d’aides"])
    assert not looks_like_aides_territoires(["Nom", "Financeurs", "Types d'aides"])
    assert not looks_like_aides_territoires(list(FUNDER_FIELDS))


def test_missing_funders_column_is_a_mapping_error(tmp_path):
    path = _export(tmp_path, [["Une aide", AT + "x/"]], header=["Nom", "Lien"])
    with pytest.raises(MappingError, match="Financeurs"):
        normalize_aides_territoires(read_table(path))


# --------------------------------------------------------------------------- funder names


@pytest.mark.parametrize(("name", "codes", "method"), [
    ("Conseil départemental du Morbihan", ("dep:56",), "authority"),
    ("Région Bretagne", ("reg:53",), "authority"),
    ("Conseil régional de Bretagne", ("reg:53",), "authority"),
    ("Métropole de Lyon", ("epci:200046977",), "authority"),
    ("Communauté de communes Pays du Mont-blanc", ("epci:200034882",), "authority"),
    ("Seine Normandie Agglomération (SNA)", ("epci:200072312",), "authority"),
    ("DDT du Tarn", ("dep:81",), "place"),
    ("Établissement Public Foncier des Hauts-de-France (EPF)", ("reg:32",), "place"),
    ("Agence Départementale d’Information sur le Logement - Drôme", ("dep:26",), "place"),
    ("FREDON Occitanie", ("reg:76",), "place"),
    ("Établissement public foncier local de l'Oise et Aisne (EPFLO)", ("dep:02", "dep:60"), "place"),
    ("Agence technique départementale du Rhône (ATD 69)", ("dep:69",), "place"),
    ("ID77", ("dep:77",), "acronym"),
    ("ADEME", ("FR",), "national"),
    ("Banque des Territoires", ("FR",), "national"),
    ("Agence nationale de la cohésion des territoires (ANCT)", ("FR",), "national"),
    ("Ministère de la Transition écologique", ("FR",), "national"),
    ("Commission européenne", ("EU",), "european"),
    ("Agences d'urbanisme", None, "unknown"),
    ("Alliance Intermétropolitaine Loire Bretagne", None, "unknown"),
    ("Agence d'Urbanisme de Rouen et des Boucles de Seine et Eure (AURBSE)", None, "unknown"),
    ("Ouest Charente - Cognac (PETR)", None, "unknown"),
])
def test_perimeter_is_read_from_the_funder_name(name, codes, method):
    reading = read_funder_perimeter(name)
    assert (reading.codes, reading.method) == (codes, method)
    assert reading.warning is None


def test_ambiguous_place_is_unknown_with_the_candidates_in_a_warning():
    reading = read_funder_perimeter("Commune de Saint-Denis")
    assert reading.codes is None and reading.method == "ambiguous"
    assert "Saint-Denis (93)" in reading.warning.reason_en and "Saint-Denis (974)" in reading.warning.reason_fr
    assert reading.warning.code == "aides.ambiguous_place"


def test_places_that_disagree_are_unknown_with_a_warning():
    reading = read_funder_perimeter("Agence technique départementale du Rhône (ATD 01)")
    assert reading.codes is None and reading.method == "conflict"
    assert "Ain (01)" in reading.warning[0] and "Rhône (69)" in reading.warning[0]


@pytest.mark.parametrize(("name", "kind"), [
    ("Conseil départemental du Morbihan", "local_authority"),
    ("Région Bretagne", "local_authority"),
    ("Syndicat Départemental d'Energies du Calvados (SDEC ENERGIE)", "local_authority"),
    ("Établissement public foncier local d'Alsace (EPFL)", "local_authority"),
    ("Établissement public foncier d'Occitanie (EPF)", "state_agency"),
    ("ADEME", "state_agency"),
    ("Agence Nationale de l'Habitat (ANAH)", "state_agency"),
    ("DDT du Tarn", "state_agency"),
    ("Ministère de la Cohésion des Territoires et des Relations avec les Collectivités Territoriales",
     "state_agency"),
    ("Commission européenne", "eu_programme"),
    ("Fondation du Patrimoine", "foundation"),
    ("Association des Maires du Jura et des Présidents d'intercommunalité (AMJ)", "other"),
    ("Agences d'urbanisme", "other"),
    ("ENEDIS", "other"),
])
def test_funder_type_from_name(name, kind):
    assert funder_type_of(name) == kind


def test_ids_are_stable_slugs():
    assert read_funder("Conseil départemental du Morbihan").funder_id == "at-conseil-departemental-du-morbihan"
    assert call_id_of(AT + "e342-copie-favoriser/", "x") == "e342-copie-favoriser"
    assert call_id_of(None, "Une aide") == call_id_of("", "  une AIDE ") != call_id_of(None, "Autre")
    assert call_id_of(None, "Une aide").startswith("nom-")
    long = slug("Syndicat Intercommunal d’Energies, d'Equipement et d'Environnement de la Nièvre (SIEEEN)")
    expected = "syndicat intercommunal d energies d equipement et d environnement de la nievre sieeen"
    assert len(long) <= 60 and long == slug(expected)


def test_strip_html_removes_tags_and_entities_but_keeps_a_lone_less_than():
    assert strip_html("<p>Aide &amp; <b>soutien</b></p><br/>suite") == "Aide & soutien suite"
    assert strip_html("travaux < 90 k€ HT") == "travaux < 90 k€ HT"
    assert strip_html("  <p> </p> ") is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_slug_is_url_safe_and_bounded(text):
    value = slug(text)
    assert re.fullmatch(r"[a-z0-9-]*", value) and len(value) <= 60
    assert slug(text) == value


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_perimeter_reading_never_fails_and_gives_real_codes(name):
    reading = read_funder_perimeter(name)
    territories = Territories.default()
    assert reading.codes is None or all(c in ("FR", "EU") or c in territories for c in reading.codes)
    assert (reading.codes is None) == (reading.method in ("unknown", "ambiguous", "conflict"))


# --------------------------------------------------------------------------- pipeline


def test_every_row_is_accounted_for(result):
    s = result.summary
    assert s["rows_read"] == 6
    assert s["rows_read"] == s["rows_normalised"] + s["rows_rejected"]
    assert (s["rows_normalised"], s["rows_rejected"]) == (4, 2)
    errors = result.rejects[result.rejects["severity"] == "error"]
    assert sorted(errors["row"].tolist()) == [6, 7]
    reasons = dict(zip(errors["row"], errors["reason_en"], strict=True))
    assert reasons[6] == "missing funder_id"
    assert reasons[7].startswith("duplicate funder_id/call_id") and "row 2" in reasons[7]
    assert s["funders"] == 4 and s["calls"] == 4
    assert s["perimeters"] == {"ambiguous": 1, "authority": 1, "national": 1, "unknown": 1}


def test_canonical_columns_in_schema_order(result):
    assert list(result.frame.columns) == list(FUNDER_FIELDS)


def test_morbihan_aid(result):
    row = result.frame.set_index("funder_id").loc["at-conseil-departemental-du-morbihan"]
    assert row["name"] == "Conseil départemental du Morbihan"
    assert row["funder_type"] == "local_authority"
    assert row["perimeter"] == ("dep:56",)
    assert row["instruments"] == ("engineering_support", "grant")
    assert row["eligible_legal_forms"] == ("commune", "epci", "other_local_authority")
    assert row["call_closes"] == "2023-12-31"
    assert row["call_id"] == "e342-pistes-cyclables"
    assert row["call_title"] == "[AAP/AMI] Développer les pistes cyclables"
    assert row["description"] == "Soutien aux itinéraires cyclables & équipements."
    assert row["url"] == AT + "e342-pistes-cyclables/"
    # the export has no categories: sectors guessed from the name and description, and marked so
    assert row["sectors"] == {"mobility": 1.0} and row["sectors_inferred"] in (True,)


def test_cofunded_aid_belongs_to_its_first_funder(result):
    row = result.frame.set_index("funder_id").loc["at-banque-des-territoires"]
    assert row["name"] == "Banque des Territoires"
    assert row["funder_type"] == "state_agency" and row["perimeter"] == ("FR",)
    assert row["instruments"] == ("loan", "recoverable_advance")
    assert "association" in row["eligible_legal_forms"] and "scic" in row["eligible_legal_forms"]
    assert row["description"] == "Cofinanceurs : ADEME. Travaux de voirie < 90 k€ HT"
    assert row["call_title"] == "Prêt rénovation"


def test_unknowns_stay_unknown_and_are_reported(result):
    frame = result.frame.set_index("funder_id")
    denis = frame.loc["at-commune-de-saint-denis"]
    assert denis["perimeter"] is None and denis["call_closes"] is None
    agences = frame.loc["at-agences-d-urbanisme"]
    assert agences["perimeter"] is None and agences["funder_type"] == "other"
    assert agences["instruments"] is None  # "Autre aide financière" names no instrument
    assert agences["eligible_legal_forms"] is None  # "Particuliers" is no legal form
    assert agences["call_id"] == call_id_of(None, "Conseils en urbanisme")
    warnings = result.rejects[result.rejects["severity"] == "warning"]
    assert sorted(zip(warnings["row"], warnings["column"], strict=True)) == [(4, "Date Clôture"), (4, "Financeurs")]
    assert "ambigu" in warnings.set_index("column").loc["Financeurs", "reason_fr"]


def test_categories_column_gives_sectors_when_present(tmp_path):
    header = HEADER + ["Catégories"]
    rows = [ROWS[0] + ["Mobilité / transports / Mobilité partagée;Énergie"], ROWS[1] + ["Nulle part ailleurs"]]
    result = normalize_aides_territoires(read_table(_export(tmp_path, rows, header)))
    assert result.frame["sectors"].tolist() == [{"energy": 1.0, "mobility": 1.0}, None]
    # stated (or unreadable), not guessed
    assert result.frame["sectors_inferred"].fillna(False).tolist() == [False, False]
    warned = result.rejects[result.rejects["column"] == "Catégories"]
    assert warned["row"].tolist() == [3]


def test_output_reloads_as_the_same_funders(result, tmp_path):
    path = tmp_path / "funders.csv"
    write_table(result.frame, path)
    again = load("funders", path)
    assert again.summary["rows_rejected"] == 0
    pd.testing.assert_frame_equal(again.frame, result.frame)


# --------------------------------------------------------------------------- real file


@pytest.fixture(scope="module")
def real():
    if not AIDES.exists():
        pytest.skip("../shared/data/aides-territoires is absent")
    return normalize_aides_territoires(read_table(AIDES))


@pytest.mark.realdata
def test_real_export_accounting(real):
    s = real.summary
    assert s["rows_read"] == 274 == s["rows_normalised"] + s["rows_rejected"]
    assert s["rows_rejected"] == 0 and s["profiles_out"] == 274
    assert s["funders"] == 89 and s["calls"] == 274
    assert real.frame["call_id"].is_unique


@pytest.mark.realdata
def test_real_export_known_rows(real):
    frame = real.frame
    morbihan = frame[frame["funder_id"] == "at-conseil-departemental-du-morbihan"]
    assert len(morbihan) == 8
    assert all(p == ("dep:56",) for p in morbihan["perimeter"])
    first = morbihan[morbihan["call_title"].str.startswith("Accompagner et développer le maillage")].iloc[0]
    assert {"grant", "engineering_support"} <= set(first["instruments"])
    assert first["eligible_legal_forms"] == ("commune", "epci", "other_local_authority")
    epf = frame[frame["name"] == "Établissement public foncier d'Occitanie (EPF)"]
    assert set(epf["perimeter"]) == {("reg:76",)} and set(epf["funder_type"]) == {"state_agency"}
    assert frame["call_title"].str.startswith("[AAP/AMI] ").sum() == 24
    assert frame["call_closes"].notna().sum() == 22
    assert frame["instruments"].notna().all() and frame["eligible_legal_forms"].notna().all()


@pytest.mark.realdata
def test_real_export_perimeters_are_read_or_left_unknown(real):
    perimeters = real.frame["perimeter"]
    assert perimeters.notna().sum() == 232
    assert real.summary["perimeters"]["unknown"] == 42
    assert real.summary["warnings"] == 0


# --------------------------------------------------------------------------- inferred sectors (issue 16)


def test_infer_sectors_reads_the_vocabulary_in_the_name_and_description():
    assert infer_sectors("Installer des panneaux solaires", None) == (("energy", 1.0),)
    # the name counts twice: mobility (name) ahead of energy (description)
    assert infer_sectors("Développer le covoiturage", "Économies d'énergie") == (("mobility", 1.0), ("energy", 0.5))
    assert infer_sectors("Obtenir un rendez-vous", "Sans objet") == ()
    assert infer_sectors(None, None) == ()


def test_infer_sectors_falls_back_on_word_stems():
    # "énergétique" is no synonym, but shares its stem with "transition énergétique"
    found = dict(infer_sectors("Réaliser des travaux énergétiques", None))
    assert "energy" in found


def test_inferred_sectors_are_marked_and_stated_ones_are_not(tmp_path):
    header = HEADER + ["Catégories"]
    rows = [ROWS[0] + [""], ROWS[1] + ["Énergie"]]
    result = normalize_aides_territoires(read_table(_export(tmp_path, rows, header)))
    frame = result.frame
    assert frame["sectors_inferred"].fillna(False).tolist() == [True, False]
    assert frame["sectors"].tolist()[1] == {"energy": 1.0}


def test_a_link_that_is_no_url_gets_a_hashed_id_not_a_crash():
    # found by benchmarks/fuzz.py (issue 16): urlparse raises ValueError on an unclosed IPv6 bracket
    assert call_id_of("https://[aides-territoires/x", "Une aide").startswith("lien-")
