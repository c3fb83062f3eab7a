"""The normalisation pipeline shared by projects, funders and grant history.

A pipeline turns a :class:`~matcher.io.readers.RawTable` into canonical rows. It
is a list of small steps, each a function ``step(state) -> None`` that reads
and updates a :class:`PipelineState`; ``projects`` and ``funders`` compose
their own lists from the generic steps below plus a few of their own.

Nothing is lost: every source row ends either in ``frame`` (normalised) or in
the rejects with an ``error`` problem, and every value that could not be read
is reported as a ``warning`` while the row keeps it as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matcher.core.text import fold
from matcher.normalize import parsers
from matcher.normalize.headers import HeaderMapping, map_headers
from matcher.normalize.problems import (
    ERROR,
    FILE,
    WARNING,
    ParseError,
    Problem,
    parse_error,
    problem_texts,
)
from matcher.normalize.schema import ID_FIELDS, SCHEMAS, Field
from matcher.referential.territories import Territories
from matcher.referential.vocabularies import get_vocabulary, resolve_legal_form

#: Codes of the rows left out because they are no records (title rows, totals rows).
LEFT_OUT_CODES = frozenset({"row.title", "row.totals"})

REJECT_COLUMNS = ["source", "row", "column", "value", "severity", "code", "reason_en", "reason_fr"]


@dataclass
class Normalized:
    """What a pipeline returns: canonical rows, every problem, and the accounting."""

    kind: str
    frame: pd.DataFrame
    problems: list[Problem]
    summary: dict
    mapping: HeaderMapping | None = None
    problem_sources: list[str | None] = field(default_factory=list)

    @property
    def rejects(self) -> pd.DataFrame:
        """Problems as a table: source, row, column, value, severity, code, reasons."""
        records = []
        for source, p in zip(self.problem_sources, self.problems, strict=True):
            records.append(
                {
                    "source": source,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "severity": p.severity,
                    "code": p.code,
                    "reason_en": p.reason_en,
                    "reason_fr": p.reason_fr,
                }
            )
        frame = pd.DataFrame.from_records(records, columns=REJECT_COLUMNS)
        frame["row"] = frame["row"].astype("Int64")
        return frame

    @property
    def ok(self) -> bool:
        """No row rejected for a defect (title and totals rows left out do not count)."""
        return self.summary["rows_rejected"] - self.summary.get("rows_left_out", 0) == 0


@dataclass
class PipelineState:
    """Mutable state threaded through the steps of one run."""

    kind: str
    frame: pd.DataFrame  # source columns renamed to canonical fields, one row per source row
    rows: np.ndarray  # source row number of each frame row
    sources: list[str | None]  # source file of each frame row
    columns: dict[str, str]  # canonical field -> source column name (for reports)
    problems: list[Problem] = field(default_factory=list)
    problem_sources: list[str | None] = field(default_factory=list)
    rejected: np.ndarray | None = None  # boolean mask over frame rows
    options: dict = field(default_factory=dict)
    # column -> (codes, distinct values, blank flag per distinct value); see distinct()
    _distinct: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.rejected is None:
            self.rejected = np.zeros(len(self.frame), dtype=bool)

    def distinct(self, name: str):
        """Codes, distinct values and their blank flags for column ``name``, computed once.

        None when the column holds unhashable cells (lists or mappings from JSON/YAML).
        """
        if name not in self._distinct:
            factorized = _factorize(self.frame[name])
            if factorized is not None:
                codes, uniques = factorized
                blank = np.array([parsers.is_unknown(u) for u in uniques] + [True], dtype=bool)
                factorized = (codes, uniques, blank)
            self._distinct[name] = factorized
        return self._distinct[name]

    def set(self, name: str, values) -> None:
        """Replace column ``name`` (as an object column) and forget what was known of it."""
        set_column(self.frame, name, values)
        self._distinct.pop(name, None)

    def report(self, position: int | None, column: str | None, value, err: ParseError,
               severity: str = WARNING) -> None:
        """Record the problem ``err`` on frame row ``position`` (None for file-level problems)."""
        reason_en, reason_fr, code = err.reason_en, err.reason_fr, err.code
        row = int(self.rows[position]) if position is not None else None
        source = self.sources[position] if position is not None else (self.sources[0] if self.sources else None)
        shown = None if value is None else _short(value)
        self.problems.append(Problem(row, column, shown, reason_en, reason_fr, severity, code))
        self.problem_sources.append(source)

    def reject(self, position: int, column: str | None, value, reason: ParseError) -> None:
        if not self.rejected[position]:
            self.rejected[position] = True
            self.report(position, column, value, reason, ERROR)


def set_column(frame: pd.DataFrame, name: str, values) -> None:
    """Assign ``values`` as an object column: None stays None (pandas 3 would infer ``str``)."""
    frame[name] = pd.Series(list(values), index=frame.index, dtype=object)


def _short(value, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- values




def _hashable(value):
    # The type is part of the key: True, 1 and 1.0 hash alike but may parse differently.
    try:
        hash(value)
        return (type(value), value)
    except TypeError:
        return (type(value), repr(value))


def _factorize(values: pd.Series) -> tuple[np.ndarray, list] | None:
    """Codes and distinct values of a column (None/NaN get code -1); None if unhashable."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        return None
    return codes, list(uniques)


