"""History rows as projects: each past application asked again, for the evaluations.

Kept apart from :mod:`matcher.evaluation.evaluate` so that the ranking-weights learner
(:mod:`matcher.evaluation.ranking_weights`), which ``evaluate`` calls, can use it too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.engine.features import as_choices, as_float, as_text, column
from matcher.engine.history_affinity import sector_labels


def projects_from_history(rows: pd.DataFrame) -> pd.DataFrame:
    """Canonical projects built from history rows, as if each application were asked again.

    ``project_id`` is ``row-<position>``; ``name`` the purpose; ``summary`` the
    sector labels and the recipient's name; ``carrier_name`` the recipient;
    ``siret``/``siren`` the recipient's id when it is one; ``sectors``,
    ``territory``; ``amount_requested`` the amount requested (never the amount
    awarded: it is written with the decision, so using it would leak the answer
    into the scale criterion); ``legal_form`` the recipient's legal form.
    """
    n = len(rows)
    ids = [as_text(v) for v in column(rows, "recipient_id")]
    compact = ["".join(v.split()) if v else None for v in ids]
    requested = np.array([as_float(v) for v in column(rows, "amount_requested")], dtype=float)
    names = [as_text(v) for v in column(rows, "recipient_name")]
    sectors = [as_choices(v) for v in column(rows, "sectors")]
    labels: dict = {}
    summary = []
    for value, name in zip(sectors, names, strict=True):
        if value not in labels:
            labels[value] = sector_labels(value)
        text = " — ".join(p for p in (labels[value], name) if p)
        summary.append(text or None)
    width = len(str(max(n - 1, 0)))
    return pd.DataFrame({
        "project_id": pd.Series([f"row-{i:0{width}d}" for i in range(n)], dtype=object),
        "name": pd.Series([as_text(v) for v in column(rows, "purpose")], dtype=object),
        "summary": pd.Series(summary, dtype=object),
        "carrier_name": pd.Series(names, dtype=object),
        "siret": pd.Series([v if v and len(v) == 14 and v.isdigit() else None for v in compact], dtype=object),
        "siren": pd.Series([v[:9] if v and len(v) in (9, 14) and v.isdigit() else None for v in compact],
                           dtype=object),
        "legal_form": pd.Series([as_text(v) for v in column(rows, "recipient_legal_form")], dtype=object),
        "sectors": pd.Series(sectors, dtype=object),
        "territory": pd.Series([as_choices(v) for v in column(rows, "territory")], dtype=object),
        "amount_requested": pd.Series(requested, dtype=float),
    })


__all__ = ["projects_from_history"]
