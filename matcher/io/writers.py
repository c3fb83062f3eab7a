"""Write canonical or ranked tables: CSV, JSON, JSON Lines, XLSX, Parquet.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted run never leaves half a file. Text cells
that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are neutralised with a leading apostrophe in CSV
and XLSX, as OWASP advises. Output is deterministic: same frame, same bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.core.errors import InputError
from matcher.core.missing import is_missing

FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".xlsx": "xlsx", ".parquet": "parquet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The output format: explicit ``fmt`` or the file extension."""
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise InputError(f"cannot tell the output format of '{path}' (known extensions: {known})")
    return FORMATS[suffix]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place on success only."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"folder '{path.parent}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise InputError(f"cannot write '{path}' ({exc.strerror or exc})") from exc
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the mode open() would
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write '{path}' ({exc.strerror or exc})") from exc
        raise


def write_text(text: str, path: str | Path) -> None:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def neutralise(text: str) -> str:
    """Make a text cell inert in a spreadsheet (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text




def _number_text(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def cell_text(value) -> str:
    """One cell as text: tuples joined by ``;``, mappings as ``key:value;…``."""
    if is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _number_text(float(value))
    if isinstance(value, tuple | list | np.ndarray):
        return ";".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}:{cell_text(v)}" for k, v in value.items())
    return str(value)


def json_value(value):
    """One cell as a JSON-ready value (lists and mappings kept)."""
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if isinstance(value, tuple | list | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts, columns in order."""
    columns = list(frame.columns)
    return [{c: json_value(v) for c, v in zip(columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


def csv_field(text: str) -> str:
    # Quote like RFC 4180, and also on a lone CR, which the csv module leaves bare.
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    columns = [frame[c].tolist() for c in frame.columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(csv_field(neutralise(str(c))) for c in frame.columns) + "\n")
        for row in zip(*columns, strict=True):
            handle.write(",".join(csv_field(neutralise(cell_text(v))) for v in row) + "\n")


def _write_json(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(json.dumps(records(frame), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records(frame):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = {}
    for column in frame.columns:
        values = frame[column].tolist()
        sample = next((v for v in values if not is_missing(v)), None)
        if isinstance(sample, tuple | list):
            out[column] = pa.array([None if is_missing(v) else [str(x) for x in v] for v in values],
                                   type=pa.list_(pa.string()))
        elif isinstance(sample, dict):
            out[column] = pa.array([None if is_missing(v) else json.dumps(json_value(v), ensure_ascii=False)
                                    for v in values], type=pa.string())
        else:
            out[column] = pa.Array.from_pandas(frame[column])
    pq.write_table(pa.table(out), path)


def _write_xlsx(frame: pd.DataFrame, path: Path, sheets: dict[str, pd.DataFrame] | None = None,
                money_columns: tuple[str, ...] = ()) -> None:
    write_workbook({"Data": frame, **(sheets or {})}, path, money_columns=money_columns)


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path,
                   money_columns: tuple[str, ...] = ()) -> None:
    """Write several sheets: frozen header, sensible widths, amounts in euros."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title[:31])
        sheet.append(list(frame.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False, name=None):
            cells = []
            for value in row:
                if is_missing(value):
                    cells.append(None)
                elif isinstance(value, bool | np.bool_):
                    cells.append(bool(value))
                elif isinstance(value, int | np.integer | float | np.floating):
                    cells.append(json_value(value))
                else:
                    cells.append(neutralise(cell_text(value)))
            sheet.append(cells)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            lengths = [len(str(column))] + [len(cell_text(v)) for v in frame[column].head(200)]
            sheet.column_dimensions[letter].width = min(60, max(8, max(lengths) + 2))
            if column in money_columns:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = '#,##0 "€"'
    # Fixed document properties keep the bytes identical from run to run.
    import datetime as _dt

    workbook.properties.created = _dt.datetime(2000, 1, 1)
    workbook.properties.modified = _dt.datetime(2000, 1, 1)
    workbook.properties.creator = "coopmatch"
    workbook.save(path)
    make_zip_reproducible(path)


_MODIFIED = re.compile(rb"<dcterms:modified([^>]*)>[^<]*</dcterms:modified>")


def make_zip_reproducible(path: Path) -> None:
    """Rewrite an XLSX zip with fixed entry times and a fixed 'modified' date.

    openpyxl stamps ``dcterms:modified`` with the time of saving whatever the
    workbook says, and zip entries carry the time too: without this the same
    workbook would differ from second to second.
    """
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(rb"<dcterms:modified\1>2000-01-01T00:00:00Z</dcterms:modified>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None,
                money_columns: tuple[str, ...] = ()) -> Path:
    """Write ``frame`` to ``path`` in ``fmt`` (default: from the extension), atomically."""
    path = Path(path)
    fmt = format_for(path, fmt)
    writer = {"csv": _write_csv, "json": _write_json, "jsonl": _write_jsonl,
              "parquet": _write_parquet}.get(fmt)
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            _write_xlsx(frame, tmp, money_columns=money_columns)
        elif writer is None:
            raise InputError(f"unknown output format '{fmt}'")
        else:
            writer(frame, tmp)
    return path
