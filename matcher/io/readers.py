"""Read profile files into raw tables: CSV, XLSX, JSON, JSON Lines, YAML, gzipped or not.

A :class:`RawTable` keeps every cell as it was read (strings for CSV, native
values for the other formats, ``None`` for an empty cell), the source row
number of every record, and a :class:`~matcher.normalize.problems.Problem` for every
record that could not be kept. Nothing is interpreted here: header mapping
(:mod:`matcher.normalize.headers`) and value parsing (the pipelines) come later.

Decisions worth knowing:

- CSV row numbers are physical line numbers (the header is usually line 1);
  a record with a quoted multi-line cell is numbered by its first line.
  JSON, JSON Lines and YAML rows are 1-based record numbers.
- Blank lines (and lines holding only delimiters, quotes and spaces) are
  skipped silently and not counted as records.
- A row with too many fields is rejected (``error``) unless the extra fields
  are all empty (trailing delimiters, a frequent spreadsheet artefact): those
  are dropped silently. A row with too few fields is padded and gets a
  ``warning``.
- Header names are stripped. A blank header becomes ``column_<n>`` with a
  ``file`` problem, unless its whole column is empty (then it is dropped). A
  repeated header is kept and renamed ``name.2``, ``name.3``... with a
  ``file`` problem: no data is lost, and the header mapping reports the copy.
- Only empty strings become ``None``; whitespace-only cells are kept as read
  (the normalisers strip values).

CSV speed: a string scan finds where each record starts and which are blank,
pyarrow's multi-threaded reader parses the cells, and the csv module reads the
few ragged rows. Files the scan cannot vouch for (a quote inside an unquoted
cell, a lone carriage return, an unbalanced quote) are read entirely with the
csv module: slower, never wrong.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import gc
import io
import json
import re
import zlib
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice, repeat
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from matcher.core.errors import InputError
from matcher.io import layout, limits
from matcher.normalize.problems import ERROR, FILE, WARNING, Problem, problem
from matcher.normalize.schema import SCHEMAS

#: File extension (lower case) -> format. Any of them may end in ``.gz``.
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".parquet": "parquet",
}
_EXTENSION_HINTS = {
    ".xls": "save it as .xlsx",
    ".xlsm": "save it as .xlsx",
    ".ods": "save it as .xlsx or .csv",
}
#: Candidate CSV delimiters, in order of preference when everything else is equal.
DELIMITERS = (",", ";", "\t", "|")
#: Keys under which a JSON/YAML object holds its list of records.
CONTAINER_KEYS = ("grants", "projects", "funders", "history", "data", "records", "items")
#: Nested values under these keys are never flattened (a funder's calls), nor
#: are canonical fields (``just_transition``, ``sectors``...).
KEEP_NESTED = frozenset({"calls"}) | frozenset(name for fields in SCHEMAS.values() for name in fields)

_SAMPLE_CHARS = 65_536
_SAMPLE_RECORDS = 20
_MAX_HEADER_CHARS = 4_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BLANK_CHARS = " \t\r\x0b\x0c\""
_QUOTED = re.compile(r'"[^"]*"')


@dataclass
class RawTable:
    """A file as read, before any interpretation.

    Attributes
    ----------
    frame:
        One row per kept record; every column has dtype ``object``. CSV cells
        are ``str``; XLSX, JSON and YAML cells keep their native type (``str``,
        ``int``, ``float``, ``bool``, ``list``, ``dict``, ``datetime``/``date``).
        Empty cells are ``None``.
    rows:
        Source row number of each frame row (see the module docstring).
    problems:
        Rows that could not be kept (``error``), rows kept with a defect
        (``warning``), and header defects (``file``).
    records_read:
        ``len(frame)`` plus the rejected records: every record is accounted for.
    source, format, encoding, delimiter:
        Where the table came from and how it was read (``encoding`` and
        ``delimiter`` are ``None`` where they do not apply).
    sources:
        Source file of each frame row (all equal for one file; differs when
        :func:`read_profiles` reads a folder).
    problem_sources:
        Source file of each problem, parallel to ``problems``.
    """

    frame: pd.DataFrame
    rows: list[int]
    problems: list[Problem]
    records_read: int
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sources: list[str] = field(default_factory=list)
    problem_sources: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- entry points


def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    kind: str | None = None,
) -> RawTable:
    """Read one profile file, choosing the reader by extension.

    Parameters
    ----------
    path:
        ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.json``, ``.jsonl``/``.ndjson``,
        ``.yaml``/``.yml``, each optionally followed by ``.gz``.
    sheet:
        XLSX only: sheet name or 0-based index (default: the sheet that looks
        like the table, see :func:`matcher.io.layout.best_sheet`).
    encoding, delimiter:
        Override detection for text formats (``delimiter``: CSV only).
    kind:
        ``projects``, ``funders`` or ``history`` when known: its column names
        help find the header row and the sheet (:mod:`matcher.io.layout`).

    Raises
    ------
    InputError
        The file is missing, a folder, empty, binary, of an unknown type, or
        not valid in its format.
    """
    path = Path(path)
    fmt, compressed = format_of(path)
    data = _read_bytes(path, compressed)
    source = str(path)
    if fmt == "xlsx":
        table = _read_xlsx(data, path, sheet, kind)
    elif fmt == "parquet":
        table = _read_parquet(data, path)
    else:
        text, used_encoding = decode_text(data, path, encoding)
        mixed = _mixed_lines(data) if used_encoding in ("cp1252", "latin-1") and not encoding else None
        if mixed:
            text, used_encoding = _decode_mixed(data), "utf-8+cp1252"
        if not text.strip():
            raise InputError(f"{path}: the file is empty")
        if fmt == "csv":
            table = _read_csv(text, path, delimiter, kind)
        elif fmt == "json":
            table = _read_json(text, path)
        elif fmt == "jsonl":
            table = _read_jsonl(text, path)
        else:
            table = _read_yaml(text, path)
        table.encoding = used_encoding
        if mixed:
            shown = ", ".join(map(str, mixed[:10])) + (", …" if len(mixed) > 10 else "")
            table.problems.insert(0, problem("file.mixed_encoding", None, None, None, FILE, count=len(mixed),
                                             lines=shown))
    if fmt in ("csv", "xlsx"):
        _leave_out_totals(table)
    table.source = source
    table.format = fmt
    table.sources = [source] * len(table.frame)
    table.problem_sources = [source] * len(table.problems)
    return table


def read_profiles(path_or_dir: str | Path, **options) -> RawTable:
    """Read a file, or every supported file of a folder (in name order) as one table.

    Rows keep their own file (``sources``) and row numbers (``rows``); columns
    are the union of the files' columns, ``None`` where a file lacks one.
    Hidden files are ignored; other unsupported files get a ``file`` problem.
    ``options`` are passed to :func:`read_table`.
    """
    path = Path(path_or_dir)
    if not path.is_dir():
        return read_table(path, **options)
    tables: list[RawTable] = []
    skipped: list[Path] = []
    for child in sorted(path.iterdir(), key=lambda p: p.name):
        if child.name.startswith(".") or not child.is_file():
            continue
        try:
            format_of(child)
        except InputError:
            skipped.append(child)
            continue
        tables.append(read_table(child, **options))
    if not tables:
        raise InputError(f"{path}: no supported file in this folder (expected {_supported_text()})")
    table = concat_tables(tables, source=str(path))
    for child in skipped:
        table.problems.append(
            problem("file.unsupported_type", None, None, child.name, FILE, name=child.name)
        )
        table.problem_sources.append(str(child))
    return table


def concat_tables(tables: list[RawTable], source: str) -> RawTable:
    """Stack tables read from several files, keeping each row's own source and number."""
    frames = [t.frame for t in tables]
    frame = pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame()
    frame = _nan_to_none(frame.astype(object))

    def common(values: Iterable[str | None], mixed: str | None) -> str | None:
        distinct = set(values)
        return distinct.pop() if len(distinct) == 1 else mixed

    return RawTable(
        frame=frame,
        rows=[r for t in tables for r in t.rows],
        problems=[p for t in tables for p in t.problems],
        records_read=sum(t.records_read for t in tables),
        source=source,
        format=common((t.format for t in tables), "mixed"),
        encoding=common((t.encoding for t in tables), None),
        delimiter=common((t.delimiter for t in tables), None),
        sources=[s for t in tables for s in (t.sources or [t.source] * len(t.frame))],
        problem_sources=[s for t in tables for s in (t.problem_sources or [t.source] * len(t.problems))],
    )


