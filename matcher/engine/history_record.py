"""What a recipient's record says about each funder: past grants, co-funders, funders' openness.

Three opt-in history criteria (``requires_history = True``), each a score in [0, 1] per
(project, funder row), learned from the granted rows of a canonical history frame. The
recipient of a project is its SIREN (``siren``, else the first 9 digits of ``siret``), else its
folded ``carrier_name`` — the key of :func:`matcher.engine.award.recipient_keys` for history rows.

``record`` (:class:`RecipientRecord`)
    The recipient's own past grants from this funder, recency-weighted:
    ``1 - 0.5 ** n`` where ``n = sum(0.5 ** (age / HALF_LIFE_YEARS))`` over those grants (one
    grant last year -> 0.5, two -> 0.75). 0 for a funder that never granted it, unknown for
    a recipient with no grant at all.
``cofunding`` (:class:`CoFunding`)
    The co-funding network: for each funder ``g`` that granted the recipient, the share of
    ``g``'s recipients that ``f`` granted too, averaged over the ``g`` (recency-weighted), ``g = f``
    left out — "the recipients of your funders are also funded by …". Unknown without a grant.
``openness`` (:class:`FunderOpenness`)
    The funder's openness to new recipients: the share of its grants of the latest history year
    that went to a recipient it had never granted before, over the largest such share. The same
    for every project (a prior for the funder a project does not know yet).

A *successor* map (:func:`successor_map`) is learned from the data: a funder whose grants stop
(none in the last ``dormant_years`` years) while most of its recipients of its last year are
granted by one other funder afterwards is taken to be merged into or renamed as that funder;
:func:`apply_successors` relabels its history rows so that the successor learns from them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from funders.history import GRANTED, decision_status
from matcher.core.text import fold
from matcher.engine.award import recipient_keys
from matcher.engine.criterion import Criterion, FitContext, FrameCache
from matcher.engine.features import Block, as_float, as_text, column

#: A grant this many years older than the latest one counts half.
HALF_LIFE_YEARS = 1.0
#: Share of a dormant funder's last-year recipients that one other funder must take over.
SUCCESSOR_SHARE = 0.2
#: Default number of empty last years that make a funder dormant (for the successor map).
DORMANT_YEARS = 2


#: ``siren:<9 digits>`` from a SIRET/SIREN ``recipient_id``, else ``name:<folded name>``, else None:
#: the recipient identity the award model and ``evaluate`` use.
history_recipient_keys = recipient_keys


def project_recipient_keys(projects: pd.DataFrame) -> np.ndarray:
    """The same key for canonical projects: ``siren``, else ``siret``'s first 9 digits, else the carrier name."""
    out = []
    for siren, siret, name in zip(column(projects, "siren"), column(projects, "siret"),
                                  column(projects, "carrier_name"), strict=True):
        found = None
        for value, size in ((siren, 9), (siret, 14)):
            text = as_text(value)
            compact = "".join(text.split()) if text else ""
            if len(compact) == size and compact.isdigit():
                found = f"siren:{compact[:9]}"
                break
        if found is None:
            folded = fold(as_text(name) or "")
            found = f"name:{folded}" if folded else None
        out.append(found)
    return np.array(out, dtype=object)


def _granted_rows(history: pd.DataFrame) -> pd.DataFrame:
    """key, funder, year, recency weight of every granted row with a known recipient and funder."""
    if history is None or not len(history):
        return pd.DataFrame({"k": [], "f": [], "y": [], "w": []})
    status = decision_status(history)
    frame = pd.DataFrame({"k": history_recipient_keys(history),
                          "f": [as_text(v) for v in column(history, "funder_id")],
                          "y": [as_float(v) for v in column(history, "year")]})
    frame = frame[(status == GRANTED) & frame["k"].notna() & frame["f"].notna()].reset_index(drop=True)
    return frame


def _recency(years: pd.Series, half_life: float) -> np.ndarray:
    y = years.to_numpy(dtype=float)
    if not np.isfinite(y).any():
        return np.ones(len(y))
    latest = np.nanmax(y)
    return 0.5 ** (np.where(np.isnan(y), 0.0, latest - y) / half_life)


# --------------------------------------------------------------------------- successors


