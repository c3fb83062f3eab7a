"""The ranking as a workbook for fund staff: Ranking, Explanations, Rejected inputs, Parameters.

Each sheet has a bold frozen header, an auto-filter and sensible column
widths; amounts are numbers shown in euros, scores and shares are numbers
with a fixed format, deadlines are dates. Text cells that a spreadsheet would
run as a formula are neutralised (:func:`matcher.io.writers.neutralise`), and the
bytes are the same from run to run (fixed document properties, fixed zip
entry times).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.engine import explain as ex
from matcher.io.writers import atomic_path, cell_text, json_value, make_zip_reproducible, neutralise
from matcher.report.html import Report, parameter_rows

SHEETS = ("Ranking", "Explanations", "Rejected inputs", "Parameters")
EURO = '#,##0 "€"'
SCORE = "0.000"
SHARE = "0%"
DATE = {"fr": "dd/mm/yyyy", "en": "d mmm yyyy"}
EXPLANATION_COLUMNS = ["project_id", "funder_id", "call_id", "criterion", "score", "weight", "contribution"]
_MONEY = ("amount_requested", "total_budget", "secured_funding", "ticket_min", "ticket_max", "call_envelope")


def ranking_frame(report: Report) -> pd.DataFrame:
    """The ranked lines with the amount requested beside the project's name."""
    frame = report.ranked.copy()
    amounts = [report.amount_requested(str(p)) for p in frame["project_id"]]
    at = list(frame.columns).index("project_name") + 1 if "project_name" in frame.columns else len(frame.columns)
    frame.insert(at, "amount_requested", pd.Series([np.nan if a is None else a for a in amounts],
                                                   dtype=float, index=frame.index))
    if "call_closes" in frame.columns:
        frame["call_closes"] = [ex.parse_iso_date(v) for v in frame["call_closes"]]
    return frame


def explanation_frame(report: Report) -> pd.DataFrame:
    """One row per ranked pair and criterion: score × weight = contribution (None when unknown)."""
    rows = []
    for explanation in report.explanations:
        for line in explanation.criteria:
            rows.append({"project_id": explanation.project_id, "funder_id": explanation.funder_id,
                         "call_id": explanation.call_id, "criterion": line.name,
                         "score": line.score, "weight": line.weight,
                         "contribution": None if line.contribution is None else float(line.contribution)})
    return pd.DataFrame(rows, columns=EXPLANATION_COLUMNS)


def parameters_frame(report: Report) -> pd.DataFrame:
    """The run's parameters as ``parameter``, ``value`` rows (in the report's language)."""
    return pd.DataFrame(parameter_rows(report.info, report.matcher), columns=["parameter", "value"])


def report_sheets(report: Report) -> dict[str, pd.DataFrame]:
    """The four sheets, in order."""
    return dict(zip(SHEETS, (ranking_frame(report), explanation_frame(report), report.rejects_frame(),
                             parameters_frame(report)), strict=True))


def _number_format(column: str, lang: str) -> str | None:
    if column in _MONEY:
        return EURO
    if column in ("coverage", "unknown_weight", "p_award"):
        return SHARE
    if column in ("score", "weight", "contribution") or column.startswith(("score_", "contribution_")):
        return SCORE
    if column == "call_closes":
        return DATE[lang]
    return None


def _cell(value):
    """A cell value: numbers and dates as such, every text neutralised."""
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float | np.floating):
        return json_value(value)
    if isinstance(value, dt.date):
        return value
    return neutralise(cell_text(value))


def _width(values, header: str) -> float:
    lengths = [len(header)] + [len(cell_text(v)) for v in values[:200]]
    return min(60, max(9, max(lengths) + 2))


def write_sheets(sheets: dict[str, pd.DataFrame], path: str | Path, lang: str = "fr") -> Path:
    """Write ``sheets`` as one workbook at ``path``, atomically and byte-for-byte reproducibly."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    workbook.remove(workbook.active)
    header_fill = PatternFill("solid", fgColor="E8EEF4")
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title[:31])
        sheet.append([neutralise(str(c)) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(vertical="center")
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(v) for v in row])
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            values = frame[column].tolist()
            fmt = _number_format(str(column), lang)
            width = _width(values, str(column))
            if fmt == EURO:
                width = max(width, 14)
            sheet.column_dimensions[letter].width = width
            if fmt:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = fmt
    return save_workbook(workbook, path)


def save_workbook(workbook, path: str | Path) -> Path:
    """Save an openpyxl ``workbook`` at ``path`` atomically, with the same bytes from run to run
    (fixed document properties, fixed zip entry dates)."""
    workbook.properties.created = dt.datetime(2000, 1, 1)
    workbook.properties.modified = dt.datetime(2000, 1, 1)
    workbook.properties.creator = "coopmatch"
    with atomic_path(path) as tmp:
        workbook.save(tmp)
        make_zip_reproducible(tmp)
    return Path(path)


def write_report_workbook(report: Report, path: str | Path) -> Path:
    """Write the report's workbook (sheets :data:`SHEETS`) to ``path``."""
    return write_sheets(report_sheets(report), path, report.lang)

