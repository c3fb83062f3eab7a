"""The XLSX report: sheets, frozen headers, number formats, formula injection, determinism."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_report_html import DATE, FUNDER, write_hostile_projects

from matcher.cli import cli
from matcher.io.loading import SAMPLE_PROJECTS
from matcher.report.xlsx import EURO, SHEETS, write_sheets

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def shortlist(projects, out, *extra):
    run("shortlist", "--funder", FUNDER, "--projects", str(projects), "--date", DATE,
        "-o", str(out), *extra)
    return out


@pytest.fixture
def hostile_book(tmp_path):
    projects = write_hostile_projects(tmp_path)
    path = shortlist(projects, tmp_path / "r.xlsx", "--format", "xlsx", "--top", "40", "--include-ineligible")
    return load_workbook(path)


def test_sheets_frozen_headers_and_formats(tmp_path):
    book = load_workbook(shortlist(SAMPLE_PROJECTS, tmp_path / "r.xlsx", "--format", "xlsx"))
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
    ranking = book["Ranking"]
    header = [c.value for c in ranking[1]]
    amount = ranking.cell(row=2, column=header.index("amount_requested") + 1)
    assert isinstance(amount.value, int | float) and amount.number_format == EURO
    score = ranking.cell(row=2, column=header.index("score") + 1)
    assert isinstance(score.value, float) and score.number_format == "0.000"
    closes = ranking.cell(row=2, column=header.index("call_closes") + 1)
    assert closes.value.date() == dt.date(2027, 1, 15)
    assert ranking.column_dimensions["A"].width >= 9
    assert ranking.max_row == 11


def test_explanations_one_row_per_pair_and_criterion(tmp_path):
    book = load_workbook(shortlist(SAMPLE_PROJECTS, tmp_path / "r.xlsx", "--format", "xlsx"))
    rows = list(book["Explanations"].iter_rows(values_only=True))
    assert rows[0] == ("project_id", "funder_id", "call_id", "criterion", "score", "weight", "contribution")
    ranking = list(book["Ranking"].iter_rows(values_only=True))
    header = ranking[0]
    scores = {r[header.index("project_id")]: r[header.index("score")] for r in ranking[1:]}
    criteria = {r[3] for r in rows[1:]}
    assert len(rows) - 1 == len(scores) * len(criteria)
    for pid, score in scores.items():
        total = sum(r[6] or 0 for r in rows[1:] if r[0] == pid)
        assert total == pytest.approx(score)


def test_parameters_sheet_in_the_run_language(tmp_path):
    book = load_workbook(shortlist(SAMPLE_PROJECTS, tmp_path / "r.xlsx", "--format", "xlsx", "--lang", "en"))
    params = dict(book["Parameters"].iter_rows(min_row=2, values_only=True))
    assert params["Run date"] == "1 December 2026"
    assert params["Funder"] == FUNDER


def test_no_cell_is_a_formula(hostile_book):
    texts = []
    for sheet in hostile_book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_START), (sheet.title, cell.coordinate)
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in texts
    assert "'+1+1 tiers-lieu" in texts and "'@SUM(A1:A2) cantine" in texts and "'-2-2 covoiturage" in texts
    rejected = list(hostile_book["Rejected inputs"].iter_rows(values_only=True))
    assert any(r[4] == "'=1+2<i>" for r in rejected[1:])  # the hostile value, kept as inert text


def test_csv_output_is_neutralised_too(tmp_path):
    projects = write_hostile_projects(tmp_path)
    out = shortlist(projects, tmp_path / "r.csv", "--format", "csv", "--top", "40")
    text = out.read_text(encoding="utf-8")
    assert "'+1+1 tiers-lieu" in text and "'@SUM(A1:A2) cantine" in text
    assert ",=" not in text and ",+" not in text and ",@" not in text


def test_same_run_same_bytes(tmp_path):
    projects = write_hostile_projects(tmp_path)
    first = shortlist(projects, tmp_path / "a.xlsx", "--format", "xlsx").read_bytes()
    second = shortlist(projects, tmp_path / "b.xlsx", "--format", "xlsx").read_bytes()
    assert first == second


def test_every_formula_start_is_neutralised(tmp_path):
    values = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", "a=b"]
    frame = pd.DataFrame({"text": values, "amount_requested": [1.5, -2.0, 3, 4, 5, 6, 7, 8]})
    book = load_workbook(write_sheets({"Sheet": frame}, tmp_path / "s.xlsx"))
    cells = list(book["Sheet"].iter_rows(min_row=2, values_only=True))
    # XML reads a lone CR back as LF; what matters is the apostrophe in front
    assert [c[0].replace("\n", "\r") for c in cells] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx",
                                                          "ok", "a=b"]
    assert cells[1][1] == -2  # numbers stay numbers, negative ones too
