"""Criteria: how well a project fits a funder row, one named score in [0, 1] each.

A criterion is an object with a ``name`` (the suffix of the ``score_<name>``
and ``contribution_<name>`` output columns and the key of its weight), a
``label(lang)``, and a vectorised :meth:`Criterion.score` over a
:class:`~matcher.engine.features.Block` returning a P x F float array with NaN where
the score is unknown (never 0 for "unknown"). The built-in criteria implement
:meth:`Criterion.fill` instead, writing their layer of the block's score stack
in place with one compiled loop (:mod:`matcher.engine.kernels`); a new criterion may
implement either.

The set is open: subclass :class:`Criterion`, give it a ``name`` and a
``default_weight``, and pass it in ``Matcher(criteria=[...])``. A criterion
that learns from grant history sets ``requires_history = True`` and does its
learning in :meth:`Criterion.fit`, which receives the fitted funder features
and the history frame; it is left out when no history is given.

Formulas (all documented where they are defined):

- ``sector``: 0.7 x the funder's priority of the project's best-matching
  sector (relative to the funder's top priority) + 0.3 x the share of the
  project's sectors the funder funds;
- ``text``: rescaled TF-IDF cosine (:mod:`matcher.core.textsim`);
- ``scale``: requested amount against the ticket range and the share of
  budget, on a log scale (one decade away -> 0);
- ``legal_form``: named explicitly 1.0, through a group 0.85, open funder
  0.6, not accepted 0;
- ``territory``: the most local perimeter code containing the place
  (commune 1.0, EPCI 0.9, department 0.8, region 0.65, FR 0.45, EU 0.35),
  averaged over the project's places, 0 outside, half for a place that only
  partly overlaps the perimeter;
- ``just_transition``: weighted coverage of the funder's priorities by the
  project's levels / 3 (or, without priorities, the mean of the best level of
  each pillar), blended 3:1 with the ecological+social rule;
- ``cooperation``: mean of partners (saturating), diversity of partner kinds
  and governance features.
"""

from __future__ import annotations

import numpy as np

from matcher.core.textsim import rescale_in_place
from matcher.engine import kernels
from matcher.engine.criterion import Criterion
from matcher.engine.explain import messages
from matcher.engine.features import (
    as_bool,
    dense_terms,
    terms_by_funder,
)
from matcher.engine.history_affinity import HistoryAffinity

# --------------------------------------------------------------------------- sector

#: Share of the sector score given by the priority of the best-matching sector.
SECTOR_PRIORITY_SHARE = 0.7
#: Factor of the sector score of a funder row whose sectors were inferred from its name and
#: description (``sectors_inferred``, e.g. the Aides-territoires export) rather than stated: a guess
#: counts half as much as a declared sector, so it ranks a stated match above a guessed one.
INFERRED_SECTOR_FACTOR = 0.5


class SectorFit(Criterion):
    """Taxonomy overlap weighted by the funder's priorities.

    ``0.7 x max over the project's sectors of (funder weight / funder's top
    weight) + 0.3 x (project sectors the funder funds / project sectors)``.
    Unknown when either side has no sectors; 0 for a project that says it has
    none. A funder row whose sectors were inferred from its text scores
    :data:`INFERRED_SECTOR_FACTOR` times that.
    """

    name = "sector"

    def label_for(self, funder, lang="fr"):
        """``secteurs déduits du texte`` / ``sectors inferred from the text`` for an inferred row."""
        if as_bool(funder.get("sectors_inferred")) is True:
            return messages()["criteria"]["sector_inferred"][lang]
        return self.label(lang)

    def fill(self, block, out):
        weights, funds, unset = _sector_tables(block.f)
        kernels.sector_scores(block.p.sector_idx, block.p.sector_count, weights, funds, unset,
                              SECTOR_PRIORITY_SHARE, 1 - SECTOR_PRIORITY_SHARE, out)

    def fill_pairs(self, block, rows, cols, out):
        f = block.f
        _, _, unset = _sector_tables(f)
        table = f.__dict__.get("_sector_pair_table")
        if table is None:  # weights and funds side by side: a pair reads one place per sector
            weights, funds, _ = _sector_tables(f)
            table = f.__dict__["_sector_pair_table"] = np.ascontiguousarray(np.stack([weights, funds], axis=-1))
        kernels.sector_pairs(block.p.sector_idx, block.p.sector_count, table, unset,
                             SECTOR_PRIORITY_SHARE, 1 - SECTOR_PRIORITY_SHARE, rows, cols, out)


