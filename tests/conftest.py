"""Tiny fixtures for the matching engine: canonical frames from a few keyword
arguments (every other schema column unknown) and a small territory tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from workspace_support import target  # noqa: F401 (the workspace fixture: SQLite, and PostgreSQL when available)

from matcher.normalize.schema import FUNDER_FIELDS, PROJECT_FIELDS
from matcher.referential.vocabularies import get_vocabulary

JT_CRITERIA = get_vocabulary("jt_criteria").ids


def _unknown(kind: str, n: int):
    if kind in ("amount", "percent"):
        return pd.Series([np.nan] * n, dtype=float)
    if kind == "bool":
        return pd.array([pd.NA] * n, dtype="boolean")
    if kind == "int":
        return pd.array([pd.NA] * n, dtype="Int64")
    return pd.Series([None] * n, dtype=object)


def _frame(fields: dict, rows: list[dict]) -> pd.DataFrame:
    n = len(rows)
    data = {}
    for name, spec in fields.items():
        if spec.kind == "levels":
            for crit in JT_CRITERIA:
                values = [row.get("jt", {}).get(crit, pd.NA) for row in rows]
                data[f"jt_{crit}"] = pd.array(values, dtype="Int8")
            continue
        column = _unknown(spec.kind, n)
        given = [row.get(name, _MISSING) for row in rows]
        if any(v is not _MISSING for v in given):
            if spec.kind in ("amount", "percent"):
                column = pd.Series([np.nan if v is _MISSING or v is None else float(v) for v in given],
                                   dtype=float)
            elif spec.kind == "bool":
                column = pd.array([pd.NA if v is _MISSING or v is None else v for v in given],
                                  dtype="boolean")
            elif spec.kind == "int":
                column = pd.array([pd.NA if v is _MISSING or v is None else v for v in given],
                                  dtype="Int64")
            else:
                column = pd.Series([None if v is _MISSING else _canonical(spec.kind, v) for v in given],
                                   dtype=object)
        data[name] = column
    return pd.DataFrame(data)


_MISSING = object()


def _canonical(kind: str, value):
    if value is None:
        return None
    if kind in ("choices", "places"):
        return tuple(sorted(set((value,) if isinstance(value, str) else value)))
    return value


def projects_frame(*rows: dict) -> pd.DataFrame:
    """Canonical projects: each row a dict of fields; ``jt={criterion: level}`` for levels."""
    return _frame(PROJECT_FIELDS, list(rows))


def funders_frame(*rows: dict) -> pd.DataFrame:
    """Canonical funder rows (one per funder and call)."""
    return _frame(FUNDER_FIELDS, list(rows))


def project(project_id: str = "P1", **fields) -> dict:
    return {"project_id": project_id, **fields}


def funder(funder_id: str = "F1", **fields) -> dict:
    """A funder row; the perimeter defaults to EU (an unstated perimeter is itself to check)."""
    return {"funder_id": funder_id, "perimeter": ("EU",), **fields}


class TinyTerritories:
    """A territory tree with the API of :class:`matcher.referential.territories.Territories`.

    EU > FR > reg:84 (Auvergne-Rhône-Alpes) > dep:69 (Rhône) > epci:200046977
    (Métropole de Lyon) > commune:69123 (Lyon), commune:69266 (Villeurbanne);
    dep:69 > epci:246900245 > commune:69029 (Belleville); reg:84 > dep:38
    (Isère) > epci:200040715 > commune:38185 (Grenoble); FR > reg:11 >
    dep:75 > epci:200054781 > commune:75056 (Paris).
    """

    PARENT = {
        "commune:69123": "epci:200046977", "commune:69266": "epci:200046977",
        "commune:69029": "epci:246900245",
        "epci:200046977": "dep:69", "epci:246900245": "dep:69", "dep:69": "reg:84",
        "commune:38185": "epci:200040715", "epci:200040715": "dep:38", "dep:38": "reg:84",
        "commune:75056": "epci:200054781", "epci:200054781": "dep:75", "dep:75": "reg:11",
        "reg:84": "FR", "reg:11": "FR", "FR": "EU",
    }
    LABELS = {"commune:69123": "Lyon (69)", "commune:69266": "Villeurbanne (69)",
              "commune:69029": "Belleville (69)", "commune:38185": "Grenoble (38)",
              "commune:75056": "Paris (75)", "dep:69": "Rhône (69)", "dep:38": "Isère (38)",
              "dep:75": "Paris (75)", "reg:84": "Auvergne-Rhône-Alpes", "reg:11": "Île-de-France",
              "epci:200046977": "Métropole de Lyon (69)", "FR": "France", "EU": "Union européenne"}
    PREFIX = {"commune": "commune", "epci": "epci", "dep": "department", "reg": "region"}

    def level(self, code):
        if code in ("FR", "EU"):
            return code
        if code not in self.PARENT:
            raise KeyError(code)
        return self.PREFIX[code.split(":")[0]]

    def ancestors(self, code):
        out = []
        while code in self.PARENT:
            code = self.PARENT[code]
            out.append(code)
        if not out and code not in ("EU",):
            raise KeyError(code)
        return tuple(out)

    def contains(self, container, code):
        return container == code or container in self.ancestors(code)

    def label(self, code):
        return self.LABELS.get(code, code)

    def codes(self, level=None):
        every = set(self.PARENT) | {"FR", "EU"}
        return (c for c in sorted(every) if level is None or self.level(c) == level)


@pytest.fixture
def territories():
    return TinyTerritories()


DATE = "2026-04-01"


def fit(*funder_rows: dict, **params):
    """A Matcher on the tiny territory tree, dated 2026-04-01, fitted on ``funder_rows``."""
    from matcher.engine.model import Matcher

    params.setdefault("date", DATE)
    params.setdefault("territories", TinyTerritories())
    return Matcher(**params).fit(funders_frame(*funder_rows))


def ranked(project_rows, funder_rows, include_ineligible=True, **params) -> pd.DataFrame:
    """``rank_funders`` of the given project and funder rows (ineligible pairs included)."""
    matcher = fit(*funder_rows, **params)
    return matcher.rank_funders(projects_frame(*project_rows), include_ineligible=include_ineligible)


def pair(project_row: dict, funder_row: dict, **params) -> pd.Series:
    """The one output row of a single project and a single funder row."""
    frame = ranked([project_row], [funder_row], **params)
    assert len(frame) == 1
    return frame.iloc[0]


def make_block(project_rows, funder_rows, **params):
    """A scored-ready :class:`~matcher.engine.features.Block`: projects in the given order,
    funder rows sorted by id (as the matcher holds them)."""
    from matcher.engine.features import Block, as_day

    matcher = fit(*funder_rows, **params)
    features = matcher.space_.encode_projects(projects_frame(*project_rows))
    return matcher, Block(features, matcher.funder_features_, matcher.space_, as_day(matcher.date))
