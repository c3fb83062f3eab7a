"""Normalise a funder file into canonical rows: one row per (funder, call).

In YAML or JSON a funder holds ``calls: [{call_id, title, opens, closes,
envelope, ...}]``; any other key of a call overrides the funder's value for
that call. In a flat file each row is already one call (``call_id``,
``call_title``, ``call_opens``, ``call_closes``, ``call_envelope`` beside the
funder's columns). A funder with no call gets one row with ``call_id``
unknown: it is open all year.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from matcher.core.resources import load_data
from matcher.core.text import fold
from matcher.normalize import pipeline as p
from matcher.normalize.problems import ERROR, WARNING, parse_error, problem

#: Keys of a nested call and the flat column they become.
_CALLS = load_data("calls.yaml")
CALL_KEYS = {key: column for column, keys in _CALLS["keys"].items() for key in keys}
_CALLS_COLUMNS = frozenset(_CALLS["columns"])


def _calls_column(frame: pd.DataFrame) -> str | None:
    for column in frame.columns:
        if fold(column) in _CALLS_COLUMNS:
            return column
    return None


def expand_calls(raw):
    """Turn nested ``calls`` lists into one row per call (flat files pass through)."""
    column = _calls_column(raw.frame)
    if column is None:
        return raw
    records, rows, sources, problems = [], [], [], list(raw.problems)
    raw_sources = list(getattr(raw, "sources", None) or [raw.source] * len(raw.frame))
    problem_sources = list(getattr(raw, "problem_sources", None) or [raw.source] * len(raw.problems))
    base_columns = [c for c in raw.frame.columns if c != column]
    for position, record in enumerate(raw.frame.to_dict("records")):
        calls = record.pop(column)
        if calls is None or (isinstance(calls, float) and math.isnan(calls)) or calls == []:
            calls = [None]
        elif isinstance(calls, dict):
            calls = [calls]
        elif not isinstance(calls, list):
            problems.append(problem("calls.not_a_list", int(raw.rows[position]), column, str(calls)[:120], WARNING))
            problem_sources.append(raw_sources[position])
            calls = [None]
        for call in calls:
            flat = dict(record)
            if call is not None:
                if not isinstance(call, dict):
                    problems.append(
                        problem("call.not_a_mapping", int(raw.rows[position]), column, str(call)[:120], WARNING)
                    )
                    problem_sources.append(raw_sources[position])
                    continue
                for key, value in call.items():
                    target = CALL_KEYS.get(fold(key).replace(" ", "_"), key)
                    flat[target] = value
            records.append(flat)
            rows.append(raw.rows[position])
            sources.append(raw_sources[position])
    columns = list(dict.fromkeys(base_columns + [k for r in records for k in r]))
    frame = pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
    frame = frame.astype(object).where(frame.notna(), None)
    changes = {"frame": frame, "rows": rows, "problems": problems}
    names = {f.name for f in dataclasses.fields(raw)}
    if "sources" in names:
        changes["sources"] = sources
    if "problem_sources" in names:
        changes["problem_sources"] = problem_sources
    return dataclasses.replace(raw, **changes)


def check_consistency(state: p.PipelineState) -> None:
    """Warn when a ticket range or call window is upside down (values are kept)."""
    frame = state.frame
    pairs = [
        ("ticket_min", "ticket_max", "funder.tickets_reversed"),
        ("call_opens", "call_closes", "call.window_reversed"),
    ]
    for low, high, code in pairs:
        if low not in frame.columns or high not in frame.columns:
            continue
        for position, (a, b) in enumerate(zip(frame[low].tolist(), frame[high].tolist(), strict=True)):
            if (
                a is None
                or b is None
                or (isinstance(a, float) and math.isnan(a))
                or (isinstance(b, float) and math.isnan(b))
            ):
                continue
            if a > b:
                state.report(position, state.columns.get(low, low), f"{a} > {b}", parse_error(code))


def _count_funders(state: p.PipelineState) -> None:
    kept = [f for f, r in zip(state.frame["funder_id"].tolist(), state.rejected, strict=True) if not r]
    calls = [c for c, r in zip(state.frame["call_id"].tolist(), state.rejected, strict=True) if not r]
    state.options.setdefault("extra_summary", {}).update(
        funders=len({f for f in kept if f is not None}), calls=sum(c is not None for c in calls)
    )


STEPS = [
    p.drop_empty_rows,
    p.parse_fields,
    p.reject_missing_required,
    p.complete_columns,
    p.reject_duplicates(["funder_id", "call_id"]),
    check_consistency,
    p.cast_types,
    _count_funders,
]


def normalize_funders(raw, forced: dict[str, str] | None = None) -> p.Normalized:
    """Normalise a :class:`~matcher.io.readers.RawTable` of funders (and calls)."""
    return p.run(raw, "funders", STEPS, forced=forced, prepare=expand_calls)


__all__ = ["normalize_funders", "expand_calls", "ERROR"]