def _sector_tables(f) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sector (S + 1 rows, the last zeros for padding) x funder row: the weights, 1.0
    where the funder row funds the sector, and a row of 0 / NaN (no sectors); cached on ``f``.

    The score is linear in the first two, so an inferred row's columns carry its factor."""
    found = f.__dict__.get("_sector_tables")
    if found is None:
        weights = np.ascontiguousarray(f.sector_weights.T)
        unset = np.where(f.sector_set, 0.0, np.nan)
        funds = (weights > 0).astype(float)
        if f.sector_inferred.any():
            factor = np.where(f.sector_inferred, INFERRED_SECTOR_FACTOR, 1.0)[None, :]
            weights, funds = np.ascontiguousarray(weights * factor), funds * factor
        found = f.__dict__["_sector_tables"] = (weights, funds, unset)
    return found


# --------------------------------------------------------------------------- text


class TextSimilarity(Criterion):
    """French-aware TF-IDF cosine of the project and funder texts, rescaled
    (:func:`matcher.core.textsim.rescale`); unknown when a side has no words."""

    name = "text"

    def fill(self, block, out):
        p, f = block.p, block.f
        text = p.text
        dense = dense_terms(f)
        if dense is not None:
            kernels.text_cosines(text.indptr, text.indices, text.data, dense, out)
        else:
            by_term = terms_by_funder(f)
            kernels.text_cosines_sparse(text.indptr, text.indices, text.data, by_term.indptr,
                                        by_term.indices, by_term.data, out)
        rescale_in_place(out)  # numpy's vectorised tanh
        if not p.text_known.all():
            out[~p.text_known] = np.nan
        if not f.text_known.all():
            out += np.where(f.text_known, 0.0, np.nan)[None, :]  # faster than a column assignment

    def fill_pairs(self, block, rows, cols, out):
        p, f = block.p, block.f
        text = p.text
        dense = dense_terms(f)
        if dense is not None:
            kernels.text_cosine_pairs(text.indptr, text.indices, text.data, dense, rows, cols, out)
        else:
            by_term = terms_by_funder(f)
            kernels.text_cosine_pairs_sparse(text.indptr, text.indices, text.data, by_term.indptr,
                                             by_term.indices, by_term.data, rows, cols, out)
        rescale_in_place(out)  # the same numpy tanh as the block's, value by value
        if not p.text_known.all():
            out[~p.text_known[rows]] = np.nan
        if not f.text_known.all():
            out += np.where(f.text_known, 0.0, np.nan)[cols]


# --------------------------------------------------------------------------- scale

#: Distance, in decades (factor 10), over which the scale score falls from 1 to 0.
SCALE_DECADES = 1.0


class ScaleFit(Criterion):
    """The requested amount against the ticket range and the share of budget, on a log scale.

    Two components, each 1 when the amount fits and falling linearly to 0 one
    decade away: the ticket range (below ``ticket_min`` or above
    ``ticket_max``) and the share of budget (request above
    ``max_share_of_budget x total_budget``, known when that cap is positive). The score is the smaller known
    component: the binding constraint. Unknown when the amount is unknown or
    the funder states neither tickets nor a share.
    """

    name = "scale"

    def fill(self, block, out):
        log_amount, log_of_budget = _scale_logs(block.p)
        log_min, log_max, has_range, log_share = _scale_bounds(block.f)
        kernels.scale_scores(log_amount, log_of_budget, log_min, log_max, has_range, log_share,
                             SCALE_DECADES, out)

    def fill_pairs(self, block, rows, cols, out):
        log_amount, log_of_budget = _scale_logs(block.p)
        log_min, log_max, has_range, log_share = _scale_bounds(block.f)
        kernels.scale_pairs(log_amount, log_of_budget, log_min, log_max, has_range, log_share,
                            SCALE_DECADES, rows, cols, out)


