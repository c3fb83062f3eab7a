"""Normalise a project file into canonical project rows.

>>> from matcher.io.readers import read_table
>>> result = normalize_projects(read_table("projects/examples/projets.csv"))  # doctest: +SKIP
>>> result.summary["rows_read"] == result.summary["rows_normalised"] + result.summary["rows_rejected"]  # doctest: +SKIP
True
"""

from __future__ import annotations

from matcher.normalize import pipeline as p
from matcher.normalize.identifiers import parse_rna, parse_siren, parse_siret


def check_identifiers(state: p.PipelineState) -> None:
    """Validate SIRET, SIREN and RNA; derive the SIREN from a valid SIRET."""
    for name, parse in (("siret", parse_siret), ("siren", parse_siren), ("rna", parse_rna)):
        if name in state.frame.columns:
            state.set(name, p.apply_parser(state, name, parse))
    if "siret" in state.frame.columns:
        sirens = state.frame["siren"].tolist() if "siren" in state.frame.columns else [None] * len(state.frame)
        state.set("siren",
                     [s if s is not None else (t[:9] if t else None)
                      for s, t in zip(sirens, state.frame["siret"].tolist(), strict=True)])


#: A project date outside these years is kept but warned about (1900-01-01 and 9999-12-31 are placeholders).
PLAUSIBLE_YEARS = (1950, 2100)


def warn_implausible_dates(state: p.PipelineState) -> None:
    """A start or end date in 1900 or 9999 is most likely a placeholder: keep it, with a located warning."""
    from matcher.normalize.problems import parse_error

    low, high = PLAUSIBLE_YEARS
    for name in ("start_date", "end_date"):
        if name not in state.frame.columns:
            continue
        column = state.columns.get(name, name)
        for position, value in enumerate(state.frame[name].tolist()):
            if isinstance(value, str) and value[:4].isdigit() and not low <= int(value[:4]) <= high:
                state.report(position, column, value,
                             parse_error("date.implausible", value=value, low=low, high=high))


STEPS = [
    p.drop_empty_rows,
    p.parse_fields,
    warn_implausible_dates,
    check_identifiers,
    p.parse_levels,
    p.reject_missing_required,
    p.reject_duplicates(["project_id"]),
    p.complete_columns,
    p.cast_types,
]


def normalize_projects(raw, forced: dict[str, str] | None = None) -> p.Normalized:
    """Normalise a :class:`~matcher.io.readers.RawTable` of projects.

    Parameters
    ----------
    raw:
        The table as read by :func:`matcher.io.readers.read_table`.
    forced:
        Canonical field -> source column, from ``--map``.
    """
    return p.run(raw, "projects", STEPS, forced=forced)
