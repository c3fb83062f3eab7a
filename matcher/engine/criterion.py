"""The base of every criterion: :class:`Criterion` and what it may learn from (:class:`FitContext`).

The built-in criteria are in :mod:`matcher.engine.criteria`, the history criterion in
:mod:`matcher.engine.history_affinity`; both derive from :class:`Criterion`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.engine.explain import messages
from matcher.engine.features import Block, FeatureSpace, FunderFeatures


@dataclass
class FitContext:
    """What a criterion may learn from at fit time."""

    space: FeatureSpace
    funders: pd.DataFrame
    features: FunderFeatures
    history: pd.DataFrame | None = None


class Criterion:
    """Base class of every criterion (see the module docstring)."""

    name = "criterion"
    default_weight = 0.0
    requires_history = False

    def label(self, lang: str = "fr") -> str:
        entry = messages().get("criteria", {}).get(self.name)
        return entry[lang] if entry else self.name.replace("_", " ")

    def label_for(self, funder: dict, lang: str = "fr") -> str:
        """The label of this criterion in the explanation of a pair with ``funder`` (a funder row)."""
        return self.label(lang)

    def fit(self, context: FitContext) -> Criterion:
        """Learn what the criterion needs from the funders (and history); returns self."""
        return self

    def score(self, block: Block) -> np.ndarray:
        """The P x F scores of the block (NaN = unknown)."""
        if type(self).fill is Criterion.fill:
            raise NotImplementedError
        out = np.empty(block.shape)
        self.fill(block, out)
        return out

    def fill(self, block: Block, out: np.ndarray) -> None:
        """Write the scores of the block into ``out`` (P x F). The default copies
        :meth:`score`; the built-in criteria write in place (compiled loops)."""
        values = self.score(block)
        if np.broadcast_shapes(np.shape(values), block.shape) != block.shape:
            raise ValueError(f"criterion {self.name!r} returned a {np.shape(values)} array "
                             f"for a {block.shape} block")
        np.copyto(out, values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FrameCache:
    """Per-row values computed once per projects frame (held by weak reference) for a learned criterion.

    The cache is dropped when the criterion is pickled (sent to a worker) or deep-copied.
    """

    _cache_key = None
    _cache_scores = None

    def cached_for(self, frame, compute):
        """``compute(frame)``, or its result kept from the last call with this very frame."""
        key = self._cache_key() if self._cache_key is not None else None
        if key is not frame:
            self._cache_scores = compute(frame)
            self._cache_key = weakref.ref(frame)
        return self._cache_scores

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache_key"] = None
        state["_cache_scores"] = None
        return state

    def __deepcopy__(self, memo):
        import copy

        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__getstate__().items():
            setattr(clone, key, copy.deepcopy(value, memo))
        return clone