def format_of(path: Path) -> tuple[str, bool]:
    """Return ``(format, gzipped)`` for ``path`` from its extension, case-insensitively."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    suffix = Path(name.removesuffix(".gz")).suffix
    if suffix not in FORMATS:
        shown = suffix or "(none)"
        hint = _EXTENSION_HINTS.get(suffix)
        message = f"{path}: unsupported file type '{shown}'; expected {_supported_text()}"
        raise InputError(f"{message} ({hint})" if hint else message)
    return FORMATS[suffix], compressed


def _supported_text() -> str:
    return ", ".join(FORMATS) + ", optionally gzipped (.gz)"


def _read_bytes(path: Path, compressed: bool) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    try:
        limits.check(path, "bytes", path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if compressed and data:
        data = _gunzip(data, path)
    if not data:
        raise InputError(f"{path}: the file is empty")
    return data


def _gunzip(data: bytes, path: Path) -> bytes:
    """Decompress every gzip member of ``data``, refusing more than the ``bytes`` limit (a gzip bomb)."""
    cap = limits.limit("bytes")
    out: list[bytes] = []
    size = 0
    try:
        while data:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(data, cap + 1 - size)
            while True:
                size += len(chunk)
                out.append(chunk)
                if size > cap:
                    raise limits.exceeded(path, "bytes", "once decompressed")
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, cap + 1 - size)
            if not inflater.eof:
                raise InputError(f"{path}: not a valid gzip file (Compressed file ended before the end-of-stream "
                                 f"marker was reached)")
            data = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise InputError(f"{path}: not a valid gzip file ({exc})") from exc
    return b"".join(out)


# --------------------------------------------------------------------------- text decoding


def decode_text(data: bytes, path: Path | str = "<data>", encoding: str | None = None) -> tuple[str, str]:
    """Decode ``data``: UTF-8 with or without BOM, UTF-16 with BOM, else cp1252, else Latin-1.

    Returns ``(text, encoding)``. Raises :class:`InputError` for binary data
    (NUL bytes, many control characters) or when a forced ``encoding`` fails.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"{path}: cannot decode the file as {encoding} ({exc})") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a text table (binary file?)") from exc
    used = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data, used = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    if b"\x00" in data:
        raise InputError(_binary_message(path, data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text, used = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, used = data.decode("latin-1"), "latin-1"
    sample = text[:_SAMPLE_CHARS]
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise InputError(_binary_message(path, data))
    return text, used


def _mixed_lines(data: bytes) -> list[int] | None:
    """Line numbers that are not UTF-8 in a file whose other non-ASCII lines are: a file edited with two tools.

    None when no non-ASCII line is valid UTF-8 (the whole file is Windows-1252, as before).
    """
    bad: list[int] = []
    good = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad.append(number)
    return bad if good and bad else None


def _decode_mixed(data: bytes) -> str:
    """Each line as UTF-8 when it is, else as Windows-1252 (Latin-1 for its five unused bytes)."""
    out = []
    for line in data.split(b"\n"):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                out.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
    return "\n".join(out)


def _binary_message(path: Path | str, data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return f"{path}: not a text table (binary file? it looks like a ZIP or XLSX archive)"
    return f"{path}: not a text table (binary file?)"


# --------------------------------------------------------------------------- CSV


def detect_delimiter(text: str, preferred: str | None = None) -> str:
    """Pick the delimiter among ``, ; tab |`` from the header and the first records.

    For each candidate, count its occurrences outside quotes in the header
    and in up to 20 following records; the winner is the most consistent
    (share of records with the header's count), then ``preferred``, then the
    most frequent. Falls back to ``preferred`` or ``,`` for a one-column file.
    """
    end = _SAMPLE_CHARS
    header_end = text.find("\n", 0, _MAX_HEADER_CHARS)
    if header_end >= _SAMPLE_CHARS:  # a very wide header: the sample must hold all of it, and the lines below
        end = header_end + _SAMPLE_CHARS
    lines = text[:end].split("\n")
    if len(text) > end:
        lines.pop()  # probably cut in the middle
    records = [r for r in _join_quoted(lines) if r.strip(_BLANK_CHARS + "".join(DELIMITERS))]
    records = records[: _SAMPLE_RECORDS + 1]
    best: tuple | None = None
    for rank, candidate in enumerate(DELIMITERS):
        in_header = _count_outside_quotes(records[0], candidate) if records else 0
        if not in_header:
            continue
        counts = [_count_outside_quotes(r, candidate) for r in records[1:]]
        consistency = sum(c == in_header for c in counts) / len(counts) if counts else 1.0
        key = (consistency, candidate == preferred, in_header, -rank)
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else (preferred or ",")


def _join_quoted(lines: list[str]) -> Iterator[str]:
    """Join physical lines into records, a quoted cell may span several lines."""
    pending: list[str] = []
    open_quote = False
    for line in lines:
        pending.append(line)
        if line.count('"') % 2:
            open_quote = not open_quote
        if not open_quote:
            yield "\n".join(pending)
            pending = []
    if pending:
        yield "\n".join(pending)


def _count_outside_quotes(record: str, delimiter: str) -> int:
    if '"' not in record:
        return record.count(delimiter)
    return sum(part.count(delimiter) for part in record.split('"')[::2])


@dataclass
class _ParsedCsv:
    header: list[str]
    frame: pd.DataFrame  # positional columns 0..width-1, object dtype, None for empty
    rows: list[int]
    problems: list[Problem]
    rejected: int


class _FastPathFailed(Exception):
    """The quick scan and pyarrow disagree: read the file again with the csv module."""


def _read_csv(text: str, path: Path, delimiter: str | None, kind: str | None = None) -> RawTable:
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # old Mac line endings
    preferred = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else None
    preamble, delimiter = layout.csv_preamble(text, delimiter, detect_delimiter, preferred, kind)
    text = preamble.text
    _check_csv_size(text, delimiter, path)
    try:
        parsed = _parse_csv_fast(text, delimiter)
    except _FastPathFailed:
        parsed = _parse_csv_slow(text, delimiter, path)
    _check_cell_lengths(parsed, path, len(text))
    frame, problems = _finish_columns(parsed.header, parsed.frame)
    trailing = layout.csv_trailing_blank(text, delimiter)
    if trailing is not None:
        problems.append(layout.trailing_blank_problem(*trailing))
    return RawTable(
        frame=frame,
        rows=parsed.rows,
        problems=preamble.problems + problems + parsed.problems,
        records_read=len(frame) + parsed.rejected + preamble.titles,
        source=str(path),
        format="csv",
        delimiter=delimiter,
    )


def _check_csv_size(text: str, delimiter: str, path: Path) -> None:
    """Refuse, before parsing, a CSV wider, larger or with longer cells than the limits (:mod:`limits`)."""
    first = text.lstrip("\r\n")
    header = first[: first.find("\n")] if "\n" in first else first
    width = _count_outside_quotes(header, delimiter) + 1
    limits.check(path, "columns", width)
    limits.check(path, "cells", (text.count("\n") + 1) * width)
    cap = limits.limit("cell_chars")
    if len(text) <= cap:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > cap and any(len(cell) > cap for cell in line.split(delimiter)):
            raise limits.exceeded(f"{path}, line {number}", "cell_chars")


def _check_cell_lengths(parsed: _ParsedCsv, path: Path, size: int) -> None:
    """A quoted cell over many lines escapes the line scan of :func:`_check_csv_size`: check the cells."""
    cap = limits.limit("cell_chars")
    if size <= cap:
        return
    import pyarrow as pa
    import pyarrow.compute as pc

    for position in range(parsed.frame.shape[1]):
        values = parsed.frame.iloc[:, position]
        try:  # the longest cell of the column, in C (text cells and None only)
            longest = pc.max(pc.utf8_length(pa.array(values.to_numpy(), type=pa.string(), from_pandas=True))).as_py()
            if longest is None or longest <= cap:
                continue
        except (pa.ArrowException, TypeError, ValueError):
            pass  # other values: look cell by cell
        for index, value in enumerate(values.tolist()):
            if isinstance(value, str) and len(value) > cap:
                raise limits.exceeded(f"{path}, line {parsed.rows[index]}", "cell_chars")


def _parse_csv_fast(text: str, delimiter: str) -> _ParsedCsv:
    """Parse with pyarrow's multi-threaded reader; locate records with a string scan.

    The scan splits lines and pairs quotes to find where each record starts
    (for row numbers) and which records are blank. pyarrow parses every record
    of the header's width; when it meets others (ragged rows), the scan counts
    the fields of every record and those rows are read with the csv module,
    then padded, trimmed or rejected. Any disagreement between the scan and
    pyarrow raises :class:`_FastPathFailed`.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise _FastPathFailed from exc

    if "\r" in text and text.count("\r") != text.count("\r\n"):
        raise _FastPathFailed  # a lone carriage return also ends a line for csv and pyarrow
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n_lines = len(lines)
    quoted = '"' in text
    starts = _record_starts(lines) if quoted else np.arange(n_lines)
    ends = np.append(starts[1:], n_lines)  # exclusive
    multi = np.flatnonzero(ends - starts > 1).tolist()

    strip_chars = _BLANK_CHARS + delimiter
    blank = np.zeros(n_lines, dtype=bool)
    unsure: list[int] = []  # lines that may hold only non-ASCII spaces
    for i, rest in enumerate(map(str.strip, lines, repeat(strip_chars))):
        if not rest:
            blank[i] = True
        elif rest[0].isspace():
            unsure.append(i)
    blank = blank[starts]
    record_of_line = np.full(n_lines, -1)
    record_of_line[starts] = np.arange(len(starts))
    for k in set(multi) | {int(record_of_line[i]) for i in unsure if record_of_line[i] >= 0}:
        rest = _record_text(lines, starts, ends, k).strip(strip_chars)
        blank[k] = not rest or (rest[0].isspace() and _blank_fields(_csv_fields(
            _record_text(lines, starts, ends, k), delimiter)))
    # pyarrow skips empty lines itself; every other record is a row or an invalid row.
    empty = np.zeros(len(starts), dtype=bool)
    bare = [k for k in np.flatnonzero(blank).tolist() if lines[starts[k]] in ("", "\r") and ends[k] - starts[k] == 1]
    empty[bare] = True

    def fields_of(k: int) -> list[str]:
        return _csv_fields(_record_text(lines, starts, ends, k), delimiter)

    for k in np.flatnonzero(blank).tolist():  # a lone quote character is not blank
        if '"' in lines[starts[k]] and not _blank_fields(fields_of(k)):
            raise _FastPathFailed
    non_blank = np.flatnonzero(~blank)
    if not len(non_blank):
        raise _FastPathFailed  # the slow path reports the missing header
    first, last = int(non_blank[0]), int(non_blank[-1])
    header = fields_of(first)
    width = len(header)

    names = [f"c{i}" for i in range(width)]
    invalid: list[int] = []

    def on_invalid(row) -> str:
        invalid.append(row.actual_columns)
        return "skip"

    body = "\n".join(lines[int(starts[first]) : int(ends[last])]).encode("utf-8")
    if quoted and not _quotes_are_regular(body, delimiter):
        raise _FastPathFailed  # quotes inside unquoted cells: pairing them would be a guess
    try:
        table = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=bool(multi),
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowException as exc:
        raise _FastPathFailed from exc

    problems: list[Problem] = []
    patches: dict[int, list[str]] = {}
    in_range = np.arange(first, last + 1)
    if invalid:
        counts = _field_counts(text, lines, starts, delimiter)
        ragged = in_range[(counts[in_range] != width) & ~blank[in_range]]
        for k in ragged.tolist():
            fields = fields_of(k)
            if len(fields) != counts[k]:
                raise _FastPathFailed
            fitted = _fit_fields(fields, width, int(starts[k]) + 1, delimiter, problems)
            if fitted is not None:
                patches[k] = [v or None for v in fitted]
        placed = in_range[(counts[in_range] == width) & ~empty[in_range]]
    else:
        placed = in_range[~empty[in_range]]
    if table.num_rows != len(placed) or not len(placed) or placed[0] != first:
        raise _FastPathFailed
    columns = [_arrow_to_objects(table.column(i)) for i in range(width)]
    if [column[0] for column in columns] != [v or None for v in header]:
        raise _FastPathFailed

    keep = ~blank[placed]
    keep[0] = False  # the header
    kept = np.flatnonzero(keep)
    record_ids = placed[kept]
    if len(kept) != len(placed) - 1:
        columns = [column[kept] for column in columns]
    else:
        columns = [column[1:] for column in columns]
    if patches:
        order = np.argsort(np.concatenate([record_ids, list(patches)]), kind="stable")
        record_ids = np.concatenate([record_ids, list(patches)])[order]
        columns = [
            np.concatenate([column, _object_array([p[i] for p in patches.values()])])[order]
            for i, column in enumerate(columns)
        ]
    frame = pd.DataFrame(dict(enumerate(columns)), dtype=object, copy=False)
    problems.sort(key=lambda p: p.row)
    rejected = sum(1 for p in problems if p.severity == ERROR)
    return _ParsedCsv(header, frame, (starts[record_ids] + 1).tolist(), problems, rejected)


def _field_counts(text: str, lines: list[str], starts: np.ndarray, delimiter: str) -> np.ndarray:
    """Number of fields of each record, counting delimiters outside quotes."""
    if '"' in text:
        lines = _QUOTED.sub("", text).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != len(starts):
            raise _FastPathFailed
    else:
        lines = [lines[i] for i in starts.tolist()] if len(starts) != len(lines) else lines
    return np.array(list(map(str.count, lines, repeat(delimiter))), dtype=np.int64) + 1


def _arrow_to_objects(column) -> np.ndarray:
    """An arrow string column as an object array with ``None`` for nulls.

    Repeated values (legal forms, sectors, places) become one shared ``str``
    object each, which is twice as fast to build and lighter to hold.
    """
    column = column.combine_chunks()
    encoded = column.dictionary_encode()
    if len(encoded.dictionary) * 2 > len(column):
        return column.to_numpy(zero_copy_only=False)
    lookup = np.empty(len(encoded.dictionary) + 1, dtype=object)
    lookup[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False)
    return lookup[encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()]


def _quotes_are_regular(data: bytes, delimiter: str, chunk: int = 1 << 22) -> bool:
    """True when every quote of ``data`` is where well-formed CSV puts it.

    Pairing quotes line by line (as the scan does) agrees with a real CSV
    parser exactly when every opening quote (1st, 3rd, 5th... of the data)
    starts a cell or doubles a quote, and every closing quote ends a cell or
    is doubled. ``5" screen`` or ``"ab"c`` break this; the caller then falls
    back to the csv module. Vectorised over the bytes, chunk by chunk.
    """
    array = np.frombuffer(data, dtype=np.uint8)
    size = len(array)
    seen = 0
    for start in range(0, size, chunk):
        quotes = np.flatnonzero(array[start : start + chunk] == 34) + start
        if not len(quotes):
            continue
        opening = (np.arange(len(quotes)) + seen) % 2 == 0
        seen += len(quotes)
        opens, closes = quotes[opening], quotes[~opening]
        before = array[np.maximum(opens - 1, 0)]
        if not ((opens == 0) | _is_boundary(before, delimiter)).all():
            return False
        after = array[np.minimum(closes + 1, size - 1)]
        if not ((closes == size - 1) | _is_boundary(after, delimiter)).all():
            return False
    return True


def _is_boundary(chars: np.ndarray, delimiter: str) -> np.ndarray:
    """Bytes that may touch a quote: the delimiter, a line end, another quote."""
    return (chars == ord(delimiter)) | (chars == 10) | (chars == 13) | (chars == 34)


def _record_starts(lines: list[str]) -> np.ndarray:
    """Index of the first line of each record, pairing quotes across lines."""
    odd = [i for i, line in enumerate(lines) if line.count('"') % 2]
    if len(odd) % 2:
        raise _FastPathFailed  # an unbalanced quote runs to the end of the file
    continuation = np.zeros(len(lines), dtype=bool)
    for opening, closing in zip(odd[::2], odd[1::2], strict=True):
        continuation[opening + 1 : closing + 1] = True
    return np.flatnonzero(~continuation)


def _record_text(lines: list[str], starts: np.ndarray, ends: np.ndarray, k: int) -> str:
    return "\n".join(lines[int(starts[k]) : int(ends[k])])


def _csv_fields(record: str, delimiter: str) -> list[str]:
    try:
        rows = list(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter, strict=False))
    except csv.Error as exc:  # a cell over the limit: the csv module path reports it
        raise _FastPathFailed from exc
    if len(rows) != 1:
        raise _FastPathFailed
    return rows[0]


def _parse_csv_slow(text: str, delimiter: str, path: Path) -> _ParsedCsv:
    """Parse with the csv module, record by record: slower, exact on any quoting."""
    # A long cell is refused with the limit's name (cell_chars), not csv's own message.
    csv.field_size_limit(limits.limit("cell_chars") + 2)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    last = last_start = 0
    try:
        with _gc_paused():
            for fields in reader:
                start, last = last + 1, reader.line_num
                last_start = start
                first_cell = fields[0] if fields else ""
                if (not first_cell or first_cell.isspace()) and _blank_fields(fields):
                    continue
                if header is None:
                    header = fields
                    continue
                if len(fields) != len(header):
                    fields = _fit_fields(fields, len(header), start, delimiter, problems)
                    if fields is None:
                        continue
                records.append(fields)
                rows.append(start)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise limits.exceeded(f"{path}, line {reader.line_num}", "cell_chars") from exc
        raise InputError(f"{path}: cannot read as CSV near line {reader.line_num} ({exc})") from exc
    if header is None:
        raise InputError(f"{path}: no header line")
    if text.count('"') % 2 and _ends_inside_quotes(text, last_start, delimiter):
        problems.append(problem("csv.unbalanced_quote", last_start, None, None, WARNING))
    rejected = sum(1 for p in problems if p.severity == ERROR)
    return _ParsedCsv(header, _frame_from_rows(records, len(header)), rows, problems, rejected)


def _ends_inside_quotes(text: str, line: int, delimiter: str) -> bool:
    """True when the record starting on ``line`` opens a quote that never closes."""
    source = io.StringIO(text, newline="")
    deque(islice(source, line - 1), maxlen=0)  # skip the lines before the record
    try:
        for _ in csv.reader(source, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _blank_fields(fields: list[str]) -> bool:
    return all(not f or f.isspace() for f in fields)


def _fit_fields(fields: list[str], width: int, line: int, delimiter: str, problems: list[Problem]) -> list[str] | None:
    """Pad a short row (warning), trim empty extras, or reject a long row (error)."""
    n = len(fields)
    if n < width:
        problems.append(
            problem(
                "csv.short_row",
                line,
                None,
                None,
                WARNING,
                fields_en=_fields_en(n),
                width=width,
                fields_fr=_fields_fr(n),
            )
        )
        return fields + [""] * (width - n)
    if _blank_fields(fields[width:]):
        return fields[:width]
    problems.append(
        problem(
            "csv.long_row",
            line,
            None,
            delimiter.join(fields)[:200],
            ERROR,
            fields_en=_fields_en(n),
            width=width,
            fields_fr=_fields_fr(n),
        )
    )
    return None


def _fields_en(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _fields_fr(n: int) -> str:
    return f"{n} champ" if n == 1 else f"{n} champs"


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building millions of small lists.

    The lists hold only strings and cannot form cycles; without the pause the
    collector rescans them again and again, doubling the read time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _frame_from_rows(records: list[list[str]], width: int) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
    with _gc_paused():
        values = np.empty((len(records), width), dtype=object)
        values[:] = records
    values[values == ""] = None
    return pd.DataFrame(values, dtype=object, copy=False)


def _nan_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with ``None`` for every missing cell (pandas fills NaN)."""
    data = {}
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position].to_numpy(dtype=object, copy=True)
        missing = pd.isna(values)
        if missing.any():
            values[missing] = None
        data[position] = values
    result = pd.DataFrame(data, dtype=object, copy=False, index=frame.index)
    result.columns = frame.columns
    return result


# --------------------------------------------------------------------------- headers


def _finish_columns(header: list, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Name the positional columns of ``frame`` after ``header``, fixing blank and repeated names.

    Columns without a header name and without data are dropped silently.
    """
    names: list[str] = []
    keep: list[int] = []
    problems: list[Problem] = []
    for position, raw in enumerate(header):
        name = _header_text(raw)
        if not name:
            if frame.iloc[:, position].isna().all():
                continue
            name = f"column_{position + 1}"
            problems.append(problem("header.blank", None, name, None, FILE, number=position + 1, name=name))
        names.append(name)
        keep.append(position)
    unique = _unique_names(names, problems)
    frame = frame.iloc[:, keep].copy() if len(keep) != frame.shape[1] else frame
    frame.columns = unique
    return frame, problems


def _header_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    return str(value).strip()


def _unique_names(names: list[str], problems: list[Problem]) -> list[str]:
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 1:
            out.append(name)
            continue
        n = seen[name]
        while f"{name}.{n}" in taken:
            n += 1
        renamed = f"{name}.{n}"
        taken.add(renamed)
        out.append(renamed)
        problems.append(problem("header.repeated", None, renamed, name, FILE, name=name, renamed=renamed))
    return out


# --------------------------------------------------------------------------- XLSX


def _read_xlsx(data: bytes, path: Path, sheet: str | int | None, kind: str | None = None) -> RawTable:
    import zipfile

    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            limits.check(path, "bytes", sum(member.file_size for member in archive.infolist()))
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: cannot open as XLSX (BadZipFile: {exc})") from exc
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, KeyError...)
        raise InputError(f"{path}: cannot open as XLSX ({type(exc).__name__}: {exc})") from exc
    sheet_notes: list[Problem] = []
    try:
        given = sheet is not None
        if sheet is None and len(workbook.sheetnames) > 1:
            sheet, scored = layout.best_sheet(workbook, kind)
        worksheet = _pick_sheet(workbook, sheet, path)
        if len(workbook.sheetnames) > 1:
            scored = scored if not given else [(name, 0) for name in workbook.sheetnames]
            sheet_notes.append(layout.sheet_problem(worksheet.title, scored, given))
        sheet_xml = _sheet_xml(workbook, worksheet)
        merges = layout.merged_ranges(sheet_xml)
        uncached = _formulas_without_value(sheet_xml)
        if uncached:
            shown = ", ".join(uncached[:10]) + (", …" if len(uncached) > 10 else "")
            sheet_notes.append(problem("xlsx.formula_no_value", None, None, None, FILE, count=len(uncached),
                                       cells=shown))
        worksheet.reset_dimensions()  # trust the cells, not a possibly wrong <dimension>
        header: list | None = None
        records: list[list] = []
        rows: list[int] = []
        number = 0
        max_columns, max_cells, seen = limits.limit("columns"), limits.limit("cells"), 0
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if len(values) > max_columns:  # one far cell (XFD1) would widen every row: keep the used part
                used = max((i for i, v in enumerate(values) if v is not None and v != ""), default=-1) + 1
                if used > max_columns:
                    raise limits.exceeded(f"{path}, row {number}", "columns", f"{used:,}")
                values = values[:max_columns]
            seen += len(values)
            if seen > max_cells:
                raise limits.exceeded(path, "cells")
            cells = [None if v == "" else v for v in values]
            if all(v is None or (isinstance(v, str) and v.isspace()) for v in cells):
                continue
            if header is None:
                header, header_row = cells, number
                continue
            records.append(cells)
            rows.append(number)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: cannot read the XLSX sheet ({type(exc).__name__}: {exc})") from exc
    finally:
        workbook.close()
    if header is None:
        raise InputError(f"{path}: the sheet is empty")
    header, records, rows, layout_problems = _arrange_sheet(header, header_row, records, rows, number,
                                                            merges, kind)
    width = max([len(header)] + [len(r) for r in records])
    header = header + [None] * (width - len(header))
    data_rows = [r + [None] * (width - len(r)) for r in records]
    frame = pd.DataFrame({i: _object_array([r[i] for r in data_rows]) for i in range(width)}, dtype=object)
    frame, problems = _finish_columns(header, frame)
    titles = sum(1 for p in layout_problems if p.code == "row.title")
    return RawTable(frame, rows, sheet_notes + layout_problems + problems, len(frame) + titles,
                    str(path), "xlsx")


def _read_parquet(data: bytes, path: Path) -> RawTable:
    """A Parquet file (as ``normalize -o x.parquet`` writes): columns as they are, rows numbered from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{path}: cannot read as Parquet ({type(exc).__name__}: {exc})") from exc
    limits.check(path, "columns", table.num_columns)
    limits.check(path, "cells", table.num_columns * table.num_rows)
    records = table.to_pylist()
    return _table_from_records(records, path, "parquet", flatten=False)


def _leave_out_totals(table: RawTable) -> None:
    """Leave out the totals rows that end a CSV or XLSX table, reported (in place)."""
    if len(table.frame) < 3:
        return
    tail = min(len(table.frame), 200)
    records = table.frame.iloc[-tail:].to_numpy(dtype=object).tolist()
    found = layout.find_totals(records)
    if not found:
        return
    offset = len(table.frame) - tail
    positions = [offset + i for i in found]
    table.problems.extend(layout.totals_problems([(table.rows[p], records[p - offset]) for p in positions]))
    keep = [i for i in range(len(table.frame)) if i not in set(positions)]
    table.frame = table.frame.iloc[keep].reset_index(drop=True)
    table.rows = [table.rows[i] for i in keep]


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_CELL_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_VALUE = re.compile(rb"<v>[^<]")


def _formulas_without_value(xml: bytes) -> list[str]:
    """The cells (``B2``…) holding a formula but no value saved with it: they read as empty.

    A file written by a program that does not compute formulas (not Excel or LibreOffice) has
    no cached values; reading it loses them, so the user is told which cells.
    """
    if b"<f" not in xml:
        return []
    cells = []
    for attributes, body in _CELL.findall(xml):
        if body and b"<f" in body and not _VALUE.search(body):
            ref = _CELL_REF.search(attributes)
            cells.append(ref.group(1).decode("ascii") if ref else "?")
    return cells


def _sheet_xml(workbook, worksheet) -> bytes:
    """The XML of a read-only worksheet (for its merged cells); empty when it cannot be had."""
    member = getattr(worksheet, "_worksheet_path", None)
    archive = getattr(workbook, "_archive", None)
    if member is None or archive is None:
        return b""
    try:
        return archive.read(member)
    except (KeyError, OSError, ValueError):
        return b""


def _arrange_sheet(first: list, first_row: int, records: list[list], rows: list[int], last_row: int,
                   merges, kind: str | None) -> tuple[list, list[list], list[int], list[Problem]]:
    """Find the header below any title rows, spread merged cells, join a two-row header and
    note trailing blank rows (see :mod:`matcher.io.layout`)."""
    grid = [list(first)] + [list(r) for r in records]
    numbers = [first_row] + list(rows)
    problems: list[Problem] = []
    layout.spread_merges(grid, numbers, merges)
    h = layout.find_header(grid, kind)
    if h:
        problems += layout.title_problems([(numbers[i], grid[i]) for i in range(h)])
    header = grid[h]
    start = h + 1
    joined = layout.two_row_header(grid, numbers, h, merges, kind)
    if joined is not None:
        header, start = joined, h + 2
    last = numbers[-1] if len(grid) > start else numbers[start - 1]
    if last_row > last:
        problems.append(layout.trailing_blank_problem(last + 1, last_row - last))
    return header, grid[start:], numbers[start:], problems


def _pick_sheet(workbook, sheet: str | int | None, path: Path):
    names = workbook.sheetnames
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return workbook.worksheets[sheet]
    if isinstance(sheet, str) and sheet in names:
        return workbook[sheet]
    raise InputError(f"{path}: no sheet {sheet!r}; sheets are: {', '.join(names)}")


def _object_array(values: list) -> np.ndarray:
    """A 1-D object array, even when the values are themselves lists."""
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


# --------------------------------------------------------------------------- JSON, JSON Lines, YAML


def _read_json(text: str, path: Path) -> RawTable:
    _check_brackets(text, path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise limits.exceeded(path, "depth") from exc
    return _table_from_records(_records_of(document, path), path, "json", flatten=True)


def _read_jsonl(text: str, path: Path) -> RawTable:
    records: list = []
    first_error: str | None = None
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            _check_brackets(line, f"{path}, line {line_number}")
            records.append(json.loads(line))
        except RecursionError as exc:
            raise limits.exceeded(f"{path}, line {line_number}", "depth") from exc
        except json.JSONDecodeError as exc:
            first_error = first_error or f"line {line_number}: {exc.msg}"
            records.append(_BadRecord(f"{exc.msg} (line {line_number})", line[:200]))
    if records and all(isinstance(r, _BadRecord) for r in records):
        raise InputError(f"{path}: invalid JSON Lines ({first_error})")
    return _table_from_records(records, path, "jsonl", flatten=True)


@dataclass(frozen=True)
class _BadRecord:
    reason: str
    text: str


_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_brackets(text: str, where) -> None:
    """Refuse JSON nested deeper than the ``depth`` limit before parsing it (strings skipped)."""
    if text.count("[") + text.count("{") <= limits.limit("depth"):
        return
    depth = deepest = 0
    for found in _BRACKETS.finditer(text):
        char = found.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limits.limit("depth"):
                    raise limits.exceeded(where, "depth")
        elif char in "]}":
            depth -= 1


class _BoundedLoader(yaml.SafeLoader):
    """Safe loading with YAML 1.2 scalars and a cap on alias uses (a "billion laughs" file is refused).

    YAML 1.1 would read ``NO`` as false, ``yes`` as true, ``012`` as 10 and ``0x10`` as 16: an id or
    an amount silently changed. Here only ``true``/``false`` are booleans and only plain decimal
    numbers are numbers; everything else stays the text that was written.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > limits.limit("yaml_aliases"):
                raise limits.exceeded(self.name, "yaml_aliases")
        self.depth += 1
        if self.depth > limits.limit("depth"):
            raise limits.exceeded(self.name, "depth")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_BoundedLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers
          if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                     list("tTfF"))
_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
                                     list("-+0123456789"))
_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                     re.compile(r"^[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?"
                                                r"|(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+)$"),
                                     list("-+0123456789"))


def _read_yaml(text: str, path: Path) -> RawTable:
    try:
        loader = _BoundedLoader(text)
        loader.name = str(path)
        try:
            documents = []
            while loader.check_data():
                document = loader.get_data()
                if document is not None:
                    documents.append(document)
        finally:
            loader.dispose()
    except RecursionError as exc:
        raise limits.exceeded(path, "depth") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}: invalid YAML{where}: {problem}") from exc
    records: list = []
    for document in documents:
        records.extend(_records_of(document, path))
    return _table_from_records(records, path, "yaml", flatten=False)


def _records_of(document, path: Path) -> list:
    """The records of a parsed JSON/YAML document: a list, a container object, or one object."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        containers = [k for k in CONTAINER_KEYS if isinstance(document.get(k), list)]
        if len(containers) > 1:
            raise InputError(f"{path}: several lists of records ({', '.join(containers)}); give one per file")
        if containers:
            return document[containers[0]]
        return [document]
    raise InputError(f"{path}: not a table: expected a list of records or an object, got {type(document).__name__}")


def _table_from_records(records: list, path: Path, fmt: str, flatten: bool) -> RawTable:
    problems: list[Problem] = []
    kept: list[dict] = []
    rows: list[int] = []
    for number, record in enumerate(records, start=1):
        if isinstance(record, _BadRecord):
            problems.append(problem("json.invalid_record", number, None, record.text, ERROR, reason=record.reason))
            continue
        if not isinstance(record, dict):
            problems.append(
                problem("json.not_an_object", number, None, repr(record)[:200], ERROR, kind=type(record).__name__)
            )
            continue
        clean, broken = _without_surrogates({str(k): v for k, v in record.items()})
        if broken:
            problems.append(problem("text.surrogate", number, None, None, WARNING))
        kept.append(clean)
        rows.append(number)
    if flatten and _needs_flattening(kept):
        kept = flatten_records(kept)
    columns = list(dict.fromkeys(key for record in kept for key in record))
    limits.check(path, "columns", len(columns))
    limits.check(path, "cells", len(columns) * len(kept))
    header = columns
    frame = pd.DataFrame(
        {i: _object_array([_empty_to_none(r.get(c)) for r in kept]) for i, c in enumerate(columns)},
        dtype=object,
    )
    if not columns:
        frame = pd.DataFrame(index=range(len(kept)), dtype=object)
    frame, header_problems = _finish_columns(header, frame)
    rejected = sum(1 for p in problems if p.severity == ERROR)
    return RawTable(frame, rows, header_problems + problems, len(kept) + rejected, str(path), fmt)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value):
    """``value`` with every lone surrogate (half an emoji, cut off) replaced by U+FFFD; and whether any was."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return _SURROGATE.sub("\ufffd", value), True
        return value, False
    if isinstance(value, dict):
        out, broken = {}, False
        for key, child in value.items():
            (key, b1), (child, b2) = _without_surrogates(key), _without_surrogates(child)
            out[key] = child
            broken = broken or b1 or b2
        return out, broken
    if isinstance(value, list):
        pairs = [_without_surrogates(v) for v in value]
        return [v for v, _ in pairs], any(b for _, b in pairs)
    return value, False


def _empty_to_none(value):
    return None if value == "" else value


# --------------------------------------------------------------------------- flattening


def _is_single_object_list(value) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)


def _needs_flattening(records: list[dict]) -> bool:
    """True for 360Giving-like records: a non-canonical key holding a one-element list of objects."""
    return any(
        _is_single_object_list(value) and key not in KEEP_NESTED for record in records for key, value in record.items()
    )


def flatten_record(record: dict, keep: Collection[str] = KEEP_NESTED, prefix: str = "") -> dict:
    """Flatten nested objects into ``parent:child`` keys, as 360Giving flattens its CSV.

    Nested dicts and one-element lists of dicts are flattened; lists of several
    items, lists of plain values, and values whose key (or full ``a:b`` path)
    is in ``keep`` stay as they are.

    >>> flatten_record({"title": "T", "recipientOrganization": [{"id": "GB-1", "name": "X"}]})
    {'title': 'T', 'recipientOrganization:id': 'GB-1', 'recipientOrganization:name': 'X'}
    """
    out: dict = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if key in keep or name in keep:
            out[name] = value
            continue
        if _is_single_object_list(value):
            value = value[0]
        if isinstance(value, dict) and value:
            out.update(flatten_record(value, keep, prefix=f"{name}:"))
        else:
            out[name] = value
    return out


def flatten_records(records: list[dict], keep: Collection[str] = KEEP_NESTED) -> list[dict]:
    """Flatten every record the same way, so that all of them get the same columns.

    A path that holds a list of several objects in *any* record is kept as a
    list in every record (instead of being flattened where it happens to hold one).
    """
    several: set[str] = set()

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}:{key}" if path else str(key))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if len(value) > 1:
                several.add(path)
            for child in value:
                walk(child, path)

    for record in records:
        walk(record, "")
    keep_all = frozenset(keep) | several
    return [flatten_record(record, keep_all) for record in records]


# --------------------------------------------------------------------------- pieces (streamed reading)

#: Bytes scanned at a time when a CSV file is cut into pieces.
_SCAN_BLOCK = 1 << 22
#: The last piece of a CSV file holds at least this many lines (the totals rows that may end
#: a table are looked for among its last 200 records).
_LAST_PIECE_LINES = 400


class NotStreamable(Exception):
    """This file cannot be read in pieces with the result of one read: read it whole."""


@dataclass
class CsvPieces:
    """Where a plain UTF-8 CSV file is cut: ``(start byte, end byte, first line)`` per piece."""

    path: Path
    bounds: list[tuple[int, int, int]]
    newlines: int  # in the whole file (the ``cells`` limit counts lines)
    header: str | None = None  # the header line, set when piece 0 is read
    delimiter: str | None = None
    encoding: str = "utf-8"
    columns: list | None = None


def csv_pieces(path: str | Path, lines: int) -> CsvPieces | None:
    """Cut a CSV file into pieces of about ``lines`` physical lines, each ending a record.

    A cut is made after a line feed with an even number of quotes before it (outside any
    quoted cell). None when the file is not a plain ``.csv``/``.tsv``/``.txt`` file with line
    feeds, holds NUL bytes or a UTF-16 mark, or would be one piece: it is then read whole
    (:func:`read_table`). The ``bytes`` limit applies to the file as in :func:`read_table`.
    """
    path = Path(path)
    fmt, compressed = format_of(path)
    if fmt != "csv" or compressed or not path.is_file():
        return None
    size = path.stat().st_size
    limits.check(path, "bytes", size)
    cuts: list[tuple[int, int]] = []  # (byte after the cut, lines before it)
    offset = newlines = quotes = 0
    next_cut = lines
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_SCAN_BLOCK), b""):
            if offset == 0 and (block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\n" not in block):
                return None
            array = np.frombuffer(block, dtype=np.uint8)
            if (array == 0).any():
                return None
            feeds = np.flatnonzero(array == 10)
            parity = (quotes + np.cumsum(array == 34)[feeds]) % 2 if len(feeds) else feeds
            ends = newlines + 1 + np.arange(len(feeds))  # number of the line each feed ends
            usable = np.flatnonzero((parity == 0) & (ends >= next_cut))
            while len(usable):
                j = int(usable[0])
                cuts.append((offset + int(feeds[j]) + 1, int(ends[j])))
                next_cut = int(ends[j]) + lines
                usable = usable[ends[usable] >= next_cut]
            newlines += len(feeds)
            quotes += int(np.count_nonzero(array == 34))
            offset += len(block)
    while cuts and (cuts[-1][0] >= size or newlines - cuts[-1][1] < max(lines // 2, _LAST_PIECE_LINES)):
        cuts.pop()  # a short last piece joins the one before
    if not cuts:
        return None
    starts = [(0, 0), *cuts]
    ends = [c[0] for c in cuts] + [size]
    return CsvPieces(path, [(s, e, before + 1) for (s, before), e in zip(starts, ends, strict=True)], newlines)


def read_csv_piece(pieces: CsvPieces, index: int, kind: str | None = None) -> RawTable:
    """Piece ``index`` of a CSV file as a :class:`RawTable` with the file's row numbers.

    Piece 0 is read as :func:`read_table` reads a file (delimiter, header); the others are
    read below the same header line. Problems without a row (the header's) are those of
    piece 0; the note on blank rows ending the table belongs to the last piece; the totals
    rows that may end a table are looked for in the last piece. Raises
    :class:`NotStreamable` when the file needs a whole read to give the same result
    (not UTF-8, title lines above the header, a ``sep=`` line, a header of another shape).
    """
    path = pieces.path
    start, end, first_line = pieces.bounds[index]
    last = index == len(pieces.bounds) - 1
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    if index == 0 and data.startswith(codecs.BOM_UTF8):
        data, pieces.encoding = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotStreamable from None
    del data
    if index == 0:
        sample = text[:_SAMPLE_CHARS]
        if len(_CONTROL.findall(sample)) > max(8, len(sample) // 100) or text.startswith("sep="):
            raise NotStreamable
        body = text.lstrip("\r\n")
        pieces.header = body[: body.find("\n")]
        preferred = "\t" if path.name.lower().endswith(".tsv") else None
        # The delimiter as one read finds it: from the file's first 64 K characters below the
        # header (more for a very wide header), which piece 0 may not hold.
        with path.open("rb") as handle:
            head = handle.read(2 * _MAX_HEADER_CHARS + 4 * _SAMPLE_CHARS)
        head = head[len(codecs.BOM_UTF8):] if pieces.encoding == "utf-8-sig" else head
        head = head[: head.rfind(b"\n") + 1] if len(head) < path.stat().st_size else head
        try:
            head_text = head.decode("utf-8")
        except UnicodeDecodeError:
            raise NotStreamable from None
        pieces.delimiter = layout.csv_preamble(head_text, None, detect_delimiter, preferred, kind)[1]
        del head, head_text
        width = _count_outside_quotes(pieces.header, pieces.delimiter) + 1
        limits.check(path, "columns", width)
        limits.check(path, "cells", (pieces.newlines + 1) * width)
        table = _read_csv(text, path, pieces.delimiter, kind)
        if any(p.code == "row.title" for p in table.problems):
            raise NotStreamable
        pieces.columns = list(table.frame.columns)
        shift = 0
    else:
        table = _read_csv(pieces.header + "\n" + text, path, pieces.delimiter, kind)
        if list(table.frame.columns) != pieces.columns:
            raise NotStreamable
        shift = first_line - 2  # line 2 of the piece's text is the piece's first line
    del text
    kept = []
    for found in table.problems:
        if found.code == "row.trailing_blank" and not last:
            continue  # blank lines inside the file: skipped silently, as in one read
        if found.row is None or (index and found.row <= 1):
            if index:
                continue  # the header's problems: said once, by piece 0
            kept.append(found)
            continue
        kept.append(dataclasses.replace(found, row=found.row + shift) if shift else found)
    table.problems = kept
    if shift:
        table.rows = [r + shift for r in table.rows]
    if last:
        if len(table.frame) < 200:
            raise NotStreamable  # the totals rows are looked for among the table's last 200 records
        _leave_out_totals(table)
    table.encoding = pieces.encoding
    table.source = str(path)
    table.format = "csv"
    table.sources = [str(path)] * len(table.frame)
    table.problem_sources = [str(path)] * len(table.problems)
    return table


def parquet_pieces(path: str | Path, rows: int) -> Iterator[RawTable] | None:
    """The record batches of a Parquet file, ``rows`` at a time, as :func:`read_table` reads them
    (rows numbered from 1 across the file); None when the file is one batch (read it whole)."""
    import pyarrow.parquet as pq

    path = Path(path)
    fmt, compressed = format_of(path)
    if fmt != "parquet" or compressed or not path.is_file():
        return None
    limits.check(path, "bytes", path.stat().st_size)
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise InputError(f"{path}: cannot read as Parquet ({type(exc).__name__}: {exc})") from exc
    meta = handle.metadata
    if meta.num_rows <= rows:
        return None
    limits.check(path, "columns", meta.num_columns)
    limits.check(path, "cells", meta.num_columns * meta.num_rows)

    def batches():
        shift = 0
        try:
            for index, batch in enumerate(handle.iter_batches(batch_size=rows)):
                table = _table_from_records(batch.to_pylist(), path, "parquet", flatten=False)
                table.problems = [dataclasses.replace(p, row=p.row + shift) if p.row is not None else p
                                  for p in table.problems if p.row is not None or index == 0]
                table.rows = [r + shift for r in table.rows]
                shift += batch.num_rows
                table.source, table.format = str(path), "parquet"
                table.sources = [str(path)] * len(table.frame)
                table.problem_sources = [str(path)] * len(table.problems)
                yield table
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read as Parquet ({type(exc).__name__}: {exc})") from exc

    return batches()
