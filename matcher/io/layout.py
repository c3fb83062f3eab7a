"""The layout of a spreadsheet as people make it: title rows, merged headers, totals, sheets.

An export rarely starts with its header. :func:`find_header` looks at the first
rows of a sheet (or a CSV file) and finds the header below one or more title
rows ("Export du 12/11/2026 – Appel à projets…"); those rows are left out and
reported as title rows (they count as rows read, and as rejected, so that rows
read = normalised + rejected still holds). The header is moved down only when
the rows above it are clearly titles: at most a third as many filled cells as
the table is wide (two in a table of five columns or more), and a header below that looks like one (text cells, as wide
as the data, naming known columns when a kind is given). Otherwise the first
row is the header, as always.

Merged cells (XLSX) are spread: each cell of a merged range takes the range's
value. A header made of two rows (a merged group label above the column
labels: "Montant (€)" over "demandé" and "total") becomes one row of joined
labels ("Montant (€) demandé").

At the bottom, :func:`find_totals` recognises totals rows ("Total", "Sous-total",
"TOTAL GÉNÉRAL", or a row of numbers that are the sums of their columns): they
are left out and reported, as are blank rows trailing the table.

:func:`best_sheet` picks the sheet of a workbook that looks like the table
(the most known column names in its header, then the most rows); the other
sheets are listed in the report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matcher.core.text import fold
from matcher.normalize.problems import ERROR, FILE, Problem, problem

#: Rows looked at to find the header.
SCAN_ROWS = 30
#: At most this many title rows above a header.
MAX_TITLE_ROWS = 10
#: At most this many totals rows at the bottom of a table.
MAX_TOTALS_ROWS = 5

_TOTALS_LABEL = re.compile(
    r"^(sous total|sous totaux|total|totaux|grand total|total general|totaux generaux|somme|sum|"
    r"sums|cumul|ensemble|overall total|grand totals?)( .{0,40})?$"
)
_CELL_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


# --------------------------------------------------------------------------- cells


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def filled(cells: Sequence) -> int:
    return sum(not blank(v) for v in cells)


def _number(value) -> float | None:
    """A cell as a number (native numbers, or text an amount parser reads), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if not isinstance(value, str):
        return None
    from matcher.normalize.parsers import parse_amount
    from matcher.normalize.problems import ParseError

    try:
        number = parse_amount(value)
    except (ParseError, ValueError, OverflowError):
        return None
    return number


def _texty(value) -> bool:
    """A cell a header is made of: text that is not a number or a date."""
    if not isinstance(value, str) or blank(value):
        return False
    return _number(value) is None and not re.fullmatch(r"[\d\s/.:-]+", value.strip())


def _text_share(cells: Sequence) -> float:
    values = [v for v in cells if not blank(v)]
    return sum(_texty(v) for v in values) / len(values) if values else 0.0


# --------------------------------------------------------------------------- header row


def known_headers(cells: Sequence, kind: str | None) -> int:
    """How many cells of a row name a known column of ``kind`` (any kind when None)."""
    from matcher.normalize.headers import is_known_header

    return sum(1 for v in cells if isinstance(v, str) and not blank(v) and is_known_header(v, kind))


def find_header(grid: Sequence[Sequence], kind: str | None = None) -> int:
    """Index in ``grid`` (non-blank rows, top first) of the header row: 0 unless title rows
    stand above it (see the module docstring)."""
    n = min(len(grid), SCAN_ROWS)
    if n < 2:
        return 0
    widths = [filled(r) for r in grid[:n]]
    for i in range(min(MAX_TITLE_ROWS, n - 1) + 1):
        width = max(widths[i + 1: i + 6] or [widths[i]])
        if i > 0 and _header_like(grid[i], widths[i], width) and _better_than_below(grid, i, n, kind):
            return i
        if i == 0 and widths[0] >= 2 and widths[0] >= 0.5 * width:
            return 0
        if width < 2 or widths[i] > _title_width(width):
            return 0  # neither a header nor a title: the first row is the header, as always
    return 0