def successor_map(history: pd.DataFrame, dormant_years: int = DORMANT_YEARS,
                  share: float = SUCCESSOR_SHARE) -> dict[str, str]:
    """Dormant funder -> the funder that took over its recipients (see the module docstring).

    A funder is dormant when its last grant is more than ``dormant_years`` before the latest
    year of the history; its successor is the funder that, in the years after that last grant,
    granted the largest share (at least ``share``) of the recipients it granted in its last year.
    """
    rows = _granted_rows(history)
    if rows.empty or not np.isfinite(rows["y"]).any():
        return {}
    latest = rows["y"].max()
    last_year = rows.groupby("f")["y"].max()
    out = {}
    for funder, year in sorted(last_year.items()):
        if not year <= latest - dormant_years:
            continue
        recipients = set(rows.loc[(rows["f"] == funder) & (rows["y"] == year), "k"])
        later = rows[(rows["y"] > year) & (rows["f"] != funder) & rows["k"].isin(recipients)]
        if not recipients or later.empty:
            continue
        taken = later.groupby("f")["k"].nunique().sort_index()
        best = taken.idxmax()
        if taken[best] / len(recipients) >= share:
            out[funder] = best
    # Follow chains (a -> b -> c) to their end.
    for funder in list(out):
        seen, target = {funder}, out[funder]
        while target in out and target not in seen:
            seen.add(target)
            target = out[target]
        out[funder] = target
    return out


