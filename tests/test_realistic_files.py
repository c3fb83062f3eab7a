"""Twenty files as people send them, read without --map: title rows, merged headers, several
sheets, French and English header variants, split places, totals rows, Excel serial dates.

Every file is written here (XLSX with openpyxl, CSV by hand), normalised with no mapping,
and every field of every row is checked; so is the accounting (rows read = normalised +
rejected, title and totals rows counted and reported as such) and the explanation of every
column.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.io.loading import load

SAINT_DENIS, CREST, LYON = "commune:93066", "commune:26108", "commune:69123"
BOURG, PARIS = "commune:01053", "commune:75056"
SIRETS = ["44306184100039", "41816609600069", "78467169500087"]


# --------------------------------------------------------------------------- writing files


def xlsx(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None,
         cached: dict[str, dict[str, object]] | None = None) -> Path:
    """Write a workbook: sheet name -> rows (lists of cells, None for empty); ``merges`` per
    sheet; ``cached`` formula values per sheet (cell -> value), as a spreadsheet saves them."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        for ref in (merges or {}).get(name, []):
            sheet.merge_cells(ref)
    workbook.save(path)
    if cached:
        _save_cached_values(path, list(sheets), cached)
    return path


def _save_cached_values(path: Path, names: list[str], cached: dict[str, dict[str, object]]) -> None:
    """Put the computed value beside each formula, as Excel or LibreOffice would on saving."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    for index, name in enumerate(names, start=1):
        member = f"xl/worksheets/sheet{index}.xml"
        xml = members[member].decode("utf-8")
        for ref, value in cached.get(name, {}).items():
            xml, count = re.subn(rf'(<c r="{ref}"[^>]*>)<f>(.*?)</f><v\s*/>', rf"\g<1><f>\g<2></f><v>{value}</v>", xml)
            assert count == 1, ref
        members[member] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def csv_file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- checking results


def rows_of(result, *fields) -> list[tuple]:
    frame = result.frame
    out = []
    for record in frame[list(fields)].to_dict("records"):
        out.append(tuple(_plain(record[f]) for f in fields))
    return out


def _plain(value):
    if isinstance(value, float) and value != value:
        return None
    if value is not None and type(value).__name__ in ("NAType",):
        return None
    if hasattr(value, "item") and not isinstance(value, tuple):
        return value.item()
    return value


def accounted(result, read: int, normalised: int, left_out: int = 0, rejected: int | None = None) -> None:
    s = result.summary
    assert s["rows_read"] == s["rows_normalised"] + s["rows_rejected"]
    assert (s["rows_read"], s["rows_normalised"]) == (read, normalised)
    assert s.get("rows_left_out", 0) == left_out
    assert s["rows_rejected"] == (left_out if rejected is None else rejected)
    assert result.ok == (s["rows_rejected"] == s.get("rows_left_out", 0))


def explained(result) -> dict[str, tuple[str | None, str]]:
    """Column -> (field, method) for every column of the file, all explained in both languages."""
    out = {}
    for column, choice in result.mapping.explained.items():
        assert choice.why_en and choice.why_fr, column
        out[column] = (choice.field, choice.method)
    return out


def codes(result) -> list[str]:
    return [p.code for p in result.problems]


def left_rows(result, code: str) -> list[int]:
    return [p.row for p in result.problems if p.code == code]


# --------------------------------------------------------------------------- the twenty files


def test_01_xlsx_title_rows_above_a_french_header(tmp_path):
    path = xlsx(tmp_path / "export.xlsx", {"Feuil1": [
        ["Export du 12/11/2026 – Appel à projets Transition juste 2026"],
        ["Fondation Solidarités Rurales"],
        [],
        ["N° de demande", "Nom du projet", "Structure porteuse", "Montant sollicité (€)",
         "Coût total du projet TTC*", "Date de démarrage"],
        ["D-001", "Ferme des Possibles", "SCIC Les Possibles", 45000, 120000, dt.datetime(2026, 3, 1)],
        ["D-002", "Énergies du Val", "Énergies Citoyennes", 30000.5, 80000, dt.datetime(2026, 9, 15)],
    ]})
    result = load("projects", path)
    accounted(result, read=4, normalised=2, left_out=2)
    assert left_rows(result, "row.title") == [1, 2]
    assert rows_of(result, "project_id", "name", "carrier_name", "amount_requested", "total_budget",
                   "start_date") == [
        ("D-001", "Ferme des Possibles", "SCIC Les Possibles", 45000.0, 120000.0, "2026-03-01"),
        ("D-002", "Énergies du Val", "Énergies Citoyennes", 30000.5, 80000.0, "2026-09-15")]
    methods = explained(result)
    assert methods["Coût total du projet TTC*"] == ("total_budget", "synonym")
    assert "TTC" in result.mapping.explained["Coût total du projet TTC*"].why_en.upper()


def test_02_xlsx_merged_two_row_header_and_a_formula_totals_row(tmp_path):
    path = xlsx(tmp_path / "dossiers.xlsx", {"Dossiers": [
        ["Identifiant", "Porteur", None, "Montant (€)", None, "Commune"],
        [None, "Nom", "SIRET", "demandé", "total du projet", None],
        ["P1", "Ferme des Possibles", SIRETS[0], 45000, 120000, "Crest"],
        ["P2", "Énergies Citoyennes", SIRETS[1], 30000, 80000, "Saint-Denis (93)"],
        ["P3", "La Fabrique", SIRETS[2], 15000, 50000, "Lyon"],
        ["Total", None, None, "=SUM(D3:D5)", "=SUM(E3:E5)", None],
    ]}, merges={"Dossiers": ["A1:A2", "B1:C1", "D1:E1", "F1:F2"]},
        cached={"Dossiers": {"D6": 90000, "E6": 250000}})
    result = load("projects", path)
    accounted(result, read=4, normalised=3, left_out=1)
    assert left_rows(result, "row.totals") == [6]
    assert rows_of(result, "project_id", "carrier_name", "siret", "siren", "amount_requested",
                   "total_budget", "territory") == [
        ("P1", "Ferme des Possibles", SIRETS[0], SIRETS[0][:9], 45000.0, 120000.0, (CREST,)),
        ("P2", "Énergies Citoyennes", SIRETS[1], SIRETS[1][:9], 30000.0, 80000.0, (SAINT_DENIS,)),
        ("P3", "La Fabrique", SIRETS[2], SIRETS[2][:9], 15000.0, 50000.0, (LYON,))]
    methods = explained(result)
    assert methods["Montant (€) demandé"] == ("amount_requested", "synonym")
    assert methods["Montant (€) total du projet"] == ("total_budget", "synonym")
    assert methods["Porteur SIRET"][0] == "siret"


def test_03_several_sheets_the_table_is_found_and_the_others_listed(tmp_path):
    path = xlsx(tmp_path / "classeur.xlsx", {
        "Lisez-moi": [["Ce classeur contient les candidatures"], ["Version 3"]],
        "Budgets": [["Poste", "Montant"], ["Salaires", 1000], ["Matériel", 500]],
        "Candidatures": [["Numéro de dossier", "Intitulé du projet", "Forme juridique", "Aide demandée"],
                         ["C1", "Jardin partagé", "Association loi 1901", "12 000 €"],
                         ["C2", "Recyclerie", "SCOP", "8 500"]],
    })
    result = load("projects", path)
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "name", "legal_form", "amount_requested") == [
        ("C1", "Jardin partagé", "association", 12000.0), ("C2", "Recyclerie", "scop", 8500.0)]
    (note,) = [p for p in result.problems if p.code == "sheet.chosen"]
    assert note.value == "Candidatures" and "'Lisez-moi', 'Budgets'" in note.reason_en


def test_04_sheet_chosen_by_name_or_number(tmp_path):
    sheets = {"Candidatures 2025": [["ID projet", "Nom du projet"], ["A1", "Ancien"]],
              "Candidatures 2026": [["ID projet", "Nom du projet"], ["B1", "Nouveau"], ["B2", "Autre"]]}
    path = xlsx(tmp_path / "deux.xlsx", sheets)
    assert rows_of(load("projects", path, sheet="Candidatures 2026"), "project_id", "name") == [
        ("B1", "Nouveau"), ("B2", "Autre")]
    assert rows_of(load("projects", path, sheet=0), "project_id", "name") == [("A1", "Ancien")]
    runner = CliRunner()
    out = runner.invoke(cli, ["validate", "projects", str(path), "--sheet", "2", "--lang", "en"])
    assert out.exit_code == 0 and out.output.startswith("2 rows read: 2 normalised")
    assert "sheet 'Candidatures 2026' read (--sheet); other sheets not read: 'Candidatures 2025'" in out.output


def test_05_xlsx_dates_typed_as_serial_numbers(tmp_path):
    path = xlsx(tmp_path / "dates.xlsx", {"Projets": [
        ["Réf. dossier", "Titre", "Date de début (jj/mm/aaaa)", "Durée (en mois)"],
        ["R1", "Atelier vélo", 46082, 24],   # 2026-03-01 typed as a number
        ["R2", "Cantine", 45658.0, "18"],    # 2025-01-01
    ]})
    result = load("projects", path)
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "name", "start_date", "duration_months") == [
        ("R1", "Atelier vélo", "2026-03-01", 24), ("R2", "Cantine", "2025-01-01", 18)]
    assert explained(result)["Date de début (jj/mm/aaaa)"] == ("start_date", "synonym")


def test_06_xlsx_place_split_over_postcode_commune_department(tmp_path):
    path = xlsx(tmp_path / "lieux.xlsx", {"Projets": [
        ["Identifiant projet", "Code postal", "Commune", "Département"],
        ["L1", 93200, "Saint-Denis", "Seine-Saint-Denis"],
        ["L2", 1000, "Bourg-en-Bresse", "Ain"],       # the leading zero lost by the spreadsheet
        ["L3", None, "Saint-Denis", 974],            # La Réunion, settled by the department
        ["L4", 93200, None, None],                   # the postcode alone, of one commune
        ["L5", 75001, "Lyon", None],                 # the parts disagree: reported, not guessed
        ["L6", 26400, None, None],                   # a postcode of several communes: reported
    ]})
    result = load("projects", path)
    accounted(result, read=6, normalised=6)
    assert rows_of(result, "project_id", "territory") == [
        ("L1", (SAINT_DENIS,)), ("L2", (BOURG,)), ("L3", ("commune:97411",)), ("L4", (SAINT_DENIS,)),
        ("L5", None), ("L6", None)]
    (ambiguous,) = [p for p in result.problems if p.code == "place.parts_ambiguous"]
    assert ambiguous.row == 7 and "Crest" in ambiguous.reason_en
    assert result.mapping.place_parts == {"Code postal": "postcode", "Commune": "commune", "Département": "department"}
    (disagree,) = [p for p in result.problems if p.code == "place.parts_disagree"]
    assert disagree.row == 6 and disagree.column == "Code postal + Commune + Département"
    assert "header.place_combined" in codes(result)


def test_07_xlsx_english_headers_and_an_uppercase_total(tmp_path):
    path = xlsx(tmp_path / "applications.xlsx", {"Applications": [
        ["Application ID", "Project title", "Applicant organisation", "Legal status",
         "Amount requested (EUR)", "Total project cost", "Start date", "Postcode", "City"],
        ["APP-1", "Community energy", "Energy Coop", "SCIC", 20000, 60000, dt.date(2026, 1, 5), "69001", "Lyon"],
        ["APP-2", "Repair café", "Repair Asso", "Association", 5000, 9000, dt.date(2026, 2, 1), "75001", "Paris"],
        ["TOTAL", None, None, None, 25000, 69000, None, None, None],
    ]})
    result = load("projects", path)
    accounted(result, read=3, normalised=2, left_out=1)
    assert rows_of(result, "project_id", "name", "carrier_name", "legal_form", "amount_requested",
                   "total_budget", "start_date", "territory") == [
        ("APP-1", "Community energy", "Energy Coop", "scic", 20000.0, 60000.0, "2026-01-05", (LYON,)),
        ("APP-2", "Repair café", "Repair Asso", "association", 5000.0, 9000.0, "2026-02-01", (PARIS,))]
    assert explained(result)["Amount requested (EUR)"] == ("amount_requested", "exact")
    assert "'EUR' set aside" in result.mapping.explained["Amount requested (EUR)"].why_en


def test_08_xlsx_footnote_marks_and_trailing_blank_rows(tmp_path):
    rows = [["Référence du projet", "Montant sollicité*", "Budget prévisionnel (1)", "Secteurs**"],
            ["F1", "10 000", "40 000", "Alimentation"],
            ["F2", "2 500,50", "5 000", "Mobilité; Énergie"]]
    path = xlsx(tmp_path / "notes.xlsx", {"Feuille": rows + [[None, None], [" "], [None]]})
    workbook = openpyxl.load_workbook(path)
    workbook["Feuille"]["D7"].number_format = "0.00"  # formatted, empty rows at the end
    workbook["Feuille"]["A6"] = " "
    workbook.save(path)
    result = load("projects", path)
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "amount_requested", "total_budget", "sectors") == [
        ("F1", 10000.0, 40000.0, ("food_agriculture",)), ("F2", 2500.5, 5000.0, ("energy", "mobility"))]
    (blank,) = [p for p in result.problems if p.code == "row.trailing_blank"]
    assert blank.row == 4 and "4-7" in blank.reason_en


def test_09_abbreviated_headers(tmp_path):
    path = xlsx(tmp_path / "abrev.xlsx", {"Suivi": [
        ["Réf. dossier", "Mt sollicité (en €)", "Nb partenaires", "Dépt", "N° SIRET", "Nom struct."],
        ["A-1", 12000, 3, "69", SIRETS[0], "Collectif A"],
        ["A-2", 8000, 0, "2A", SIRETS[1], "Collectif B"],
    ]})
    result = load("projects", path)
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "amount_requested", "partners_count", "territory", "siret",
                   "carrier_name") == [
        ("A-1", 12000.0, 3, ("dep:69",), SIRETS[0], "Collectif A"),
        ("A-2", 8000.0, 0, ("dep:2A",), SIRETS[1], "Collectif B")]
    assert "'mt' = montant" in result.mapping.explained["Mt sollicité (en €)"].why_en


def test_10_columns_read_from_their_values(tmp_path):
    path = xlsx(tmp_path / "valeurs.xlsx", {"Base": [
        ["Dossier", "Immatriculation", "Code géo", "Libellé"],
        ["V1", SIRETS[0], "26108", "Coopérative A"],
        ["V2", SIRETS[1], "69123", "Coopérative B"],
        ["V3", SIRETS[2], "93066", "Coopérative C"],
    ]})
    result = load("projects", path)
    accounted(result, read=3, normalised=3)
    assert rows_of(result, "project_id", "siret", "territory", "name") == [
        ("V1", SIRETS[0], (CREST,), "Coopérative A"), ("V2", SIRETS[1], (LYON,), "Coopérative B"),
        ("V3", SIRETS[2], (SAINT_DENIS,), "Coopérative C")]
    methods = explained(result)
    assert methods["Immatriculation"] == ("siret", "values") and methods["Code géo"] == ("territory", "values")
    assert codes(result).count("header.from_values") == 2


def test_11_csv_cp1252_title_line_french_amounts_and_a_totals_row(tmp_path):
    text = ("Export du 12/11/2026 – AAP Économie circulaire\r\n\r\n"
            "Identifiant;Intitulé;Porteur;Montant demandé;Budget total\r\n"
            "E1;Ressourcerie;Asso Réemploi;1 200,50 €;10 000 €\r\n"
            "E2;Compost;SCIC Terre;3 000 €;7 500 €\r\n"
            "Total;;;4 200,50 €;17 500 €\r\n")
    result = load("projects", csv_file(tmp_path / "export.csv", text, "cp1252"))
    accounted(result, read=4, normalised=2, left_out=2)
    assert left_rows(result, "row.title") == [1] and left_rows(result, "row.totals") == [6]
    assert rows_of(result, "project_id", "name", "carrier_name", "amount_requested", "total_budget") == [
        ("E1", "Ressourcerie", "Asso Réemploi", 1200.5, 10000.0), ("E2", "Compost", "SCIC Terre", 3000.0, 7500.0)]


def test_12_csv_sep_line_and_trailing_delimiter_rows(tmp_path):
    text = ("sep=;\nCode dossier;Titre du projet;Stade;Date de début\n"
            "K1;Épicerie solidaire;Amorçage;01/03/2026\nK2;Garage solidaire;Développement;15/09/2026\n;;;\n;;;\n")
    result = load("projects", csv_file(tmp_path / "sep.csv", text))
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "name", "stage", "start_date") == [
        ("K1", "Épicerie solidaire", "emergence", "2026-03-01"),
        ("K2", "Garage solidaire", "development", "2026-09-15")]
    (blank,) = [p for p in result.problems if p.code == "row.trailing_blank"]
    assert blank.row == 5


def test_13_csv_english_headers_with_serial_dates_as_text(tmp_path):
    text = ("Project ID,Project name,Requested amount,Start date,Duration (months)\n"
            "G1,Food hub,15000,46082,12\nG2,Bike workshop,4000,45658,6\n")
    result = load("projects", csv_file(tmp_path / "serial.csv", text))
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "name", "amount_requested", "start_date", "duration_months") == [
        ("G1", "Food hub", 15000.0, "2026-03-01", 12), ("G2", "Bike workshop", 4000.0, "2025-01-01", 6)]


def test_14_csv_split_place_with_short_postcode_and_department_names(tmp_path):
    text = ("N° dossier;CP;Ville;Département\nS1;1000;Bourg-en-Bresse;Ain\n"
            "S2;;Saint-Denis;La Réunion\nS3;93200;;\n")
    result = load("projects", csv_file(tmp_path / "cp.csv", text))
    accounted(result, read=3, normalised=3)
    assert rows_of(result, "project_id", "territory") == [
        ("S1", (BOURG,)), ("S2", ("commune:97411",)), ("S3", (SAINT_DENIS,))]


def test_15_csv_title_lines_padded_with_delimiters(tmp_path):
    text = ("Appel à projets 2026;;;;\nExtrait le;12/11/2026;;;\n"
            "Numéro de candidature;Nom de l'association;N° RNA;Aide sollicitée;Territoire\n"
            "T1;Les Amis du Four;W691234567;5000;Lyon\nT2;Vélo Cité;W751234567;2500;Paris\n")
    result = load("projects", csv_file(tmp_path / "titres.csv", text))
    accounted(result, read=4, normalised=2, left_out=2)
    assert rows_of(result, "project_id", "carrier_name", "rna", "amount_requested", "territory") == [
        ("T1", "Les Amis du Four", "W691234567", 5000.0, (LYON,)),
        ("T2", "Vélo Cité", "W751234567", 2500.0, (PARIS,))]


def test_16_csv_unlabelled_totals_row_of_sums(tmp_path):
    text = ("Identifiant,Montant demandé,Budget total\nU1,100,1000\nU2,250,2000\nU3,650,3000\n,1000,6000\n")
    result = load("projects", csv_file(tmp_path / "sommes.csv", text))
    accounted(result, read=4, normalised=3, left_out=1)
    assert rows_of(result, "project_id", "amount_requested", "total_budget") == [
        ("U1", 100.0, 1000.0), ("U2", 250.0, 2000.0), ("U3", 650.0, 3000.0)]


def test_17_xlsx_funders_with_a_title_row_and_units(tmp_path):
    path = xlsx(tmp_path / "financeurs.xlsx", {"Financeurs": [
        ["Annuaire des financeurs – mise à jour novembre 2026"],
        ["Code financeur", "Nom du financeur", "Plafond de l'aide (€)", "Taux d'intervention max (%)",
         "Date limite de dépôt", "Périmètre", "Site internet"],
        ["FIN-1", "Fondation A", 50000, 0.8, dt.datetime(2026, 12, 31), "Auvergne-Rhône-Alpes", "https://a.example"],
        ["FIN-2", "Fonds B", "30 000 €", "50 %", "31/01/2027", "France", "https://b.example"],
    ]})
    result = load("funders", path)
    accounted(result, read=3, normalised=2, left_out=1)
    assert rows_of(result, "funder_id", "name", "ticket_max", "max_share_of_budget", "call_closes",
                   "perimeter", "url") == [
        ("FIN-1", "Fondation A", 50000.0, 0.8, "2026-12-31", ("reg:84",), "https://a.example"),
        ("FIN-2", "Fonds B", 30000.0, 0.5, "2027-01-31", ("FR",), "https://b.example")]
    assert explained(result)["Taux d'intervention max (%)"][0] == "max_share_of_budget"


def test_18_csv_history_with_units_and_a_totals_row(tmp_path):
    text = ("Collectivité attributrice;Identifiant financeur;SIRET du bénéficiaire;Nom du bénéficiaire;"
            "Montant voté (€);Exercice;Objet\n"
            "Ville de Crest;21260108700011;44306184100039;Ferme des Possibles;5 000;2025;Jardins\n"
            "Ville de Crest;21260108700011;41816609600069;Énergies Citoyennes;3 000;2025;Panneaux\n"
            "TOTAL;;;;8 000;;\n")
    result = load("history", csv_file(tmp_path / "subventions.csv", text))
    accounted(result, read=3, normalised=2, left_out=1)
    assert rows_of(result, "funder_name", "funder_id", "recipient_id", "recipient_name", "amount_awarded",
                   "year", "purpose", "status") == [
        ("Ville de Crest", "21260108700011", SIRETS[0], "Ferme des Possibles", 5000.0, 2025, "Jardins", "granted"),
        ("Ville de Crest", "21260108700011", SIRETS[1], "Énergies Citoyennes", 3000.0, 2025, "Panneaux", "granted")]


def test_19_headers_guessed_from_their_words_are_reported_with_the_runner_up(tmp_path):
    path = xlsx(tmp_path / "formulaire.xlsx", {"Réponses": [
        ["Numéro de la demande", "Montant de la subvention sollicitée auprès du fonds",
         "Nom de la structure porteuse (raison sociale)", "Date de démarrage prévue (jj/mm/aaaa)"],
        ["W1", 9000, "Atelier Commun", "01/06/2026"],
        ["W2", 4000, "Café Associatif", "15/10/2026"],
    ]})
    result = load("projects", path)
    accounted(result, read=2, normalised=2)
    assert rows_of(result, "project_id", "amount_requested", "carrier_name", "start_date") == [
        ("W1", 9000.0, "Atelier Commun", "2026-06-01"), ("W2", 4000.0, "Café Associatif", "2026-10-15")]
    guessed = [p for p in result.problems if p.code == "header.guessed"]
    assert {p.column for p in guessed} == {"Montant de la subvention sollicitée auprès du fonds",
                                           "Nom de la structure porteuse (raison sociale)",
                                           "Date de démarrage prévue (jj/mm/aaaa)"}
    assert all("runner-up" in p.reason_en and "suivant" in p.reason_fr for p in guessed)
    choice = result.mapping.explained["Nom de la structure porteuse (raison sociale)"]
    assert choice.method == "words" and choice.alternatives  # the runner-ups are given


def test_20_everything_at_once_then_the_saved_mapping_reads_the_next_file(tmp_path):
    sheets = {
        "Aide": [["Remplir l'onglet Dossiers"]],
        "Dossiers": [
            ["Tableau de suivi des candidatures"],
            ["Export du 12/11/2026"],
            ["Réf. dossier", "Porteur", None, "Lieu de réalisation", None, "Montant (€)", None, "Date de début"],
            [None, "Nom", "Forme juridique", "Code postal", "Commune", "sollicité", "total", None],
            ["Z1", "Ferme A", "SCIC", 26400, "Crest", 10000, 30000, 46082],
            ["Z2", "Asso B", "Association", 93200, "Saint-Denis", 5000, 9000, 46113],
            ["Total", None, None, None, None, "=SUM(F5:F6)", "=SUM(G5:G6)", None],
        ]}
    merges = {"Dossiers": ["A3:A4", "B3:C3", "D3:E3", "F3:G3", "H3:H4"]}
    cached = {"Dossiers": {"F7": 15000, "G7": 39000}}
    first = xlsx(tmp_path / "suivi.xlsx", sheets, merges, cached)
    runner = CliRunner()
    saved = tmp_path / "mapping.yaml"
    out = runner.invoke(cli, ["normalize", "projects", str(first), "-o", str(tmp_path / "out.csv"),
                              "--explain-mapping", "--save-mapping", str(saved), "--lang", "en"])
    assert out.exit_code == 0, out.output
    assert "'Réf. dossier' → project_id: synonym" in out.output
    assert "'Porteur Nom' → carrier_name" in out.output
    result = load("projects", first)
    accounted(result, read=5, normalised=2, left_out=3)
    expected = [("Z1", "Ferme A", "scic", (CREST,), 10000.0, 30000.0, "2026-03-01"),
                ("Z2", "Asso B", "association", (SAINT_DENIS,), 5000.0, 9000.0, "2026-04-01")]
    fields = ("project_id", "carrier_name", "legal_form", "territory", "amount_requested", "total_budget",
              "start_date")
    assert rows_of(result, *fields) == expected
    text = saved.read_text(encoding="utf-8")
    assert "territory:\n- Lieu de réalisation Code postal\n- Lieu de réalisation Commune\n" in text
    # The next file of that shape needs no guessing: every column is forced.
    second = xlsx(tmp_path / "suivi2.xlsx", sheets, merges, cached)
    out = runner.invoke(cli, ["validate", "projects", str(second), "--mapping-file", str(saved),
                              "--explain-mapping", "--lang", "en"])
    assert out.exit_code == 0, out.output
    assert out.output.count(": forced") == 7 and "guessed" not in out.output


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_explain_mapping_lists_every_column_with_alternatives(tmp_path, lang):
    path = csv_file(tmp_path / "p.csv", "Identifiant;Montant HT;Commentaires internes\nP1;12;x\n")
    out = CliRunner().invoke(cli, ["validate", "projects", str(path), "--explain-mapping", "--lang", lang])
    assert out.exit_code == 0
    lines = [line for line in out.output.splitlines() if line.startswith("  '")]
    assert [line.split("'")[1] for line in lines] == ["Identifiant", "Montant HT", "Commentaires internes"]
    assert ("(not read)" if lang == "en" else "(non lue)") in lines[1]
    assert ("alternatives:" if lang == "en" else "autres :") in lines[1]
