"""The score: a weighted mean of the known criteria, and the ranking order.

Default weights (the one place they are set; they sum to 1):

=================== ======
criterion           weight
=================== ======
``sector``          0.25
``text``            0.15
``scale``           0.15
``legal_form``      0.05
``territory``       0.15
``just_transition`` 0.15
``cooperation``     0.10
=================== ======

Precedence, criterion by criterion: the run's weights (``Matcher(weights=…)``)
override the funder row's ``weights`` (a call's weights already override its
funder's in the canonical rows), which override these defaults. A criterion
that is not built in takes its ``default_weight`` attribute. Weight names may
be given as the criterion name or its French/English label, folded
(``territoire``, ``forme juridique``).

Score of a pair: ``sum(w_c x s_c) / sum(w_c)`` over the criteria whose score
is known. ``contribution_c = s_c x w_c / sum(known w)``, so the contributions
sum to the score; ``unknown_weight`` is the share of the weight whose
criterion was unknown. A pair with no known criterion scores 0 with an
unknown weight of 1.

Ranking: pairs that are not ineligible come first, by decreasing score
(scores are compared to 1e-9, so float noise does not reorder equal scores),
then by id: ``(project_id, funder_id, call_id)``; ineligible pairs always come
after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from matcher.core.errors import MatchingError
from matcher.core.suggest import close_matches
from matcher.core.text import fold
from matcher.engine import kernels
from matcher.engine.eligibility import EligibilityBlock, Rule, evaluate_rules
from matcher.engine.features import Block, as_weighted, column

DEFAULT_WEIGHTS: dict[str, float] = {
    "sector": 0.25,
    "text": 0.15,
    "scale": 0.15,
    "legal_form": 0.05,
    "territory": 0.15,
    "just_transition": 0.15,
    "cooperation": 0.10,
}

#: Scores closer than this rank as ties (then broken by id).
SCORE_QUANTUM = 1 / kernels.QUANTA


def default_weight(criterion) -> float:
    return DEFAULT_WEIGHTS.get(criterion.name, getattr(criterion, "default_weight", 0.0))


def weight_aliases(criteria) -> dict[str, str]:
    """Folded names and labels (fr, en) of each criterion -> its name."""
    aliases: dict[str, str] = {}
    for criterion in criteria:
        for text in (criterion.name, criterion.label("fr"), criterion.label("en")):
            aliases.setdefault(fold(text).replace(" ", "_"), criterion.name)
    return aliases




def resolve_weights(weights: Mapping | None, criteria, where: str, problems: list[str]) -> dict[str, float]:
    """Map a weights dict onto criterion names; append every problem found to ``problems``."""
    if not weights:
        return {}
    aliases = weight_aliases(criteria)
    names = [c.name for c in criteria]
    out: dict[str, float] = {}
    for key, value in weights.items():
        name = aliases.get(fold(str(key)).replace(" ", "_"))
        if name is None:
            close = ", ".join(close_matches(str(key), names))
            hint = f" (did you mean {close}?)" if close else ""
            problems.append(f"{where}: unknown criterion '{key}'{hint}; criteria: {', '.join(names)}")
            continue
        try:
            weight = float(value)
        except (TypeError, ValueError):
            problems.append(f"{where}: weight of '{key}' is not a number: {value!r}")
            continue
        if not np.isfinite(weight) or weight < 0:
            problems.append(f"{where}: weight of '{key}' must be a finite number >= 0, not {value!r}")
            continue
        out[name] = weight
    return out


def weight_matrix(funders: pd.DataFrame, criteria, run_weights: Mapping | None) -> np.ndarray:
    """Effective weights, one row per funder row (F x C): defaults < funder row < run.

    Raises
    ------
    MatchingError
        Listing every bad weight at once: unknown criterion, negative or not
        a number, or all weights of a row zero.
    """
    names = [c.name for c in criteria]
    problems: list[str] = []
    run = resolve_weights(run_weights, criteria, "weights", problems)
    base = np.array([default_weight(c) for c in criteria], dtype=float)
    matrix = np.tile(base, (len(funders), 1))
    ids = column(funders, "funder_id")
    calls = column(funders, "call_id")
    for f, raw in enumerate(column(funders, "weights")):
        own = as_weighted(raw) if not isinstance(raw, Mapping) else dict(raw)
        where = f"funder '{ids[f]}'" + (f" call '{calls[f]}'" if calls[f] is not None else "") + " weights"
        for name, weight in resolve_weights(own, criteria, where, problems).items():
            matrix[f, names.index(name)] = weight
    for name, weight in run.items():
        matrix[:, names.index(name)] = weight
    if run and len(run) == len(criteria) and not any(run.values()):
        problems.append("weights: every weight is zero")
    else:
        for f in np.flatnonzero(matrix.sum(axis=1) <= 0):
            problems.append(f"funder '{ids[f]}' weights: every weight is zero")
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise MatchingError("bad weights:\n  " + "\n  ".join(shown))
    return matrix


# --------------------------------------------------------------------------- blocks


@dataclass
class ScoredBlock:
    """Scores of a block: per criterion (C x P x F), the total, the known weight,
    eligibility (with the verdicts), and the ranking keys without positions
    (see :func:`matcher.engine.kernels.combine`: add a pair's position with ``|``)."""

    scores: np.ndarray
    score: np.ndarray
    known_weight: np.ndarray
    eligibility: EligibilityBlock
    keys: np.ndarray
    tally: np.ndarray  # pairs eligible, to check, ineligible


def score_block(criteria, rules: list[Rule], block: Block, weights: np.ndarray) -> ScoredBlock:
    """Eligibility and every criterion over one block, combined into the score.

    ``weights`` are the effective weights of the block's funder rows (F x C).
    Each criterion fills its layer of one C x P x F stack; one compiled pass
    (:func:`matcher.engine.kernels.combine`) then makes the weighted mean of the
    known criteria, the verdicts and the ranking keys.
    """
    _ = block.places  # the rules read its relations, the territory its score: computed once
    return _score(criteria, block, weights, evaluate_rules(rules, block, verdict=False))


@dataclass
class ScoredPairs:
    """Scores of the pairs of a block that fail no hard rule (N of them, listed row by row):
    per criterion (C x N), the total, the known weight, the verdicts (eligible or to check)
    and the ranking keys without positions; the tally counts every pair of the block."""

    rows: np.ndarray  # block row of each pair
    cols: np.ndarray  # funder row of each pair
    scores: np.ndarray
    score: np.ndarray
    known_weight: np.ndarray
    verdict: np.ndarray
    keys: np.ndarray
    eligibility: EligibilityBlock
    tally: np.ndarray

    def gather(self, idx: np.ndarray, keys: np.ndarray, project_offset: int) -> PairDetails:
        """The details of the pairs ``idx`` (indices into the pairs), with their ranking ``keys``."""
        el = self.eligibility
        rows, cols = self.rows[idx], self.cols[idx]
        return PairDetails(
            project=rows + project_offset, funder=cols, key=keys, verdict=self.verdict[idx],
            score=self.score[idx], known_weight=self.known_weight[idx], scores=self.scores[:, idx].T,
            fail_bits=el.fail_bits[rows, cols], unknown_bits=el.unknown_bits[rows, cols],
            warn_bits=el.warn_bits[rows, cols])


def fill_pairs(criterion, block: Block, rows: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
    """The criterion's scores of the pairs ``(rows, cols)`` of a block into ``out`` (N): its own
    ``fill_pairs`` when it has one (the built-in criteria: a compiled loop over the pairs),
    else its whole layer (:meth:`Criterion.fill`), read at the pairs."""
    own = getattr(criterion, "fill_pairs", None)
    if own is not None:
        own(block, rows, cols, out)
        return
    layer = np.empty(block.shape)
    criterion.fill(block, layer)
    out[:] = layer[rows, cols]


def score_pairs(criteria, rules: list[Rule], block: Block, weights: np.ndarray) -> ScoredPairs:
    """:func:`score_block`, eligibility first and pair by pair: the hard rules over the block,
    then every criterion and the score only for the pairs that fail no rule (the only ones
    a ranking keeps), each with the operations, in the same order, of the block's loops: the
    values of every pair scored are those of :func:`score_block`.

    ``weights`` are the effective weights of every funder row of the block (F x C, float).
    """
    eligibility = evaluate_rules(rules, block, verdict=False)
    rows, cols = kernels.alive_pairs(eligibility.fail_bits)
    n = len(rows)
    stack = np.empty((len(criteria), n))
    if n:
        for c, criterion in enumerate(criteria):
            fill_pairs(criterion, block, rows, cols, stack[c])
    score = np.empty(n)
    known = np.empty(n)
    verdict = np.empty(n, dtype=np.int8)
    keys = np.empty(n, dtype=np.int64)
    to_check = kernels.combine_pairs(stack, np.ascontiguousarray(weights, dtype=float), eligibility.unknown_bits,
                                     rows, cols, score, known, verdict, keys)
    n_rows, n_cols = block.shape
    tally = np.array([n - to_check, to_check, n_rows * n_cols - n], dtype=np.int64)
    return ScoredPairs(rows, cols, stack, score, known, verdict, keys, eligibility, tally)


def by_criterion(weights: np.ndarray) -> np.ndarray:
    """The C x F (C-ordered) float copy of F x C weights the compiled loops read."""
    return np.ascontiguousarray(np.asarray(weights, dtype=float).T)


def _score(criteria, block: Block, weights: np.ndarray, eligibility: EligibilityBlock) -> ScoredBlock:
    shape = block.shape
    stack = np.empty((len(criteria), *shape))
    for c, criterion in enumerate(criteria):
        criterion.fill(block, stack[c])
    score = np.empty(shape)
    known = np.empty(shape)
    verdict = np.empty(shape, dtype=np.int8)
    keys = np.empty(shape, dtype=np.int64)
    tally = np.zeros(3, dtype=np.int64)
    kernels.combine(stack, by_criterion(weights), eligibility.fail_bits,
                    eligibility.unknown_bits, score, known, verdict, keys, tally)
    eligibility.verdict = verdict
    return ScoredBlock(stack, score, known, eligibility, keys, tally)


def rank_keys(scored: ScoredBlock, position: np.ndarray) -> np.ndarray:
    """One int64 per pair whose order is the ranking order: the block's keys with each pair's
    ``position`` (broadcast against the block; < 2**24) in the low bits.

    Bits, high to low: ineligible (1 bit), ``1e9 - round(score x 1e9)``, then
    the position to break ties.
    """
    return scored.keys | np.asarray(position, dtype=np.int64)


def check_positions(n: int) -> None:
    if n >= 1 << kernels.POSITION_BITS:
        raise MatchingError(f"too many rows to rank at once ({n:,} >= {1 << kernels.POSITION_BITS:,})")


@dataclass
class PairDetails:
    """Everything kept about selected pairs (N of them), gathered from blocks."""

    project: np.ndarray  # index into the sorted projects
    funder: np.ndarray  # index into the sorted funder rows
    key: np.ndarray
    verdict: np.ndarray
    score: np.ndarray
    known_weight: np.ndarray
    scores: np.ndarray  # N x C
    fail_bits: np.ndarray
    unknown_bits: np.ndarray
    warn_bits: np.ndarray

    def __len__(self) -> int:
        return len(self.project)

    def take(self, idx) -> PairDetails:
        return PairDetails(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[PairDetails], n_criteria: int) -> PairDetails:
        if not parts:
            empty = np.zeros(0)
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                       np.zeros(0, np.int8), empty, empty, np.zeros((0, n_criteria)),
                       np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.uint32))
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def gather(scored: ScoredBlock, rows: np.ndarray, cols: np.ndarray, keys: np.ndarray,
           project_offset: int, funder_index: np.ndarray) -> PairDetails:
    """The details of the pairs at ``(rows, cols)`` of a block."""
    el = scored.eligibility
    return PairDetails(
        project=rows.astype(np.int64) + project_offset,
        funder=funder_index[cols].astype(np.int64),
        key=keys,
        verdict=el.verdict[rows, cols],
        score=scored.score[rows, cols],
        known_weight=scored.known_weight[rows, cols],
        scores=scored.scores[:, rows, cols].T,
        fail_bits=el.fail_bits[rows, cols],
        unknown_bits=el.unknown_bits[rows, cols],
        warn_bits=el.warn_bits[rows, cols],
    )


def top_per_row(keys: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the ``k`` smallest keys of each row, row by row, in key order."""
    n_rows, n_cols = keys.shape
    if n_rows == 0 or n_cols == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if k is None or k >= n_cols:
        cols = np.argsort(keys, axis=1)
    else:
        part = np.argpartition(keys, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
        cols = np.take_along_axis(part, order, axis=1)
    rows = np.repeat(np.arange(n_rows), cols.shape[1])
    return rows, cols.ravel()


def contributions(details: PairDetails, weights: np.ndarray) -> np.ndarray:
    """``score_c x w_c / sum(known w)`` per pair and criterion (NaN for unknown criteria)."""
    w = weights[details.funder]
    den = details.known_weight[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = details.scores * w / den
    return np.where(den > 0, out, np.where(np.isnan(details.scores), np.nan, 0.0))


def unknown_weight(details: PairDetails, weights: np.ndarray) -> np.ndarray:
    total = weights[details.funder].sum(axis=1)
    return np.where(total > 0, 1.0 - details.known_weight / np.where(total > 0, total, 1.0), 0.0)
