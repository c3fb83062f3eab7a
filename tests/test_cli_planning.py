"""``coopmatch plan`` and ``coopmatch allocate`` on the built-in sample: outputs that add up, exact errors."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from matcher.cli import cli
from matcher.io.loading import SAMPLE_PROJECTS

DATE = ["--date", "2026-12-01"]


def run(*args):
    return CliRunner().invoke(cli, [*args])


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_plan_csv_balances_against_the_budget_with_public_share_under_the_cap():
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), *DATE, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = rows(result.stdout)
    assert list(lines[0])[:8] == ["plan", "kind", "funder_id", "call_id", "amount", "share_of_budget", "public",
                                  "eligibility"]
    for plan in {r["plan"] for r in lines}:
        mine = [r for r in lines if r["plan"] == plan]
        assert sum(float(r["amount"]) for r in mine) == pytest.approx(3_200_000)
        public = sum(float(r["amount"]) for r in mine if r["public"] == "true")
        assert public <= 0.8 * 3_200_000
    assert len({r["plan"] for r in lines}) == 3  # the best and 2 alternatives


def test_plan_of_a_project_without_budget_says_what_is_missing():
    result = run("plan", "--project", "P016", str(SAMPLE_PROJECTS), *DATE)
    assert result.exit_code == 1
    assert result.output.startswith("Error: le projet P016 n'a pas de budget total (total_budget)")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--public-cap", "1.5", "une part est entre 0 et 1, reçu 1.5"),
    ("--self-funding", "abc", "une part entre 0 et 1 était attendue, reçu 'abc'"),
])
def test_plan_refuses_bad_shares(option, value, message):
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), option, value)
    assert result.exit_code == 2
    assert message in result.output


def allocate(*extra):
    return run("allocate", "--funder", "F-FDD-TERRES", "--projects", str(SAMPLE_PROJECTS), *DATE, *extra)


def test_allocate_csv_keeps_within_the_envelope_and_the_shares():
    result = allocate("--envelope", "200000", "--max-share", "region:84=0.3", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = rows(result.stdout)
    assert list(lines[0])[:12] == ["alternative", "project_id", "amount", "requested", "score", "eligibility",
                                   "region", "department", "sector", "legal_form", "ess", "new_recipient"]
    best = [r for r in lines if r["alternative"] == "1"]
    assert sum(float(r["amount"]) for r in best) <= 200_000
    assert sum(float(r["amount"]) for r in best if "84" in r["region"].split("|")) <= 60_000


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--envelope", "0"], 2, "l'enveloppe doit être un montant positif, reçu 0"),
    (["--envelope", "-5"], 2, "l'enveloppe doit être un montant positif, reçu -5"),
    (["--envelope", "1000", "--max-share", "region:84=1.2"], 2,
     "la part doit être entre 0 et 1 (une part de l'enveloppe), reçu 1.2"),
    (["--envelope", "1000", "--max-share", "colour:red=0.2"], 2, "dimension inconnue « colour »"),
    (["--envelope", "1000", "--max-share", "region:Atlantide=0.2"], 1, "Error: région inconnue « Atlantide »"),
    (["--envelope", "500000", "--min-share", "department:93=0.2"], 1,
     "Error: les contraintes ne peuvent pas toutes tenir : min-share department:93=0.2 demande 100\u202f000 € mais "
     "les dossiers éligibles de department 93 demandent 0 €"),
    (["--envelope", "500000", "--min-share", "department:93=0.2", "--lang", "en"], 1,
     "Error: the constraints cannot all hold: min-share department:93=0.2 needs 100\u202f000 € but the eligible "
     "applications from department 93 ask 0 €"),
    (["--envelope", "-5", "--lang", "en"], 2, "the envelope must be a positive amount, got -5"),
])
def test_allocate_bad_input_exits(args, code, message):
    result = allocate(*args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_commands_have_help_with_examples():
    for name in ("plan", "allocate"):
        result = run(name, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output


HOSTILE = '=HYPERLINK("http://evil")<script>alert(1)</script>'


@pytest.fixture
def hostile_funders(tmp_path):
    """The sample funders, each name prefixed with a formula and a script."""
    from matcher.io.loading import SAMPLE_FUNDERS

    text = SAMPLE_FUNDERS.read_text(encoding="utf-8")
    path = tmp_path / "financeurs.yaml"
    path.write_text(text.replace("\n  name: ", "\n  name: " + HOSTILE.replace('"', "'") + " "), encoding="utf-8")
    return path


def test_plan_xlsx_is_two_columns_that_balance_one_sheet_per_plan(tmp_path, hostile_funders):
    from openpyxl import load_workbook

    out = tmp_path / "plan.xlsx"
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), "--funders", str(hostile_funders), *DATE,
                 "--format", "xlsx", "-o", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["Plan 1", "Plan 2", "Plan 3"]
    for sheet in book.worksheets:
        assert sheet["A4"].value == "DÉPENSES" and sheet["D4"].value == "RESSOURCES"
        assert sheet["B5"].value == 3_200_000
        rows = list(sheet.iter_rows(min_row=5, values_only=True))
        total = next(r for r in rows if r[0] == "TOTAL DES DÉPENSES")
        assert total[1] == 3_200_000 and total[3] == "TOTAL DES RESSOURCES"
        assert total[6] == pytest.approx(3_200_000)
        resources = [r for r in rows[: rows.index(total)] if r[6] is not None]
        assert sum(r[6] for r in resources) == pytest.approx(total[6])
        labels = [r[3] for r in resources]
        assert "Financements acquis" in labels
        funders = [r[3] for r in resources if r[3].startswith("'")]
        assert funders and all(f.startswith("'=HYPERLINK(") for f in funders)  # neutralised, not a formula
        assert not any(isinstance(r[3], str) and r[3].startswith("=") for r in rows)
    again = tmp_path / "again.xlsx"
    run("plan", "--project", "P001", str(SAMPLE_PROJECTS), "--funders", str(hostile_funders), *DATE,
        "--format", "xlsx", "-o", str(again))
    assert again.read_bytes() == out.read_bytes()


def test_plan_html_escapes_names_and_shows_the_totals(hostile_funders):
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), "--funders", str(hostile_funders), *DATE,
                 "--format", "html")
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Plan de financement prévisionnel — P001" in page
    assert page.count("Total des ressources") == 3 and "3\u202f200\u202f000\u00a0€" in page
    assert "Financements acquis" in page and "1\u202f150\u202f000\u00a0€" in page


def test_allocate_html_is_the_committee_pack_escaped(tmp_path):
    text = SAMPLE_PROJECTS.read_text(encoding="utf-8").splitlines(keepends=True)
    hostile = [text[0]]
    for line in text[1:]:  # each project's name (the second field) prefixed with a script
        pid, name, rest = line.split(";", 2)
        hostile.append(f"{pid};<script>x</script>{name};{rest}")
    projects = tmp_path / "projets.csv"
    projects.write_text("".join(hostile), encoding="utf-8")
    result = run("allocate", "--funder", "F-FDD-TERRES", "--projects", str(projects), *DATE, "--envelope", "200000",
                 "--max-share", "region:84=0.3", "--format", "html")
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    for head in ("Projets retenus", "Contraintes", "Juste sous la barre", "Équilibre du portefeuille",
                 "Alternatives"):
        assert f"<h2>{head}</h2>" in page
    assert "max-share region:84=0.3" in page and "200\u202f000\u00a0€" in page
    csv_out = allocate("--envelope", "200000", "--max-share", "region:84=0.3", "--format", "csv")
    best = [r for r in rows(csv_out.stdout) if r["alternative"] == "1"]
    for r in best:
        assert f"<td>{r['project_id']}</td>" in page


def test_allocate_xlsx_has_the_pack_sheets(tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "pack.xlsx"
    result = allocate("--envelope", "200000", "--max-share", "region:84=0.3", "--format", "xlsx", "-o", str(out),
                      "--lang", "en")
    assert result.exit_code == 0, result.output
    names = load_workbook(out).sheetnames
    assert names[:5] == ["Funded", "Constraints", "Below the line", "Balance", "Alternatives"]


@pytest.mark.parametrize(("lang", "expected"), [
    ("fr", ["Plan de financement prévisionnel — P001", "Financements acquis", "Total = budget ; aides publiques"]),
    ("en", ["Provisional financing plan — P001", "Secured funding", "Total = budget ; public aid"]),
])
def test_plan_table_speaks_the_language(lang, expected):
    result = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), *DATE, "--lang", lang)
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.stdout


@pytest.mark.parametrize(("lang", "message"), [
    ("fr", "Error: le projet P016 n'a pas de budget total (total_budget)"),
    ("en", "Error: project P016 has no total budget (total_budget)"),
])
def test_plan_errors_speak_the_language(lang, message):
    result = run("plan", "--project", "P016", str(SAMPLE_PROJECTS), *DATE, "--lang", lang)
    assert result.exit_code == 1
    assert result.output.startswith(message)


def test_allocate_table_speaks_french_by_default_and_english_on_demand():
    fr = allocate("--envelope", "200000", "--max-share", "region:84=0.3")
    en = allocate("--envelope", "200000", "--max-share", "region:84=0.3", "--lang", "en")
    assert fr.exit_code == en.exit_code == 0
    assert "== Projets retenus" in fr.stdout and "Enveloppe 200\u202f000\u00a0€" in fr.stdout
    assert "== Funded" in en.stdout and "Envelope €200,000" in en.stdout


def _sample_without_instruments(tmp_path):
    """The sample projects with no "Instruments recherchés" column."""
    with open(SAMPLE_PROJECTS, encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    at = table[0].index("Instruments recherchés")
    path = tmp_path / "projets.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows([r[:at] + r[at + 1:] for r in table])
    return str(path)


def test_plan_and_allocate_say_once_that_no_project_states_its_instruments(tmp_path):
    """Issue 16: like the ranking commands, plan and allocate set the instruments rule aside (one note on
    stderr) when the projects file has no such column, instead of a reason on every line."""
    path = _sample_without_instruments(tmp_path)
    plan = run("plan", "--project", "P001", path, *DATE, "--format", "csv")
    assert plan.exit_code == 0, plan.output
    assert plan.stderr.count("Aucun projet n'indique les instruments recherchés") == 1
    assert not any("Instruments recherchés" in (r.get("reasons") or "") for r in rows(plan.stdout))
    alloc = run("allocate", "--funder", "F-FDD-TERRES", "--projects", path, *DATE, "--envelope", "200000",
                "--format", "csv")
    assert alloc.exit_code == 0, alloc.output
    assert alloc.stderr.count("Aucun projet n'indique les instruments recherchés") == 1
    with_column = run("plan", "--project", "P001", str(SAMPLE_PROJECTS), *DATE, "--format", "csv")
    assert "Aucun projet n'indique" not in with_column.stderr