def apply_parser(state: PipelineState, name: str, parse: Callable, unknown=None) -> list:
    """Parse column ``name`` once per distinct value; report failures as warnings.

    ``parse`` returns the canonical value or raises :class:`ParseError`; a
    failure leaves the cell ``unknown``.
    """
    column = state.columns.get(name, name)
    distinct = state.distinct(name)
    if distinct is None:  # lists or mappings from JSON/YAML: one by one
        return _apply_parser_by_row(state, state.frame[name].tolist(), column, parse, unknown)
    codes, uniques, blank = distinct
    parsed = np.empty(len(uniques) + 1, dtype=object)
    parsed[-1] = unknown  # code -1: None or NaN
    failures = []
    for k, value in enumerate(uniques):
        if blank[k]:
            parsed[k] = unknown
            continue
        try:
            result = parse(value)
            parsed[k] = unknown if result is None else result
        except ParseError as err:
            parsed[k] = unknown
            failures.append((k, value, err))
    if failures:
        failed = np.zeros(len(uniques) + 1, dtype=bool)
        by_code = {}
        for k, value, err in failures:
            failed[k] = True
            by_code[k] = (value, err)
        for position in np.flatnonzero(failed[codes]):
            value, err = by_code[int(codes[position])]
            state.report(int(position), column, value, err)
    return parsed[codes].tolist()


def _apply_parser_by_row(state, values, column, parse, unknown) -> list:
    cache: dict = {}
    out = []
    for position, value in enumerate(values):
        if parsers.is_unknown(value):
            out.append(unknown)
            continue
        key = _hashable(value)
        hit = cache.get(key)
        if hit is None:
            try:
                hit = (True, parse(value))
            except ParseError as err:
                hit = (False, err)
            cache[key] = hit
        ok, result = hit
        if ok:
            out.append(unknown if result is None else result)
        else:
            out.append(unknown)
            state.report(position, column, value, result)
    return out


def _text(value) -> str | None:
    text = " ".join(str(value).split())
    return text or None


def _identifier(value) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _choice_parser(vocabulary: str, single: bool) -> Callable:
    vocab = get_vocabulary(vocabulary)
    label_en = vocabulary.replace("_", " ")

    def parse(value):
        if vocabulary == "legal_forms" and single:
            found = resolve_legal_form(value)
            if found is None:
                raise parse_error("legal_form.unknown", value=_short(value))
            return found
        ids, unknown = vocab.resolve_cell(value)
        if single:
            if len(ids) > 1:
                raise parse_error("choice.ambiguous", label_en=label_en, value=_short(value), ids=", ".join(ids),
                                  vocabulary=vocabulary)
            if not ids:
                raise parse_error("choice.unknown", label_en=label_en, value=_short(value), vocabulary=vocabulary)
            return ids[0]
        if unknown:
            joined = ", ".join(unknown)
            # Known ids are kept; the unknown tokens are reported separately.
            return _Partial(tuple(ids) if ids else None,
                            parse_error("choice.unknown_tokens", label_en=label_en, joined=joined,
                                        vocabulary=vocabulary))
        # Labels known to carry no id ("Autre aide financière") leave the value unknown.
        return tuple(ids) if ids else None

    return parse