def _scale_logs(p) -> tuple[np.ndarray, np.ndarray]:
    """Per project: log10 of the amount and of the amount / budget (NaN when not positive)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_amount = np.log10(np.where(p.amount > 0, p.amount, np.nan))
        # log10(amount / (share x budget)) = log10(amount / budget) - log10(share)
        log_of_budget = np.log10(np.where(p.budget > 0, p.amount / p.budget, np.nan))
    return log_amount, log_of_budget


def _scale_bounds(f) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per funder row: log10 of the ticket bounds (unknown bounds open: -inf below, +inf
    above), whether a bound is known, and log10 of the share of budget; cached on ``f``."""
    found = f.__dict__.get("_scale_bounds")
    if found is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            found = (np.where(np.isnan(f.ticket_min), -np.inf, np.log10(f.ticket_min)),
                     np.where(np.isnan(f.ticket_max), np.inf, np.log10(f.ticket_max)),
                     ~np.isnan(f.ticket_min) | ~np.isnan(f.ticket_max),
                     np.log10(np.where(f.max_share > 0, f.max_share, np.nan)))
        f.__dict__["_scale_bounds"] = found
    return found


# --------------------------------------------------------------------------- legal form

LEGAL_FORM_LISTED = 1.0
LEGAL_FORM_IN_GROUP = 0.85
LEGAL_FORM_OPEN = 0.6


class LegalFormFit(Criterion):
    """Named explicitly by the funder 1.0 > accepted through a group (``cooperatives``)
    0.85 > funder open to any form 0.6 > not accepted or excluded 0; unknown form -> NaN."""

    name = "legal_form"

    def fill(self, block, out):
        p, f = block.p, block.f
        kernels.legal_form_scores(p.legal, p.legal_known, f.legal_ok, f.legal_listed, f.legal_excluded,
                                  f.legal_set, LEGAL_FORM_LISTED, LEGAL_FORM_IN_GROUP, LEGAL_FORM_OPEN, out)

    def fill_pairs(self, block, rows, cols, out):
        p, f = block.p, block.f
        kernels.legal_form_pairs(p.legal, p.legal_known, f.legal_ok, f.legal_listed, f.legal_excluded,
                                 f.legal_set, LEGAL_FORM_LISTED, LEGAL_FORM_IN_GROUP, LEGAL_FORM_OPEN,
                                 rows, cols, out)


# --------------------------------------------------------------------------- territory


class TerritoryFit(Criterion):
    """A local funder for a local project beats a national one.

    Each project place scores the level of the most local perimeter code that
    contains it (:data:`matcher.engine.features.LEVEL_SCORE`: commune 1.0, EPCI 0.9,
    department 0.8, region 0.65, FR 0.45, EU 0.35), half of it when the
    place only partly overlaps the perimeter, 0 outside or in an excluded
    place; the project scores the mean over its places. Unknown when the
    project's place or the funder's perimeter is unknown.
    """

    name = "territory"

    def fill(self, block, out):
        p_known, f_known = block.p.place_known, block.f.has_perimeter
        if not (p_known.any() and f_known.any()):
            out[...] = np.nan
            return
        # NaN where the funder's perimeter is unknown: x + 0 is x, x + NaN is NaN. The place
        # score is already NaN for a project without places.
        np.add(block.places.score, np.where(f_known, 0.0, np.nan)[None, :], out=out)

    def fill_pairs(self, block, rows, cols, out):
        p_known, f_known = block.p.place_known, block.f.has_perimeter
        if not (p_known.any() and f_known.any()):
            out[...] = np.nan
            return
        block.place_score_pairs(rows, cols, out)
        out += np.where(f_known, 0.0, np.nan)[cols]



# --------------------------------------------------------------------------- just transition

#: Share of the just-transition score given by coverage; the rest is the ecological+social rule.
JT_COVERAGE_SHARE = 0.75


class JustTransitionFit(Criterion):
    """Weighted coverage of the funder's just-transition priorities, with the ecological+social rule.

    Coverage: ``sum(w_c x level_c / 3) / sum(w_c)`` over the funder's
    priorities whose level is known. A funder without priorities gets the
    generic coverage: the mean over the pillars (ecological, social,
    cooperation) of the project's best level / 3 in the pillar. Then
    ``0.75 x coverage + 0.25 x just`` where ``just`` is 1 when the project is
    both ecological and social (a criterion of each at level >= 1), 0 when it
    is known not to be; while ``just`` is unknown the score is the coverage.
    """

    name = "just_transition"

    def fill(self, block, out):
        args = _jt_inputs(block)
        if args is None:
            out[...] = np.nan
        else:
            kernels.just_transition_scores(*args, out)

    def fill_pairs(self, block, rows, cols, out):
        args = _jt_inputs(block)
        if args is None:
            out[...] = np.nan
        else:
            kernels.just_transition_pairs(*args, rows, cols, out)