def _title_width(width: int) -> int:
    """The most filled cells a title row may have in a table ``width`` cells wide
    ("Extrait le | 12/11/2026" above a table of five columns or more)."""
    return max(1 if width < 5 else 2, width // 3)


def _header_like(cells: Sequence, width_here: int, data_width: int) -> bool:
    return width_here >= 2 and width_here >= 0.5 * data_width and _text_share(cells) >= 0.7


def _better_than_below(grid: Sequence[Sequence], i: int, n: int, kind: str | None) -> bool:
    """Row ``i`` is a header rather than a first data row: it names known columns, or it is
    all text above rows that are not."""
    cells = grid[i]
    known = known_headers(cells, kind)
    if known >= max(1, math.ceil(0.3 * filled(cells))):
        return True
    below = [_text_share(r) for r in grid[i + 1: min(n, i + 6)]]
    return _text_share(cells) >= 0.9 and bool(below) and sum(below) / len(below) <= 0.7


def title_problems(rows: Sequence[tuple[int, Sequence]]) -> list[Problem]:
    """One ``row.title`` error per title row ``(row number, cells)`` left out above the header."""
    out = []
    for number, cells in rows:
        text = " | ".join(str(v).strip() for v in cells if not blank(v))
        out.append(problem("row.title", number, None, text[:200], ERROR))
    return out


# --------------------------------------------------------------------------- merged cells


def _column_number(letters: bytes) -> int:
    n = 0
    for char in letters:
        n = n * 26 + (char - 64)
    return n


def merged_ranges(sheet_xml: bytes) -> list[tuple[int, int, int, int]]:
    """``(first row, first column, last row, last column)`` (1-based) of each merged range of
    a worksheet's XML."""
    if b"mergeCell" not in sheet_xml:
        return []
    out = []
    for c1, r1, c2, r2 in _CELL_REF.findall(sheet_xml):
        out.append((int(r1), _column_number(c1), int(r2), _column_number(c2)))
    return out


def spread_merges(grid: list[list], numbers: Sequence[int],
                  merges: Sequence[tuple[int, int, int, int]]) -> int:
    """Give every cell of a merged range the range's value (in place); returns how many
    ranges were spread."""
    if not merges:
        return 0
    index = {number: i for i, number in enumerate(numbers)}
    spread = 0
    for r1, c1, r2, c2 in merges:
        top = index.get(r1)
        if top is None or c1 - 1 >= len(grid[top]):
            continue
        value = grid[top][c1 - 1]
        if blank(value):
            continue
        for r in range(r1, r2 + 1):
            i = index.get(r)
            if i is None:
                continue
            row = grid[i]
            if len(row) < c2:
                row.extend([None] * (c2 - len(row)))
            for c in range(c1, c2 + 1):
                if blank(row[c - 1]):
                    row[c - 1] = value
        spread += 1
    return spread


def two_row_header(grid: Sequence[Sequence], numbers: Sequence[int], h: int,
                   merges: Sequence[tuple[int, int, int, int]], kind: str | None) -> list | None:
    """The joined labels of a header on rows ``h`` and ``h + 1`` when row ``h`` holds merged
    group labels over the column labels of row ``h + 1``; else None."""
    if h + 2 >= len(grid) or not merges:
        return None
    top, below = numbers[h], numbers[h + 1]
    if below != top + 1:
        return None
    groups = [(c1, c2) for r1, c1, r2, c2 in merges if r1 == top and r2 == top and c2 > c1]
    if not groups:
        return None
    second = grid[h + 1]
    if filled(second) < 2 or _text_share(second) < 0.8:
        return None
    vertical = {c for r1, c1, r2, c2 in merges if r1 == top and r2 >= below for c in range(c1, c2 + 1)}
    first = grid[h]
    width = max(len(first), len(second))
    names = []
    for j in range(width):
        parent = first[j] if j < len(first) else None
        child = second[j] if j < len(second) else None
        if (j + 1) in vertical or blank(child) or child == parent:
            names.append(parent if not blank(parent) else child)
        elif blank(parent):
            names.append(child)
        else:
            names.append(f"{str(parent).strip()} {str(child).strip()}")
    return names


# --------------------------------------------------------------------------- totals and trailing rows


def _label(cells: Sequence) -> str | None:
    for value in cells:
        if not blank(value):
            return fold(str(value)) if isinstance(value, str) else None
    return None


def find_totals(records: Sequence[Sequence]) -> list[int]:
    """Positions (ascending) of the totals rows that end ``records``.

    A totals row is labelled ("Total", "Sous-total", "TOTAL GÉNÉRAL"…) in its
    first filled cell, holds nothing else but numbers, and is sparser than the
    rows above or holds a column's sum; or, unlabelled, holds only numbers that
    are the sums of their columns above.
    """
    found: list[int] = []
    end = len(records)
    while end > 1 and len(found) < MAX_TOTALS_ROWS:
        position = end - 1
        if not _is_totals(records, position, end_of_data=min(found) if found else len(records)):
            break
        found.append(position)
        end = position
    return sorted(found)


def _is_totals(records: Sequence[Sequence], position: int, end_of_data: int) -> bool:
    cells = records[position]
    values = [(j, v) for j, v in enumerate(cells) if not blank(v)]
    if not values:
        return False
    label = _label(cells)
    labelled = label is not None and bool(_TOTALS_LABEL.match(label))
    others = values[1:] if labelled else values
    numbers = [(j, _number(v)) for j, v in others]
    if any(n is None for _, n in numbers):
        return False
    above = [records[i] for i in range(position) if i < end_of_data]
    if not above:
        return False
    sums = sum(1 for j, n in numbers if _is_column_sum(above, j, n))
    if labelled:
        typical = sorted(filled(r) for r in above[-20:])[len(above[-20:]) // 2]
        return sums > 0 or len(values) <= 0.6 * typical or not numbers
    # Unlabelled: every number the sum of its column, and not a data row repeated (0 is the sum of 0 and 0).
    repeated = any(list(r) == list(cells) for r in above)
    nonzero = any(n != 0 for _, n in numbers)
    return bool(numbers) and sums == len(numbers) and len(above) >= 2 and nonzero and not repeated


def _is_column_sum(above: Sequence[Sequence], j: int, value: float) -> bool:
    column = [_number(r[j]) for r in above if j < len(r) and not blank(r[j])]
    column = [n for n in column if n is not None]
    if len(column) < 2:
        return False
    total = math.fsum(column)
    return abs(total - value) <= max(0.01, 1e-6 * abs(total))


def totals_problems(rows: Sequence[tuple[int, Sequence]]) -> list[Problem]:
    """One ``row.totals`` error per totals row ``(row number, cells)`` left out."""
    out = []
    for number, cells in rows:
        text = " | ".join(str(v).strip() for v in cells if not blank(v))
        out.append(problem("row.totals", number, None, text[:200], ERROR))
    return out


def trailing_blank_problem(first: int, count: int) -> Problem:
    """The notice for ``count`` blank rows from row ``first`` to the end of the sheet."""
    return problem("row.trailing_blank", first, None, None, FILE, count=count, first=first,
                   last=first + count - 1)


# --------------------------------------------------------------------------- CSV


@dataclass
class CsvPreamble:
    """What stands above a CSV header: title lines (blanked in the text) and their reports."""

    text: str
    problems: list[Problem]
    titles: int


def csv_preamble(text: str, delimiter: str | None, detect: Callable[[str, str | None], str],
                 preferred: str | None, kind: str | None) -> tuple[CsvPreamble, str]:
    """Find title lines above a CSV header; blank them (line numbers are kept) and report them.

    Returns the preamble and the delimiter (detected below the titles when not given).
    """
    import csv
    import io

    lines = text[:65_536].split("\n")
    tail = text[65_536:]
    sep = re.fullmatch(r"sep=(.)\r?", lines[0]) if lines else None
    if sep:  # Excel's "sep=;" first line: it names the delimiter and is no row
        delimiter = delimiter or sep.group(1)
        lines[0] = ""
        text = "\n".join(lines) + tail
    records: list[tuple[int, list[str]]] = []  # (line number, fields) of the first non-blank lines
    for number, line in enumerate(lines[:SCAN_ROWS * 2], start=1):
        if line.count('"') % 2:
            break  # a quoted cell spans lines: no title search past it
        if line.strip(" \t\r,;|\""):
            records.append((number, line))
        if len(records) >= SCAN_ROWS:
            break
    if delimiter is None:
        # Title lines hold no delimiter (or only padding ones): detect below them.
        start = 0
        while start < min(len(records), MAX_TITLE_ROWS) and _thin(records[start][1]):
            start += 1
        if 0 < start < len(records):
            offset = sum(len(line) + 1 for line in lines[: records[start][0] - 1])
            delimiter = detect(text[offset:], preferred)
        else:
            delimiter = detect(text, preferred)
    if len(records) < 2 or not _thin(records[0][1], delimiter):
        return CsvPreamble(text, [], 0), delimiter
    grid = []
    for _, line in records:
        try:
            grid.append(next(csv.reader(io.StringIO(line), delimiter=delimiter)))
        except (csv.Error, StopIteration):
            grid.append([line])
    h = find_header([[c if c.strip() else None for c in row] for row in grid], kind)
    if h == 0:
        return CsvPreamble(text, [], 0), delimiter
    titles = [(records[i][0], grid[i]) for i in range(h)]
    blanked = lines[:]
    for number, _ in titles:
        blanked[number - 1] = "\r" if blanked[number - 1].endswith("\r") else ""
    return CsvPreamble("\n".join(blanked) + tail, title_problems(titles), len(titles)), delimiter


def _thin(line: str, delimiter: str | None = None) -> bool:
    """A line with at most one filled field under the delimiter (under every candidate when None)."""
    candidates = (delimiter,) if delimiter else (",", ";", "\t", "|")
    for candidate in candidates:
        parts = [p for p in line.split(candidate) if p.strip(" \t\r\"")]
        if len(parts) > 1:
            return False
    return True


def csv_trailing_blank(text: str, delimiter: str) -> tuple[int, int] | None:
    """``(first line, count)`` of the lines at the end holding only delimiters (a spreadsheet's
    blank rows); None when there are none."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()  # the final newline, and truly empty lines: nothing to report
    count = 0
    for line in reversed(lines):
        body = line.strip(" \t\r\"")
        if body and not body.strip(delimiter + " \t\""):
            count += 1
            continue
        break
    if not count:
        return None
    return len(lines) - count + 1, count


# --------------------------------------------------------------------------- sheets


def best_sheet(workbook, kind: str | None) -> tuple[int, list[tuple[str, int]]]:
    """The index of the sheet that looks like the table, and ``(name, known columns)`` per sheet.

    The best sheet has the most known column names in its header row, then the
    most filled rows among the first ones looked at; on a tie, the first sheet.
    """
    scored = []
    for index, sheet in enumerate(workbook.worksheets):
        grid = []
        try:
            for values in sheet.iter_rows(max_row=SCAN_ROWS, values_only=True):
                cells = [None if v == "" else v for v in values]
                if filled(cells):
                    grid.append(cells)
        except Exception:  # noqa: BLE001 - a broken sheet is not the table
            grid = []
        if not grid:
            scored.append((index, sheet.title, 0, 0))
            continue
        h = find_header(grid, kind)
        scored.append((index, sheet.title, known_headers(grid[h], kind), len(grid) - h - 1))
    best = max(scored, key=lambda s: (s[2], s[3] > 0, -s[0]))
    if best[2] == 0:
        best = scored[0]
    return best[0], [(title, known) for _, title, known, _ in scored]


def sheet_problem(chosen: str, sheets: Sequence[tuple[str, int]], given: bool) -> Problem:
    """The notice naming the sheet read and the others."""
    others = [name for name, _ in sheets if name != chosen]
    shown = ", ".join(f"'{n}'" for n in others)
    shown_fr = ", ".join(f"« {n} »" for n in others)
    code = "sheet.given" if given else "sheet.chosen"
    known = dict(sheets).get(chosen, 0)
    return problem(code, None, None, chosen, FILE, sheet=chosen, shown_en=shown, shown_fr=shown_fr,
                   known=known)