@dataclass(frozen=True)
class _Partial:
    """A value parsed in part: ``value`` is kept and ``error`` is reported."""

    value: object
    error: ParseError


def _weighted_parser(vocabulary: str) -> Callable:
    vocab = get_vocabulary(vocabulary)

    def parse(value):
        weights: dict[str, float] = {}
        unknown = []
        for token, weight in parsers.parse_weighted(value) or ():
            ids = vocab.resolve(token)
            if not ids:
                unknown.append(token)
            for id_ in ids:
                weights[id_] = max(weight, weights.get(id_, 0.0))
        result = dict(sorted(weights.items())) if weights else None
        if unknown:
            joined = ", ".join(unknown)
            return _Partial(result, parse_error("weighted.unknown_tokens", vocabulary=vocabulary, joined=joined))
        return result if result is not None else {}

    return parse


def five_digit_reading(territories: Territories, column: str, values: list) -> str:
    """How to read 5-digit codes in a place column: INSEE codes, postcodes, or either.

    The header decides when it says so ("Code postal", "Code INSEE"); otherwise
    the column's own codes do (:meth:`Territories.five_digit_kind`).
    """
    header = fold(column)
    if "postal" in header or header in ("cp", "code cp"):
        return "postcode"
    if "insee" in header or "code commune" in header or "cog" in header.split():
        return "insee"
    distinct = {v for v in values if isinstance(v, str)}
    return territories.five_digit_kind(distinct)


def _places_parser(territories: Territories, five_digits: str = "either") -> Callable:
    def parse(value):
        codes, issues = territories.resolve_many(value, five_digits=five_digits)
        if not issues:
            return tuple(codes)
        texts_en, texts_fr, kinds = [], [], []
        for token, resolution in issues:
            if resolution.candidates:
                shown = ", ".join(territories.label(c) for c in resolution.candidates[:6])
                more = "" if len(resolution.candidates) <= 6 else f" (+{len(resolution.candidates) - 6})"
                kinds.append("place.ambiguous")
                en, fr = problem_texts("place.ambiguous", token=token, candidates=f"{shown}{more}")
            else:
                kinds.append("place.unknown")
                en, fr = problem_texts("place.unknown", token=token)
            texts_en.append(en)
            texts_fr.append(fr)
        # One problem per cell; its code is the first kind found (ambiguous before unknown).
        code = "place.ambiguous" if "place.ambiguous" in kinds else "place.unknown"
        return _Partial(tuple(codes) if codes else None, ParseError("; ".join(texts_en), " ; ".join(texts_fr), code))

    return parse