def apply_successors(history: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``history`` whose ``funder_id`` of a mapped funder is its successor's."""
    if not mapping:
        return history
    out = history.copy()
    out["funder_id"] = [mapping.get(as_text(v), v) if as_text(v) else v for v in out["funder_id"].tolist()]
    return out


# --------------------------------------------------------------------------- the tables


class RecordTables:
    """Per recipient and funder: recency-weighted grants; per funder pair: shared recipients."""

    def __init__(self, history: pd.DataFrame, half_life_years: float = HALF_LIFE_YEARS):
        rows = _granted_rows(history)
        rows["w"] = _recency(rows["y"], half_life_years)
        self.funders = np.array(sorted(set(rows["f"].tolist())), dtype=object)
        index = {f: i for i, f in enumerate(self.funders.tolist())}
        rows["fi"] = rows["f"].map(index)
        pair = rows.groupby(["k", "fi"])["w"].sum()
        self.keys = {k: i for i, k in enumerate(sorted(set(rows["k"].tolist())))}
        n_f = len(self.funders)
        weights = np.zeros((len(self.keys), n_f))
        if len(pair):
            ki = np.array([self.keys[k] for k in pair.index.get_level_values(0)], dtype=np.int64)
            weights[ki, pair.index.get_level_values(1).to_numpy()] = pair.to_numpy()
        self.weights = weights  # recipients x funders, recency-weighted grants
        funded = (weights > 0).astype(float)
        shared = funded.T @ funded  # funders x funders: recipients granted by both
        sizes = np.diag(shared).copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            self.cofund = np.where(sizes[:, None] > 0, shared / np.where(sizes > 0, sizes, 1)[:, None], 0.0)
        np.fill_diagonal(self.cofund, 0.0)  # cofund[g, f]: share of g's recipients f granted too
        latest = rows["y"].max() if len(rows) else np.nan
        first_year = rows.groupby(["k", "fi"])["y"].min()
        last = rows[rows["y"] == latest]
        openness = np.zeros(n_f)
        if len(last):
            firsts = first_year.reindex(pd.MultiIndex.from_arrays([last["k"], last["fi"]])).to_numpy()
            new = firsts == latest
            counts = np.bincount(last["fi"].to_numpy(), minlength=n_f)
            news = np.bincount(last["fi"].to_numpy(), weights=new.astype(float), minlength=n_f)
            openness = np.where(counts > 0, news / np.maximum(counts, 1), 0.0)
        top = openness.max() if openness.size else 0.0
        self.openness = openness / top if top > 0 else openness

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        return np.array([self.keys.get(k, -1) if k is not None else -1 for k in keys.tolist()], dtype=np.int64)

    def record(self, rows: np.ndarray) -> np.ndarray:
        out = 1.0 - 0.5 ** self.weights[np.maximum(rows, 0)]
        out[rows < 0] = np.nan
        return out

    def cofunding(self, rows: np.ndarray) -> np.ndarray:
        w = self.weights[np.maximum(rows, 0)]
        total = w.sum(axis=1, keepdims=True)
        out = (w @ self.cofund) / np.where(total > 0, total, 1.0)
        # Leave g = f out of the mean: the pair itself is the record criterion's.
        own = w / np.where(total > 0, total, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(own < 1.0, out / np.where(own < 1.0, 1.0 - own, 1.0), 0.0)
        out[(rows < 0) | (total[:, 0] == 0)] = np.nan
        return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------- the criteria


class _RecordCriterion(FrameCache, Criterion):
    requires_history = True
    default_weight = 0.0

    def __init__(self, half_life_years: float = HALF_LIFE_YEARS):
        self.half_life_years = half_life_years

    def fit(self, context: FitContext):
        self.tables_ = RecordTables(context.history, self.half_life_years)
        self.funder_ids_ = np.asarray(context.features.funder_ids, dtype=object)
        self.funder_columns_ = self._columns_of(self.funder_ids_)
        self._cache_key = None
        self._cache_scores = None
        return self

    def _columns_of(self, funder_ids) -> np.ndarray:
        index = {f: i for i, f in enumerate(self.tables_.funders.tolist())}
        return np.array([index.get(f, -1) for f in list(funder_ids)], dtype=np.int64)

    def matrix(self, projects: pd.DataFrame) -> np.ndarray:
        """Scores of every project row against every funder of the history (columns: ``tables_.funders``)."""
        raise NotImplementedError

    def score(self, block: Block) -> np.ndarray:
        frame, rows = getattr(block.p, "frame", None), getattr(block.p, "rows", None)
        if frame is None or rows is None:
            raise TypeError(f"{type(self).__name__} needs project features that carry their frame")
        columns = self.funder_columns_
        if not np.array_equal(block.f.funder_ids, self.funder_ids_):
            columns = self._columns_of(block.f.funder_ids)
        scores = self.cached_for(frame, self.matrix)[rows]
        if scores.shape[1] == 0:
            return np.full(block.shape, np.nan)
        out = scores[:, np.maximum(columns, 0)]
        out[:, columns < 0] = self.missing_funder
        out[np.isnan(scores).all(axis=1)] = np.nan  # a recipient the history does not know
        return out

    #: Score against a funder absent from the history (for a recipient the history knows).
    missing_funder = np.nan


class RecipientRecord(_RecordCriterion):
    """The recipient's own recency-weighted past grants from the funder (module docstring)."""

    name = "record"
    missing_funder = 0.0

    def matrix(self, projects):
        return self.tables_.record(self.tables_.rows_of(project_recipient_keys(projects)))


class CoFunding(_RecordCriterion):
    """How often the recipient's funders share their recipients with this funder (module docstring)."""

    name = "cofunding"

    def matrix(self, projects):
        return self.tables_.cofunding(self.tables_.rows_of(project_recipient_keys(projects)))


class FunderOpenness(_RecordCriterion):
    """The funder's share of grants to recipients new to it, latest year (module docstring)."""

    name = "openness"

    def matrix(self, projects):
        return np.broadcast_to(self.tables_.openness, (len(projects), len(self.tables_.funders))).copy()


def record_features(train: pd.DataFrame, test: pd.DataFrame, rows: np.ndarray, funder_ids: np.ndarray,
                    half_life_years: float = HALF_LIFE_YEARS) -> dict[str, np.ndarray]:
    """The three scores for lines (``rows`` index ``test`` history rows, one funder id per line) —
    for experiments on dumped rankings (``benchmarks/paris_rerank.py``)."""
    tables = RecordTables(train, half_life_years)
    keys = tables.rows_of(history_recipient_keys(test))
    index = {f: i for i, f in enumerate(tables.funders.tolist())}
    cols = np.array([index.get(f, -1) for f in funder_ids.tolist()], dtype=np.int64)
    out = {}
    for name, matrix in (("record", tables.record(keys)), ("cofunding", tables.cofunding(keys)),
                         ("openness", np.broadcast_to(tables.openness, (len(keys), len(tables.funders))))):
        values = matrix[rows, np.maximum(cols, 0)].astype(float) if len(tables.funders) else \
            np.full(len(rows), np.nan)
        values[cols < 0] = 0.0 if name == "record" else np.nan
        out[name] = values
    return out


__all__ = [
    "CoFunding",
    "FunderOpenness",
    "RecipientRecord",
    "RecordTables",
    "apply_successors",
    "history_recipient_keys",
    "project_recipient_keys",
    "record_features",
    "successor_map",
]