def _jt_inputs(block) -> tuple | None:
    """The arguments of :func:`kernels.just_transition_scores` before ``out`` (None when no
    just-transition criterion is known): the projects' levels / 3 (0 where unknown) and 1 where
    known (P x J), the funder rows' priorities (F x J) and whether they have any, the projects'
    generic coverage, and the ecological+social rule (scale, shift)."""
    p, f = block.p, block.f
    if p.jt_levels.shape[1] == 0:
        return None
    known = ~np.isnan(p.jt_levels)
    scale, shift = _jt_rule(p)
    return (np.where(known, p.jt_levels, 0.0) / 3.0, known.astype(float), _jt_weights(f), f.jt_has_priorities,
            _mean_known(p.jt_pillars), scale, shift)


def _jt_rule(p) -> tuple[np.ndarray, np.ndarray]:
    """The ecological+social rule, where known: coverage x 0.75 + 0.25 x just (scale, shift)."""
    just = p.jt_just
    scale = np.where(np.isnan(just), 1.0, JT_COVERAGE_SHARE)
    shift = np.where(np.isnan(just), 0.0, (1 - JT_COVERAGE_SHARE) * just)
    return scale, shift


def _jt_weights(f) -> np.ndarray:
    """The funder rows' just-transition priorities as a C-ordered float F x J matrix, cached on ``f``."""
    found = f.__dict__.get("_jt_weights")
    if found is None:
        found = f.__dict__["_jt_weights"] = np.ascontiguousarray(f.jt_priorities, dtype=float)
    return found


def _mean_known(values: np.ndarray) -> np.ndarray:
    """Row means over the non-NaN entries; NaN for rows without any."""
    counts = (~np.isnan(values)).sum(axis=1)
    total = np.where(np.isnan(values), 0.0, values).sum(axis=1)
    return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


# --------------------------------------------------------------------------- cooperation

#: Partners count at which the partners component reaches 1 - 1/e (~0.63).
PARTNERS_SCALE = 3.0
#: Number of partner kinds (association, company, local_authority...) that counts as fully diverse.
FULL_DIVERSITY = 4
#: Number of governance features (multi_stakeholder, democratic...) that counts as fully cooperative.
FULL_GOVERNANCE = 2


class CooperationFit(Criterion):
    """Cooperation on the ground, the same for every funder.

    Mean of the known components: partners ``1 - exp(-count / 3)`` (1 partner
    0.28, 3 -> 0.63, 6 -> 0.86), diversity ``kinds / 4`` capped at 1, and
    governance ``features / 2`` capped at 1 (multi-stakeholder, democratic,
    citizen participation, shared). Unknown when all three are.
    """

    name = "cooperation"

    def score(self, block):
        # The same for every funder row: a read-only view of the project column.
        return np.broadcast_to(self._column(block)[:, None], block.shape)

    def fill_pairs(self, block, rows, cols, out):
        np.take(self._column(block), rows, out=out)

    @staticmethod
    def _column(block) -> np.ndarray:
        found = block.__dict__.get("_cooperation")
        if found is None:
            found = block.__dict__["_cooperation"] = cooperation_scores(
                block.p.partners, block.p.partner_kinds, block.p.governance)
        return found


def cooperation_scores(partners: np.ndarray, kinds: np.ndarray, governance: np.ndarray) -> np.ndarray:
    parts = np.stack([
        1 - np.exp(-np.clip(partners, 0, None) / PARTNERS_SCALE),
        np.minimum(kinds / FULL_DIVERSITY, 1.0),
        np.minimum(governance / FULL_GOVERNANCE, 1.0),
    ])
    return _mean_known(parts.T)


def default_criteria() -> list[Criterion]:
    """The built-in criteria, in output order.

    The last one, ``history``, needs grant history: :meth:`Matcher.fit` drops
    it when no history is given.
    """
    return [SectorFit(), TextSimilarity(), ScaleFit(), LegalFormFit(), TerritoryFit(),
            JustTransitionFit(), CooperationFit(), HistoryAffinity()]