def _mapping_parser(value):
    """Criterion weights, ``{"sector": 0.3}`` or ``sector:0.3; text:0``; 0 switches a criterion off."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for token in parsers.split_list(value, separators=";|\n") or ():
            key, sep, weight = token.replace("=", ":").partition(":")
            if not sep:
                raise parse_error("weights.no_value", token=token)
            items.append((key, weight))
    weights = {}
    for key, weight in items:
        try:
            number = float(str(weight).replace(",", "."))
        except ValueError:
            raise parse_error("weights.unreadable", key=key, weight=weight) from None
        if not number >= 0:
            raise parse_error("weights.negative", key=key, weight=weight)
        weights[str(key).strip().lower()] = number
    return dict(sorted(weights.items()))


SCALAR_PARSERS: dict[str, Callable] = {
    "id": _identifier,
    "text": _text,
    "amount": parsers.parse_amount,
    "percent": parsers.parse_percent,
    "date": parsers.parse_date,
    "bool": parsers.parse_bool,
    "int": parsers.parse_int,
    "mapping": _mapping_parser,
}


def parser_for(spec: Field) -> Callable:
    """The cell parser of one canonical field."""
    if spec.kind == "int" and spec.name.endswith("_months"):
        return parsers.parse_months  # "24 mois", "2 ans"
    if spec.kind in SCALAR_PARSERS:
        return SCALAR_PARSERS[spec.kind]
    if spec.kind == "choice":
        return _choice_parser(spec.vocabulary, single=True)
    if spec.kind == "choices":
        return _choice_parser(spec.vocabulary, single=False)
    if spec.kind == "weighted":
        return _weighted_parser(spec.vocabulary)
    if spec.kind == "places":
        return _places_parser(Territories.default())
    raise ValueError(f"no parser for kind {spec.kind!r}")


# --------------------------------------------------------------------------- steps


def drop_empty_rows(state: PipelineState) -> None:
    """Reject rows where every cell is blank (they carry nothing to normalise)."""
    if state.frame.empty:
        return
    blank = np.ones(len(state.frame), dtype=bool)
    for name in state.frame.columns:
        if not blank.any():  # every row holds a value already: the other columns cannot change that
            break
        distinct = state.distinct(name)
        if distinct is None:
            blank &= np.fromiter((parsers.is_unknown(v) for v in state.frame[name]), bool, len(state.frame))
        else:
            codes, _, flags = distinct
            blank &= flags[codes]
    for position in np.flatnonzero(blank):
        state.reject(int(position), None, None, parse_error("row.empty"))


def parse_fields(state: PipelineState) -> None:
    """Parse every mapped canonical column according to its field kind."""
    schema = SCHEMAS[state.kind]
    for name in list(state.frame.columns):
        spec = schema.get(name)
        if spec is None or spec.kind == "levels":
            continue
        column = state.columns.get(name, name)
        if spec.kind == "places":
            territories = Territories.default()
            # A streamed file gives the reading of its whole column (matcher.io.streaming).
            reading = state.options.get("five_digits", {}).get(name) or five_digit_reading(
                territories, column, state.frame[name].tolist())
            parse = _places_parser(territories, reading)
        else:
            parse = parser_for(spec)
        values = apply_parser(state, name, parse)
        for position, value in enumerate(values):
            if isinstance(value, _Partial):
                values[position] = value.value
                state.report(position, column, state.frame[name].iat[position], value.error)
        state.set(name, values)


def _jt_levels_of(value, vocab) -> tuple:
    """``(error, levels by criterion id or None when not stated, unknown tokens)`` of one
    just-transition list cell."""
    try:
        pairs = parsers.parse_levels(value)
    except ParseError as err:
        return err, None, []
    if not pairs:
        return None, None, []
    found: dict[str, int] = {}
    unknown = []
    for token, level in pairs:
        ids = vocab.resolve(token)
        if not ids:
            unknown.append(token)
        for id_ in ids:
            found[id_] = max(found.get(id_, 0), 2 if level is None else level)
    return None, found, unknown


def parse_levels(state: PipelineState) -> None:
    """Just-transition levels: one list column and/or one column per criterion.

    A criterion named in a list without a level counts as level 2 (claimed);
    when a list is given, the criteria it does not name are level 0 (not
    claimed). A blank list leaves every criterion unknown.
    """
    vocab = get_vocabulary("jt_criteria")
    levels = {c: [pd.NA] * len(state.frame) for c in vocab.ids}
    if "just_transition" in state.frame.columns:
        column = state.columns.get("just_transition", "just_transition")
        memo: dict[str, tuple] = {}  # the same text parses the same: once per distinct text
        for position, value in enumerate(state.frame["just_transition"].tolist()):
            if parsers.is_unknown(value):
                continue
            hit = memo.get(value) if isinstance(value, str) else None
            if hit is None:
                hit = _jt_levels_of(value, vocab)
                if isinstance(value, str):
                    memo[value] = hit
            error, found, unknown = hit
            if error is not None:
                state.report(position, column, value, error)
                continue
            if found is None:  # "NC", "-", "?": not stated
                continue
            if unknown:
                joined = ", ".join(unknown)
                state.report(position, column, value, parse_error("jt.unknown_criteria", joined=joined))
            if found or not unknown:
                for criterion in vocab.ids:
                    levels[criterion][position] = found.get(criterion, 0)
        state.frame = state.frame.drop(columns=["just_transition"])
        state._distinct.pop("just_transition", None)
    for criterion in vocab.ids:
        name = f"jt_{criterion}"
        if name not in state.frame.columns:
            continue
        parsed = apply_parser(state, name, parsers.parse_level, unknown=pd.NA)
        for position, level in enumerate(parsed):
            if level is not pd.NA:
                levels[criterion][position] = level
        state.frame = state.frame.drop(columns=[name])
        state._distinct.pop(name, None)
    for criterion in vocab.ids:
        state.frame[f"jt_{criterion}"] = pd.array(levels[criterion], dtype="Int8")


def reject_missing_required(state: PipelineState) -> None:
    for name, spec in SCHEMAS[state.kind].items():
        if not spec.required:
            continue
        column = state.columns.get(name, name)
        for position, value in enumerate(state.frame[name].tolist()):
            if value is None:
                state.reject(position, column, None, parse_error("id.missing", name=name))


#: UTF-8 byte ``b`` -> ``b + 1`` (0xFF never occurs in UTF-8): no key byte is NUL, so NumPy's
#: fixed-width bytes (which drop trailing NULs) keep every key apart, and the order is kept.
_SHIFT = bytes(range(1, 256)) + b"\xff"


def key_array(keys: Iterable[str]) -> np.ndarray:
    """Text keys as a NumPy array of fixed-width bytes (their UTF-8 bytes, each one up): some 10
    bytes a key instead of 70 as Python strings. The bytes sort as the strings do (by code
    point), so ``np.searchsorted`` on a sorted array finds what ``bisect`` finds on the sorted
    strings, and two keys are equal as arrays' items only when they are equal as strings (a
    trailing ``"\\x00"`` included)."""
    return np.array([k.encode("utf-8").translate(_SHIFT) for k in keys], dtype=bytes)


class SeenKeys:
    """The text keys met so far, each with the source row of its first occurrence, in sorted
    arrays (:func:`key_array`) rather than a dictionary: 1.5 million project ids take some 30 MB
    instead of 250 MB of Python objects (which, made piece after piece, also keep the memory
    of every piece from going back to the system).

    :func:`reject_duplicates` uses it for a single key (``state.options["seen_keys"]``): the
    pieces of one streamed file (:mod:`matcher.io.streaming`) share one. The arrays are merged
    as they come (two of about the same size become one), so a lookup searches O(log n) arrays.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, their first rows)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._parts)

    def first_rows(self, keys: np.ndarray) -> np.ndarray:
        """The first row of each of ``keys`` (:func:`key_array`), -1 for a key not met."""
        found = np.full(len(keys), -1, dtype=np.int64)
        for known, rows in self._parts:
            at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
            hit = known[at] == keys
            found[hit] = rows[at[hit]]
        return found

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Remember ``keys`` (distinct, none met before) first met at ``rows``."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self._parts.append((keys[order], np.asarray(rows, dtype=np.int64)[order]))
        while len(self._parts) > 1 and len(self._parts[-2][0]) <= 2 * len(self._parts[-1][0]):
            (a, ra), (b, rb) = self._parts.pop(), self._parts.pop()
            merged = np.concatenate([b, a])
            order = np.argsort(merged, kind="stable")
            self._parts.append((merged[order], np.concatenate([rb, ra])[order]))


