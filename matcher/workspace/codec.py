"""Canonical rows to JSON and back, exactly: what a workspace stores is what the files give.

A canonical frame (see :mod:`matcher.normalize.schema`) holds tuples, dicts,
floats with NaN, nullable integers and booleans. :func:`encode_rows` turns each
row into a JSON text (keys in column order, unknown values as ``null``) and a
digest of its content; :func:`decode_rows` rebuilds the frame with the
canonical dtypes, so that a frame read from a workspace equals the frame read
from the files (``pandas.testing.assert_frame_equal``).
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd

from matcher.core.missing import is_missing
from matcher.normalize.schema import SCHEMAS

_SEQUENCE_KINDS = ("choices", "places")
_MAPPING_KINDS = ("weighted", "mapping")


def _plain(value):
    """A JSON-ready value: tuples as lists, numpy scalars as Python, unknown as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if is_missing(value):
        return None
    return value


def row_json(record: dict) -> str:
    return json.dumps({k: _plain(v) for k, v in record.items()}, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _plain_column(series: pd.Series) -> list:
    """The JSON-ready values of one column (what :func:`_plain` gives per cell), converted column-wise."""
    if series.dtype.kind == "f":
        return [None if v != v else v for v in series.tolist()]
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and series.dtype.kind in "iub":
        missing = series.isna().to_numpy().tolist()
        plain = bool if series.dtype.kind == "b" else "int64"
        values = series.to_numpy(dtype=plain, na_value=False if plain is bool else 0).tolist()
        return [None if gone else v for v, gone in zip(values, missing, strict=True)]
    return [v if type(v) is str or (type(v) is tuple and all(type(x) is str for x in v)) else _plain(v)
            for v in series.tolist()]


def encode_rows(frame: pd.DataFrame) -> list[str]:
    """One JSON text per row of a canonical frame, in row order (the text of :func:`row_json`)."""
    columns = [str(c) for c in frame.columns]
    values = [_plain_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    encode = _ENCODER.encode
    return [encode(dict(zip(columns, row, strict=True))) for row in zip(*values, strict=True)]


def decode_rows(kind: str, texts, columns: list[str] | None = None) -> pd.DataFrame:
    """The canonical frame of ``kind`` from JSON rows (an empty frame with the schema columns if none)."""
    texts = list(texts)
    records = json.loads("[" + ",".join(texts) + "]") if texts else []  # one parse: faster than one per row
    return frame_from_records(kind, records, columns)


def canonical_columns(kind: str, seen: list[str] | None = None) -> list[str]:
    """Schema order, the ``jt_*`` level columns where the schema puts them, extra columns last."""
    schema = SCHEMAS[kind]
    seen = list(seen or [])
    levels = sorted(c for c in seen if c.startswith("jt_") and c != "jt_evidence")
    ordered = [n for n, s in schema.items() if s.kind != "levels"]
    if any(s.kind == "levels" for s in schema.values()):
        at = ordered.index("jt_evidence")
        ordered = ordered[:at] + levels + ordered[at:]
    return ordered + [c for c in seen if c not in ordered]


def frame_from_records(kind: str, records: list[dict], columns: list[str] | None = None) -> pd.DataFrame:
    if columns is None:
        seen: dict[str, None] = {}
        for record in records[:1] or []:
            seen.update(dict.fromkeys(record))
        columns = canonical_columns(kind, list(seen)) if records else canonical_columns(kind)
    schema = SCHEMAS[kind]
    data = {}
    for name in columns:
        values = [r.get(name) for r in records]
        spec = schema.get(name)
        what = spec.kind if spec is not None else ("level" if name.startswith("jt_") and name != "jt_evidence"
                                                    else None)
        if what in ("amount", "percent"):
            data[name] = pd.Series(np.array([np.nan if v is None else v for v in values], dtype=float))
        elif what == "int":
            data[name] = pd.Series(pd.array([pd.NA if v is None else v for v in values], dtype="Int64"))
        elif what == "level":
            data[name] = pd.Series(pd.array([pd.NA if v is None else v for v in values], dtype="Int8"))
        elif what == "bool":
            data[name] = pd.Series(pd.array([pd.NA if v is None else v for v in values], dtype="boolean"))
        elif what in _SEQUENCE_KINDS:
            data[name] = pd.Series([None if v is None else tuple(v) for v in values], dtype=object)
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=columns)
