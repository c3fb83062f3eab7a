"""Purpose affinity: how close a project's purpose is to what each funder granted recently.

:class:`PurposeAffinity` is a history criterion that ignores who the recipient
is: only the words of the purpose (the project's name and summary against the
past granted purposes). It is there for the funder a project does not know yet,
where the recipient's own record (which the history criterion reads through
its ids) points at the funders it already has.

Model: TF-IDF of character 3–5-grams within words (accents folded, robust to
the spelling noise of real exports) of every past *granted* purpose; each
funder's profile is the recency-weighted mean of its grants' vectors
(``0.5 ** (age / HALF_LIFE_YEARS)``), normalised. The raw similarity is the
cosine of the project's vector with each profile; the score is that cosine
divided by the project's best cosine over the funders (1 for the closest
funder, relative below it), unknown for a funder without a granted row or a
project without words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from funders.history import GRANTED, decision_status
from matcher.engine.criterion import Criterion, FitContext, FrameCache
from matcher.engine.features import Block, as_float, as_text, column

#: Default weight (against the built-in weights that sum to 1 and the history criterion's 1.0).
DEFAULT_WEIGHT = 0.0
#: A grant this many years older than the latest one counts half in the funder's profile.
HALF_LIFE_YEARS = 2.0


class PurposeAffinity(FrameCache, Criterion):
    """Closeness of the project's purpose to each funder's recent granted purposes (module docstring)."""

    name = "purpose"
    default_weight = DEFAULT_WEIGHT
    requires_history = True

    def __init__(self, half_life_years: float = HALF_LIFE_YEARS):
        self.half_life_years = half_life_years

    def fit(self, context: FitContext) -> PurposeAffinity:
        history = context.history if context.history is not None else pd.DataFrame()
        status = decision_status(history) if len(history) else np.zeros(0, dtype=object)
        purposes = [as_text(v) for v in column(history, "purpose")]
        funders = [as_text(v) for v in column(history, "funder_id")]
        keep = np.array([s == GRANTED and p is not None and f is not None
                         for s, p, f in zip(status, purposes, funders, strict=True)], dtype=bool)
        self.funder_ids_ = np.asarray(context.features.funder_ids, dtype=object)
        self._cache_key = None
        self._cache_scores = None
        if keep.sum() < 2:
            self.vectorizer_ = None
            return self
        texts = [purposes[i] for i in np.flatnonzero(keep)]
        labels = np.array([funders[i] for i in np.flatnonzero(keep)], dtype=object)
        years = np.array([as_float(v) for v in column(history, "year")], dtype=float)[keep]
        latest = np.nanmax(years) if (~np.isnan(years)).any() else np.nan
        age = np.where(np.isnan(years), 0.0, latest - years) if not np.isnan(latest) else np.zeros(len(texts))
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                                           strip_accents="unicode", dtype=np.float32, max_features=300_000)
        matrix = self.vectorizer_.fit_transform(texts)
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        index = np.searchsorted(self.classes_, labels)
        from scipy import sparse

        weights = 0.5 ** (age / self.half_life_years)
        assign = sparse.csr_matrix((weights, (index, np.arange(len(texts)))), shape=(len(self.classes_), len(texts)))
        profiles = np.asarray((assign @ matrix).todense(), dtype=np.float32)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        self.profiles_ = profiles / np.where(norms > 0, norms, 1.0)
        lookup = {f: i for i, f in enumerate(self.classes_.tolist())}
        self.funder_columns_ = np.array([lookup.get(f, -1) for f in self.funder_ids_.tolist()], dtype=np.int64)
        return self

    def similarities(self, projects: pd.DataFrame) -> np.ndarray:
        """Cosine of each project's purpose with each funder profile (columns: ``classes_``); NaN rows
        for projects without words."""
        texts = [" ".join(p for p in (as_text(a), as_text(b)) if p)
                 for a, b in zip(column(projects, "name"), column(projects, "summary"), strict=True)]
        matrix = self.vectorizer_.transform(texts)
        out = np.asarray(matrix @ self.profiles_.T, dtype=float)
        empty = np.asarray(matrix.getnnz(axis=1) == 0)
        out[empty] = np.nan
        return out

    def _relative_similarities(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's similarities to the funders, over its best one (NaN where it has none)."""
        cosines = self.similarities(frame)
        best = np.nanmax(np.where(np.isnan(cosines), -np.inf, cosines), axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(best > 0, cosines / np.where(best > 0, best, 1.0), np.nan)

    def score(self, block: Block) -> np.ndarray:
        frame, rows = getattr(block.p, "frame", None), getattr(block.p, "rows", None)
        if frame is None or rows is None:
            raise TypeError("PurposeAffinity needs project features that carry their frame")
        if self.vectorizer_ is None:
            return np.full(block.shape, np.nan)
        scores = self.cached_for(frame, self._relative_similarities)[rows]
        columns = self.funder_columns_
        if not np.array_equal(block.f.funder_ids, self.funder_ids_):
            lookup = {f: i for i, f in enumerate(self.classes_.tolist())}
            columns = np.array([lookup.get(f, -1) for f in list(block.f.funder_ids)], dtype=np.int64)
        out = scores[:, np.maximum(columns, 0)]
        out[:, columns < 0] = np.nan
        return out



__all__ = ["PurposeAffinity"]
