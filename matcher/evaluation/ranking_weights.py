"""Learning to rank over the criterion scores: non-negative weights that put the granted funder first.

:func:`learn_ranking_weights` takes canonical history rows, holds out the latest year, fits the
matcher on the years before it (learned funder profiles, the history criterion and the opt-in
:class:`~matcher.engine.purpose_affinity.PurposeAffinity`; dormant funders merged into their
learned successor), ranks every funder for each granted application of the held-out year, and
fits one weight per criterion with a conditional logit: the probability of the granted funder
among the funders of the same application is ``softmax(sum_c w_c * s_c)``, ``w_c >= 0``
(L-BFGS-B with bounds, a small L2 penalty; an unknown score counts 0, as it adds nothing to the
weighted mean). The weights are scaled so that they sum to the defaults' total over the same
criteria.

A linear model with non-negative coefficients over the criterion scores *is* the matcher's
score (the weighted mean of the known criteria), so the learned ranking keeps its explanation:
each line's contributions still sum to its score, and a weight is still a share of it.

Chosen on Paris on the validation year 2017 (fit on 2016 decisions with the matcher fitted on
2013–2015; never on 2018–2019): see ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from funders.history import GRANTED, decision_status
from matcher.core.errors import InputError
from matcher.engine.features import as_float, as_text, column

#: L2 penalty of the conditional logit.
L2_PENALTY = 1e-3
#: Criteria whose weights are learned (the others keep their default).
LEARNED = ("sector", "text", "history", "purpose")


def ranking_criteria():
    """The criteria of a learned ranking: the defaults plus :class:`PurposeAffinity`."""
    from matcher.engine.criteria import default_criteria
    from matcher.engine.purpose_affinity import PurposeAffinity

    return default_criteria() + [PurposeAffinity()]


def fit_conditional_logit(scores: np.ndarray, groups: np.ndarray, truth: np.ndarray,
                          l2: float = L2_PENALTY) -> np.ndarray:
    """Non-negative ``w`` maximising the mean log-probability of the true line of each group under
    ``softmax(scores @ w)`` within the group (``scores`` without NaN; groups without a true line dropped)."""
    from scipy.optimize import minimize

    truth = np.asarray(truth, dtype=bool)
    _, groups = np.unique(groups, return_inverse=True)
    has_truth = np.bincount(groups, weights=truth, minlength=groups.max() + 1 if len(groups) else 0) > 0
    keep = has_truth[groups]
    scores, groups, truth = scores[keep], groups[keep], truth[keep]
    if not len(scores):
        return np.ones(scores.shape[1])
    _, groups = np.unique(groups, return_inverse=True)
    n = int(groups.max()) + 1

    def loss(w):
        z = scores @ w
        top = np.full(n, -np.inf)
        np.maximum.at(top, groups, z)
        e = np.exp(z - top[groups])
        sums = np.bincount(groups, weights=e, minlength=n)
        value = -(z[truth].sum() - (np.log(sums) + top).sum()) / n + l2 * (w @ w)
        share = e / sums[groups]
        grad = -(scores[truth].sum(axis=0) - (scores * share[:, None]).sum(axis=0)) / n + 2 * l2 * w
        return value, grad

    start = np.ones(scores.shape[1])
    return minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * scores.shape[1]).x


def prepare_history(history: pd.DataFrame, successors: bool = True) -> tuple[pd.DataFrame, dict[str, str]]:
    """``history`` with dormant funders' rows relabelled as their learned successor's (and the map)."""
    from matcher.engine.history_record import apply_successors, successor_map

    if not successors:
        return history, {}
    mapping = successor_map(history)
    return apply_successors(history, mapping), mapping


def learn_ranking_weights(history: pd.DataFrame, dormant_years: int | None = 2, successors: bool = True) -> dict:
    """Learn the ranking weights on the latest year of ``history`` (see the module docstring).

    Returns ``{"weights": {criterion: w}, "defaults": {...}, "year", "applications"}``; ``weights``
    holds every criterion of :func:`ranking_criteria` (the learned ones scaled, the others at
    their default).
    """
    from funders.learn import learn_funders
    from matcher.engine.model import Matcher
    from matcher.evaluation.applications import projects_from_history

    years = np.array([as_float(v) for v in column(history, "year")], dtype=float)
    known = np.unique(years[~np.isnan(years)])
    if len(known) < 3:
        raise InputError("learning the ranking weights needs at least three years of decisions "
                         "(two to fit the matcher on, the latest to learn from)")
    latest = float(known[-1])
    past = history.loc[years < latest].reset_index(drop=True)
    past, _ = prepare_history(past, successors)
    apps = history.loc[(years == latest) & (decision_status(history) == GRANTED)].reset_index(drop=True)
    funder_ids = np.array([as_text(v) for v in column(apps, "funder_id")], dtype=object)
    apps, funder_ids = apps.loc[funder_ids != None].reset_index(drop=True), funder_ids[funder_ids != None]  # noqa: E711
    if apps.empty:
        raise InputError(f"no granted application in {int(latest)} to learn the ranking weights from")
    matcher = Matcher(date=dt.date(int(latest), 1, 1).isoformat(), top=None, criteria=ranking_criteria(),
                      weights={"purpose": 0.0})
    matcher.fit(learn_funders(past, dormant_years=dormant_years or None), history=past)
    projects = projects_from_history(apps)
    ranked = matcher.rank_funders(projects, top=len(matcher.funders_), include_ineligible=True)
    ranked = ranked[ranked["eligibility"] != "ineligible"]
    names = [c for c in matcher.criteria_names_ if c in LEARNED]
    truth = dict(zip(projects["project_id"], funder_ids, strict=True))
    is_true = ranked["funder_id"].to_numpy() == ranked["project_id"].map(truth).to_numpy()
    scores = np.nan_to_num(ranked[[f"score_{c}" for c in names]].to_numpy(dtype=float))
    w = fit_conditional_logit(scores, ranked["project_id"].to_numpy(), is_true)
    defaults = dict(zip(matcher.criteria_names_, matcher.weights_[0].astype(float).tolist(), strict=True))
    defaults["purpose"] = 0.0
    total = sum(defaults[c] for c in names) or 1.0
    learned = w / w.sum() * total if w.sum() > 0 else np.array([defaults[c] for c in names])
    weights = {c: defaults[c] for c in matcher.criteria_names_}
    weights.update({c: round(float(v), 4) for c, v in zip(names, learned, strict=True)})
    return {"weights": weights, "defaults": defaults, "year": int(latest), "applications": int(len(apps))}


__all__ = ["LEARNED", "fit_conditional_logit", "learn_ranking_weights", "prepare_history", "ranking_criteria"]
