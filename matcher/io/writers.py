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


#: Rows per Parquet row group: what a reader holds at once, and what ``coopmatch batch`` holds
#: while it joins its parts (:func:`matcher.engine.chunks.assemble`). pyarrow's default, 1 Mi
#: rows, made the joining of a ranked file 0.7 GB larger than the matching (300k x 10k).
PARQUET_ROW_GROUP = 128 * 1024


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
    pq.write_table(pa.table(out), path, row_group_size=PARQUET_ROW_GROUP)


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


# --------------------------------------------------------------------------- fast CSV

#: Non-whole floats in this range of magnitudes are formatted by pyarrow (shortest round-trip digits
#: in positional notation, the text of ``repr``); outside it ``repr`` writes an exponent that
#: pyarrow spells otherwise, so those are formatted by ``repr``.
ARROW_FLOAT_RANGE = (1e-4, 1e9)


class CsvWriter:
    """Write frames one after another as one CSV file, with the bytes of :func:`write_table`.

    Each column of a chunk of rows becomes one pyarrow string array (floats formatted by
    pyarrow in :data:`ARROW_FLOAT_RANGE`, each distinct text cell quoted and neutralised
    once), the columns are joined with pyarrow's ``binary_join_element_wise`` and the
    resulting buffer is written as it is: no Python loop over the rows. The file is written
    under a temporary name beside ``path`` and renamed into place when the ``with`` block
    ends without an error (removed otherwise), so an interrupted run leaves no half-written
    file. The header is that of the first frame written.

    Examples
    --------
    >>> with CsvWriter("out/ranked.csv") as writer:   # doctest: +SKIP
    ...     for frame in frames:
    ...         writer.write(frame)
    """

    def __init__(self, path, chunk: int = 50_000):
        self.path = path
        self.chunk = chunk
        self.caches: dict[str, dict] = {}
        self.header: list[str] | None = None
        self._atomic = None
        self._handle = None

    def __enter__(self) -> CsvWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._handle = tmp.open("wb")
        return self

    def __exit__(self, *exc) -> bool:
        try:
            self._handle.close()
        finally:
            self._atomic.__exit__(*exc)
        return False

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (its columns must be those of the first frame)."""
        import pyarrow.compute as pc

        columns = [str(c) for c in frame.columns]
        if self.header is None:
            self.header = columns
            self._handle.write((",".join(csv_field(neutralise(c)) for c in columns) + "\n").encode("utf-8"))
        elif columns != self.header:
            raise ValueError("every frame written to one CSV file needs the same columns")
        if not columns:
            self._handle.write(b"\n" * len(frame))
            return
        for start in range(0, len(frame), self.chunk):
            part = frame.iloc[start:start + self.chunk]
            cells = [self._cells(name, part[name]) for name in frame.columns]
            rows = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
            lines = pc.binary_join_element_wise(rows, "", "\n")
            self._handle.write(_string_bytes(lines))

    def _cells(self, name, series: pd.Series):
        import pyarrow as pa

        if series.dtype.kind == "f":
            return float_cells(series.to_numpy(dtype=np.float64))
        if series.dtype.kind in "iu":
            return pa.array(series.to_numpy()).cast(pa.string())
        if series.dtype == object:
            try:  # text and missing values only: each distinct text quoted and neutralised once, by pyarrow
                import pyarrow.compute as pc

                encoded = pa.array(series.to_numpy(), type=pa.string(), from_pandas=True).dictionary_encode()
                taken = pc.take(text_cells(encoded.dictionary), encoded.indices)
                return pc.fill_null(taken, pa.scalar("", pa.string()))
            except (pa.ArrowException, TypeError, ValueError):
                pass  # other values: one by one
        cache = self.caches.setdefault(name, {})
        out = []
        for v in series.tolist():
            key = (type(v), v)  # the type too: True == 1 == 1.0 but they are written differently
            try:
                hit = cache.get(key)
            except TypeError:  # unhashable: no cache
                out.append(csv_field(neutralise(cell_text(v))))
                continue
            if hit is None:
                hit = csv_field(neutralise(cell_text(v)))
                if len(cache) < 100_000:
                    cache[key] = hit
            out.append(hit)
        return pa.array(out, type=pa.string())


def float_cells(values: np.ndarray):
    """Float cells as :func:`cell_text` writes them (neutralised), a pyarrow string array
    (``""`` for missing values).

    Whole numbers below 1e15 without a decimal part, others as ``repr`` (pyarrow writes the
    same text in :data:`ARROW_FLOAT_RANGE`, and formats those; ``repr`` the rest); a minus
    sign is the only formula start a number can have, so negative numbers get the quote of
    :func:`neutralise`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        whole = (magnitude < 1e15) & (values == np.trunc(values))
        arrow = ~whole & (magnitude >= ARROW_FLOAT_RANGE[0]) & (magnitude < ARROW_FLOAT_RANGE[1])
    missing = np.isnan(values)
    rest = ~whole & ~arrow & ~missing
    texts = pc.cast(pa.array(np.where(arrow, values, 0.0)), pa.string())
    if whole.any():
        ints = pc.cast(pa.array(np.where(whole, values, 0.0).astype(np.int64)), pa.string())
        texts = pc.if_else(pa.array(whole), ints, texts)
    if rest.any():
        texts = pc.replace_with_mask(texts, pa.array(rest), pa.array([repr(v) for v in values[rest].tolist()],
                                                                     type=pa.string()))
    negative = values < 0
    if negative.any():
        texts = pc.if_else(pa.array(negative), pc.binary_join_element_wise("'", texts, ""), texts)
    if missing.any():
        texts = pc.if_else(pa.array(missing), pa.scalar("", pa.string()), texts)
    return texts


def float_texts(values: np.ndarray):
    """:func:`float_cells` of ``values`` and ``""`` last."""
    import pyarrow as pa

    return pa.concat_arrays([float_cells(values), pa.array([""], type=pa.string())])


def text_cells(array):
    """Text cells as :func:`csv_field` (:func:`neutralise` (text)) writes them, ``""`` for missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    formula = pc.match_substring_regex(array, "^[=+\\-@\t\r]")
    array = pc.if_else(formula, pc.binary_join_element_wise("'", array, ""), array)
    quoted = pc.match_substring_regex(array, '[,"\n\r]')
    array = pc.if_else(quoted, pc.binary_join_element_wise('"', pc.replace_substring(array, '"', '""'), '"', ""),
                       array)
    return pc.fill_null(array, pa.scalar("", pa.string()))


def _string_bytes(array) -> memoryview:
    """The UTF-8 bytes of a pyarrow string array with no missing value, one after another."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return memoryview(b"")
    offsets_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets, data = array.buffers()
    bounds = np.frombuffer(offsets, dtype=offsets_type)[array.offset: array.offset + len(array) + 1]
    return memoryview(data)[int(bounds[0]): int(bounds[-1])]


def write_csv_fast(frame: pd.DataFrame, path, chunk: int = 50_000) -> None:
    """Write ``frame`` as :func:`write_table` writes CSV (same bytes, atomically), fast on
    millions of rows, in memory that does not grow with the frame (:class:`CsvWriter`)."""
    with CsvWriter(path, chunk) as writer:
        writer.write(frame)
