"""A fund's own weights: non-negative criterion weights that best separate granted from refused.

:func:`learn_weights` takes canonical history rows (granted and refused), fits the
matcher (learned funder profiles and the history criterion) on every year but the
latest, and scores each decision of the latest year against the funder that
decided it: one row of criterion scores per decision. Half of those decisions
(drawn with ``seed``) fit the weights, the other half measures them:

- fit: a logistic regression of "granted" on the criterion scores with
  non-negative coefficients (L-BFGS-B with bounds; an unknown score takes the
  criterion's mean), the coefficients scaled to sum to the defaults' total, so
  that a weight keeps its meaning (a share of the score) and contributions still
  sum to the score;
- gain: the AUC, on the held-out half, of the matcher's score (the weighted
  mean of the known criteria) with the learned weights against the default ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funders.history import GRANTED, REFUSED, decision_status
from matcher.core.errors import InputError
from matcher.engine.award import auc
from matcher.engine.features import as_float, as_text, column

#: L2 penalty of the non-negative logistic regression (on standardised scores).
L2_PENALTY = 1e-3


def _weighted_mean(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    known = ~np.isnan(scores)
    den = (known * weights).sum(axis=1)
    num = (np.where(known, scores, 0.0) * weights).sum(axis=1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def fit_nonnegative_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients >= 0 (one per column of ``x``, no NaN) of a logistic regression with an intercept."""
    from scipy.optimize import minimize

    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - x.mean(axis=0)) / scale

    def loss(theta):
        logits = theta[0] + z @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-logits))
        value = np.mean(np.logaddexp(0.0, logits) - y * logits) + L2_PENALTY * np.sum(theta[1:] ** 2)
        grad = np.concatenate([[np.mean(p - y)], z.T @ (p - y) / len(y) + 2 * L2_PENALTY * theta[1:]])
        return value, grad

    bounds = [(None, None)] + [(0.0, None)] * x.shape[1]
    result = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[1:] / scale


def learn_weights(history: pd.DataFrame, funder: str | None = None, seed: int = 0,
                  run_date: str | None = None) -> dict:
    """Learn criterion weights from decisions (see the module docstring).

    Returns ``{"weights", "defaults", "auc_default", "auc_learned", "fit_decisions",
    "held_out_decisions", "year", "funder"}``.
    """
    import datetime as dt

    from funders.learn import learn_funders
    from matcher.engine.model import Matcher
    from matcher.evaluation.evaluate import projects_from_history

    status = decision_status(history) if len(history) else np.zeros(0, dtype=object)
    decided = (status == GRANTED) | (status == REFUSED)
    years = np.array([as_float(v) for v in column(history, "year")], dtype=float)
    known = years[decided & ~np.isnan(years)]
    if known.size == 0 or len(np.unique(known)) < 2:
        raise InputError("learn-weights needs decisions (granted and refused) of at least two years")
    latest = float(known.max())
    past = history.loc[years < latest].reset_index(drop=True)
    target = decided & (years == latest)
    if funder is not None:
        funders = np.array([as_text(v) for v in column(history, "funder_id")], dtype=object)
        if funder not in set(funders[decided].tolist()):
            raise InputError(f"no decision of funder '{funder}' in the history")
        target &= funders == funder
    apps = history.loc[target].reset_index(drop=True)
    truth = (decision_status(apps) == GRANTED).astype(int)
    if len(apps) < 20 or len(np.unique(truth)) < 2:
        raise InputError(f"learn-weights needs granted and refused decisions in {int(latest)} "
                         f"(found {len(apps)} decision(s), {int(truth.sum())} granted)")
    matcher = Matcher(date=run_date or dt.date(int(latest), 1, 1).isoformat(), top=None)
    matcher.fit(learn_funders(past), history=past)
    projects = projects_from_history(apps)
    ranked = matcher.rank_funders(projects, top=None, include_ineligible=True)
    names = list(matcher.criteria_names_)
    wanted = pd.DataFrame({"project_id": projects["project_id"],
                           "funder_id": [as_text(v) for v in column(apps, "funder_id")]})
    lines = wanted.merge(ranked.drop_duplicates(["project_id", "funder_id"]), how="left",
                         on=["project_id", "funder_id"])
    scores = lines[[f"score_{c}" for c in names]].to_numpy(dtype=float)
    order = np.random.default_rng(seed).permutation(len(apps))
    fit_rows, held_rows = np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2:])
    known = ~np.isnan(scores[fit_rows])
    means = np.where(known, scores[fit_rows], 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    x = np.where(np.isnan(scores), means[None, :], scores)
    coefficients = fit_nonnegative_logistic(x[fit_rows], truth[fit_rows])
    defaults = matcher.weights_[0].astype(float)
    if coefficients.sum() > 0:
        learned = coefficients / coefficients.sum() * defaults.sum()
    else:
        learned = defaults.copy()
    return {
        "weights": {c: round(float(w), 4) for c, w in zip(names, learned, strict=True)},
        "defaults": {c: round(float(w), 4) for c, w in zip(names, defaults, strict=True)},
        "auc_default": round(auc(truth[held_rows], _weighted_mean(scores[held_rows], defaults)), 4),
        "auc_learned": round(auc(truth[held_rows], _weighted_mean(scores[held_rows], learned)), 4),
        "fit_decisions": int(len(fit_rows)), "held_out_decisions": int(len(held_rows)),
        "year": int(latest), "funder": funder,
    }


__all__ = ["fit_nonnegative_logistic", "learn_weights"]