def reject_duplicates(key: Iterable[str]) -> Callable[[PipelineState], None]:
    """A step rejecting every repeat of ``key`` after its first occurrence."""
    key = list(key)

    def step(state: PipelineState) -> None:
        # Key -> source row of its first occurrence; shared by the chunks of one streamed file
        # (matcher.io.streaming) through ``state.options["seen_keys"]`` (a SeenKeys), so a
        # repeat in a later chunk is rejected as in one run.
        seen = state.options.get("seen_keys", {})
        column = state.columns.get(key[0], key[0])
        columns = [state.frame[k].tolist() for k in key]
        rows = state.rows.tolist()
        if isinstance(seen, SeenKeys):
            if len(key) != 1:
                raise ValueError("SeenKeys holds single text keys")
            repeats = _repeats(seen, columns[0], state.rejected, rows)
        else:
            repeats = _repeats_in(seen, columns, state.rejected, rows)
        for position, first in repeats:
            values = [c[position] for c in columns]
            shown = " / ".join("" if v is None else str(v) for v in values)
            state.reject(
                position,
                column,
                shown,
                parse_error("id.duplicate", key="/".join(key), shown=shown, first_row=first),
            )

    return step


def _repeats_in(seen: dict, columns: list[list], rejected, rows: list[int]) -> list[tuple[int, int]]:
    """(position, first row) of each repeat, remembering the first occurrences in ``seen``."""
    repeats = []
    for position, values in enumerate(zip(*columns, strict=True)):
        if rejected[position] or values[0] is None:
            continue
        found = values[0] if len(values) == 1 else values
        first = seen.get(found)
        if first is None:
            seen[found] = rows[position]
        else:
            repeats.append((position, first))
    return repeats


