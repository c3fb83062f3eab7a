"""Normalise a grant-history file (SCDL, 360Giving, any mapped export).

Status comes from an explicit column when there is one. Otherwise a positive
``amount_awarded`` means granted; an awarded amount of 0 means refused only
when the caller says so (``refused_when_zero``), because some exports use 0
for "not yet decided". The year falls back to the award date's year.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from matcher.normalize import pipeline as p
from matcher.normalize.identifiers import parse_organisation_id

#: The two decided statuses of a history row (others, such as "pending", are undecided).
GRANTED = "granted"
REFUSED = "refused"


def decision_status(history: pd.DataFrame) -> np.ndarray:
    """``granted`` / ``refused`` / None per row of a canonical history frame: the one rule.

    The ``status`` column decides when there is one (any other value is undecided);
    without it, a positive ``amount_awarded`` is granted and nothing is refused.
    """
    if "status" in history.columns:
        return np.array([v if v in (GRANTED, REFUSED) else None for v in history["status"].tolist()],
                        dtype=object)
    if "amount_awarded" not in history.columns:
        return np.full(len(history), None, dtype=object)
    amounts = pd.to_numeric(history["amount_awarded"], errors="coerce").fillna(0).to_numpy(dtype=float)
    return np.where(amounts > 0, GRANTED, None).astype(object)


def check_identifiers(state: p.PipelineState) -> None:
    """Funder and recipient ids that look like SIRET/SIREN/RNA must be valid ones.

    An invalid one is reported; the id itself is kept (it still groups rows).
    """
    for name in ("funder_id", "recipient_id"):
        if name not in state.frame.columns:
            continue
        values = state.frame[name].tolist()
        checked = p.apply_parser(state, name, parse_organisation_id)
        state.set(name, [c if c is not None else v for c, v in zip(checked, values, strict=True)])


def derive_status_and_year(state: p.PipelineState) -> None:
    frame = state.frame
    n = len(frame)
    status = frame["status"].tolist() if "status" in frame.columns else [None] * n
    awarded = frame["amount_awarded"].tolist() if "amount_awarded" in frame.columns else [None] * n
    refused_when_zero = state.options.get("refused_when_zero", False)
    for i in range(n):
        amount = awarded[i]
        if status[i] is not None or amount is None or (isinstance(amount, float) and math.isnan(amount)):
            continue
        if amount > 0:
            status[i] = GRANTED
        elif refused_when_zero:
            status[i] = REFUSED
    state.set("status", status)
    if "award_date" in frame.columns:
        years = frame["year"].tolist() if "year" in frame.columns else [None] * n
        dates = frame["award_date"].tolist()
        state.set("year", [y if y is not None else (int(d[:4]) if d else None)
                                for y, d in zip(years, dates, strict=True)])


STEPS = [
    p.drop_empty_rows,
    p.parse_fields,
    check_identifiers,
    p.reject_missing_required,
    p.complete_columns,
    derive_status_and_year,
    p.cast_types,
]


def normalize_history(raw, forced: dict[str, str] | None = None,
                      refused_when_zero: bool = False) -> p.Normalized:
    """Normalise a :class:`~matcher.io.readers.RawTable` of past grant decisions."""
    return p.run(raw, "history", STEPS, forced=forced,
                 options={"refused_when_zero": refused_when_zero})