def _repeats(seen: SeenKeys, values: list, rejected, rows: list[int]) -> list[tuple[int, int]]:
    """:func:`_repeats_in` on a :class:`SeenKeys`, vectorised: the same repeats, in the same order."""
    positions = np.array([i for i, v in enumerate(values) if v is not None and not rejected[i]], dtype=np.int64)
    if not len(positions):
        return []
    keys = key_array([values[i] for i in positions])
    rows = np.asarray(rows, dtype=np.int64)[positions]
    first = seen.first_rows(keys)  # met in an earlier piece
    _, index, inverse = np.unique(keys, return_index=True, return_inverse=True)
    leader = index[inverse.ravel()]  # the first position of the same key in this piece
    new = (first < 0) & (leader == np.arange(len(keys)))
    first = np.where(first < 0, rows[leader], first)
    seen.add(keys[new], rows[new])
    repeat = ~new
    return list(zip(positions[repeat].tolist(), first[repeat].tolist(), strict=True))


def complete_columns(state: PipelineState) -> None:
    """Add every canonical column that the source lacked, as unknown, in schema order."""
    schema = SCHEMAS[state.kind]
    frame = state.frame
    for name, spec in schema.items():
        if spec.kind == "levels" or name in frame.columns:
            continue
        set_column(frame, name, [None] * len(frame))
    ordered = [n for n, s in schema.items() if s.kind != "levels"]
    levels = sorted(c for c in frame.columns if c.startswith("jt_") and c != "jt_evidence")
    if any(s.kind == "levels" for s in schema.values()):
        ordered = ordered[: ordered.index("jt_evidence")] + levels + ordered[ordered.index("jt_evidence") :]
    state.frame = frame[ordered]
    state._distinct.clear()


def cast_types(state: PipelineState) -> None:
    """Give scalar columns their canonical dtypes (float, Int64, boolean)."""
    for name, spec in SCHEMAS[state.kind].items():
        if name not in state.frame.columns:
            continue
        column = state.frame[name]
        if spec.kind in ("amount", "percent"):
            state.frame[name] = pd.to_numeric(column, errors="coerce").astype(float)
        elif spec.kind == "int":
            state.frame[name] = pd.array([pd.NA if v is None else v for v in column], dtype="Int64")
        elif spec.kind == "bool":
            state.frame[name] = pd.array([pd.NA if v is None else v for v in column], dtype="boolean")


# --------------------------------------------------------------------------- running


def header_mapping(raw, kind: str, forced: dict[str, str] | None = None) -> HeaderMapping:
    """The header mapping of a raw table (its first rows' values help, see :class:`_ColumnValues`)."""
    return map_headers(list(raw.frame.columns), kind, forced=forced, values=_ColumnValues(raw.frame))


def start(
    raw, kind: str, forced: dict[str, str] | None = None, options: dict | None = None,
    mapping: HeaderMapping | None = None, mapping_problems: bool = True,
) -> tuple[PipelineState, HeaderMapping]:
    """Map the headers of ``raw`` and build the initial state of a run.

    ``mapping``: a mapping already made (a streamed file's, from its first rows); with
    ``mapping_problems`` False its problems are not added (a later chunk of the same file).
    """
    if mapping is None:
        mapping = header_mapping(raw, kind, forced)
    frame = raw.frame[list(mapping.mapping)].copy()
    frame.columns = [mapping.mapping[c] for c in mapping.mapping]
    columns = {f: c for c, f in mapping.mapping.items()}
    sources = list(getattr(raw, "sources", None) or [raw.source] * len(frame))
    state = PipelineState(
        kind,
        frame.reset_index(drop=True),
        np.asarray(raw.rows, dtype=np.int64),
        sources,
        columns,
        options=dict(options or {}),
    )
    problem_sources = list(getattr(raw, "problem_sources", None) or [raw.source] * len(raw.problems))
    for problem, source in zip(raw.problems, problem_sources, strict=True):
        state.problems.append(problem)
        state.problem_sources.append(source or raw.source)
    for problem in mapping.problems if mapping_problems else ():
        state.problems.append(problem)
        state.problem_sources.append(raw.source)
    if len(mapping.place_parts) > 1 and "territory" in state.frame.columns:
        _combine_place_parts(state, raw, mapping)
    return state, mapping


class _ColumnValues(Mapping):
    """The cells of a raw frame's columns, read only when header mapping asks for them."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def __getitem__(self, column):
        return self.frame[column].iloc[:5_000].tolist()

    def __iter__(self):
        return iter(self.frame.columns)

    def __len__(self):
        return self.frame.shape[1]


def _combine_place_parts(state: PipelineState, raw, mapping: HeaderMapping) -> None:
    """One territory per row from the columns that each hold a part of it (postcode, commune…)."""
    from matcher.normalize.split_places import combine_parts

    columns = {role: raw.frame[column].tolist() for column, role in mapping.place_parts.items()}
    combined, issues = combine_parts(columns)
    name = " + ".join(mapping.place_parts)
    state.set("territory", combined)
    state.columns["territory"] = name
    for position, shown, error in issues:
        state.report(position, name, shown, error)


def require_id_column(state: PipelineState, mapping: HeaderMapping) -> None:
    from matcher.core.errors import MappingError

    id_field = ID_FIELDS[state.kind] or "funder_id"
    if id_field not in state.frame.columns:
        shown = ", ".join(f"'{c}'" for c in list(mapping.mapping) + mapping.unmapped) or "none"
        raise MappingError(
            f"no column maps to {id_field} (columns: {shown}); name the column with --map {id_field}=COLUMN"
        )


def finish(state: PipelineState, mapping: HeaderMapping, raw) -> Normalized:
    """Split kept and rejected rows and account for every source row."""
    kept = ~state.rejected
    frame = state.frame.loc[kept].reset_index(drop=True)
    rows_rejected_reader = sum(1 for p in raw.problems if p.severity == ERROR)
    left_out = sum(1 for p in raw.problems if p.severity == ERROR and p.code in LEFT_OUT_CODES)
    # Accounting is over source records: a funder record expanded into several
    # calls counts once, as normalised when at least one of its calls is kept.
    keys = list(zip(state.sources, state.rows.tolist(), strict=True))
    kept_keys = {k for k, keep in zip(keys, kept, strict=True) if keep}
    rejected_keys = {k for k, keep in zip(keys, kept, strict=True) if not keep} - kept_keys
    summary = {
        "kind": state.kind,
        "source": raw.source,
        "format": raw.format,
        "rows_read": int(raw.records_read),
        "rows_normalised": len(kept_keys),
        "rows_rejected": len(rejected_keys) + rows_rejected_reader,
        "profiles_out": len(frame),
        "warnings": sum(1 for p in state.problems if p.severity == WARNING),
        "file_problems": sum(1 for p in state.problems if p.severity == FILE),
        "columns_mapped": {c: f for c, f in mapping.mapping.items()},
        "columns_unmapped": list(mapping.unmapped),
    }
    if left_out:  # title and totals rows: rejected, but no defect of the data
        summary["rows_left_out"] = left_out
    summary.update(state.options.get("extra_summary", {}))
    order = sorted(
        range(len(state.problems)),
        key=lambda i: (
            state.problem_sources[i] or "",
            -1 if state.problems[i].row is None else state.problems[i].row,
            state.problems[i].severity != ERROR,
        ),
    )
    return Normalized(
        kind=state.kind,
        frame=frame,
        problems=[state.problems[i] for i in order],
        summary=summary,
        mapping=mapping,
        problem_sources=[state.problem_sources[i] for i in order],
    )


def run(
    raw,
    kind: str,
    steps: list[Callable[[PipelineState], None]],
    forced: dict[str, str] | None = None,
    options: dict | None = None,
    prepare: Callable | None = None,
) -> Normalized:
    """Run ``steps`` over ``raw`` and return the normalised result.

    ``prepare`` may reshape the raw table before header mapping (the funders
    pipeline uses it to expand nested calls into one row per call).
    """
    if prepare is not None:
        raw = prepare(raw)
    state, mapping = start(raw, kind, forced, options)
    require_id_column(state, mapping)
    for step in steps:
        step(state)
    return finish(state, mapping, raw)


GENERIC_STEPS: list[Callable[[PipelineState], None]] = [
    drop_empty_rows,
    parse_fields,
    reject_missing_required,
]
