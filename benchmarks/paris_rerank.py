"""Ranking experiments over dumped criterion scores (issue 14): history features + learned weights.

Reads two dumps of ``benchmarks/paris_rank_dump.py`` (a *fit* year and an *eval* year, each ranked
by a matcher fitted on the years before it), adds history features per (application, funder)
computed from the decisions before that year, fits non-negative weights on the fit year
(conditional logit: the granted funder against the others of the same application) and reports
hit@1 / hit@3 on the eval year, for all, new pairs and new recipients.

Usage::

    .venv/bin/python benchmarks/paris_rerank.py --fit /tmp/d2016 --fit-year 2016 --eval /tmp/d2017 --eval-year 2017
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from scipy.optimize import minimize

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from paris_rank_dump import DATA, load  # noqa: E402

from matcher.engine.history_record import record_features  # noqa: E402
from matcher.evaluation.evaluate import subset_masks, time_split  # noqa: E402


def frame_for(dump: str, year: int, until: int, history: pd.DataFrame):
    h = history.loc[pd.to_numeric(history["year"], errors="coerce") < until].reset_index(drop=True)
    split = time_split(h, year)
    ranked = pd.read_csv(f"{dump}/ranked.csv.gz", dtype={"project_id": str, "funder_id": str})
    ids = sorted(ranked["project_id"].unique())
    index = {pid: i for i, pid in enumerate(ids)}
    ranked["p"] = ranked["project_id"].map(index)
    ranked["truth"] = (ranked["funder_id"].to_numpy() == split.truth[ranked["p"].to_numpy()]).astype(int)
    extra = record_features(split.train, split.test, ranked["p"].to_numpy(), ranked["funder_id"].to_numpy())
    for name, values in extra.items():
        ranked[f"score_{name}"] = values
    masks = subset_masks(split)
    return ranked.sort_values(["p", "funder_id"]).reset_index(drop=True), masks


def rank_metrics(frame: pd.DataFrame, score: np.ndarray, masks) -> dict:
    open_ = (frame["eligibility"].to_numpy() != "ineligible").astype(int)
    order = np.lexsort((frame["funder_id"].to_numpy(), -np.round(score, 9), -open_,
                        frame["p"].to_numpy()))
    f = frame.iloc[order]
    rank = f.groupby("p").cumcount().to_numpy() + 1
    truth_rank = pd.Series(rank[f["truth"].to_numpy() == 1], index=f["p"].to_numpy()[f["truth"].to_numpy() == 1])
    n = len(masks["all"])
    r = np.full(n, 10**6)
    r[truth_rank.index.to_numpy()] = truth_rank.to_numpy()
    out = {}
    for name, m in masks.items():
        out[name] = (float((r[m] <= 1).mean()), float((r[m] <= 3).mean()))
    return out


def weighted(frame, names, w):
    s = frame[[f"score_{c}" for c in names]].to_numpy(dtype=float)
    known = ~np.isnan(s)
    num = np.where(known, s, 0.0) @ w
    den = known.astype(float) @ w
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def fit_weights(frame, names, l2=1e-3):
    s = np.nan_to_num(frame[[f"score_{c}" for c in names]].to_numpy(dtype=float))
    p = frame["p"].to_numpy()
    truth = frame["truth"].to_numpy().astype(bool)
    elig = frame["eligibility"].to_numpy() != "ineligible"
    keep = elig | truth
    s, p, truth = s[keep], p[keep], truth[keep]
    has = np.bincount(p, weights=truth, minlength=p.max() + 1) > 0
    sel = has[p]
    s, p, truth = s[sel], p[sel], truth[sel]
    _, p = np.unique(p, return_inverse=True)
    n = p.max() + 1

    def loss(w):
        z = s @ w
        zmax = np.full(n, -np.inf)
        np.maximum.at(zmax, p, z)
        e = np.exp(z - zmax[p])
        sums = np.bincount(p, weights=e, minlength=n)
        lse = np.log(sums) + zmax
        val = -(z[truth].sum() - lse.sum()) / n + l2 * (w @ w)
        prob = e / sums[p]
        grad = -(s[truth].sum(axis=0) - (s * prob[:, None]).sum(axis=0)) / n + 2 * l2 * w
        return val, grad

    w0 = np.ones(len(names))
    res = minimize(loss, w0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * len(names))
    return res.x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", required=True)
    ap.add_argument("--fit-year", type=int, required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--eval-year", type=int, required=True)
    ap.add_argument("--eval-until", type=int, default=None)
    ap.add_argument("--sets", default="")
    args = ap.parse_args(argv)
    history = load(str(DATA), None)
    fit, _ = frame_for(args.fit, args.fit_year, args.fit_year + 1, history)
    ev, masks = frame_for(args.eval, args.eval_year, args.eval_until or args.eval_year + 1, history)
    base = ["sector", "text", "history"]
    default_w = {"sector": 0.25, "text": 0.15, "history": 1.0}
    print("default", rank_metrics(ev, weighted(ev, base, np.array([default_w[c] for c in base])), masks))
    extras = [c.removeprefix("score_") for c in fit.columns if c.startswith("score_")
              and c.removeprefix("score_") not in base + ["scale", "legal_form", "territory", "just_transition",
                                                         "cooperation"]]
    sets = [base] + [base + [e] for e in extras] + [base + extras]
    if args.sets:
        sets += [base + s.split("+") for s in args.sets.split(",")]
    for names in sets:
        w = fit_weights(fit, names)
        w = w / w.sum() * 1.4
        print("+".join(names), dict(zip(names, np.round(w, 3).tolist(), strict=True)),
              rank_metrics(ev, weighted(ev, names, w), masks), flush=True)
    return 0



def context_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-application context of a few scores: the gap to the application's best funder."""
    for c in ("history", "purpose", "cofunding"):
        col = frame[f"score_{c}"]
        frame[f"score_{c}_gap"] = 1.0 + col - col.groupby(frame["p"]).transform("max")
    return frame


def gam(fit, ev, masks, names, additive=True, seed=0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = [f"score_{c}" for c in names]
    elig = fit["eligibility"].to_numpy() != "ineligible"
    x, y = fit.loc[elig, cols].to_numpy(dtype=float), fit.loc[elig, "truth"].to_numpy()
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50,
                                           interaction_cst=[[i] for i in range(len(cols))] if additive else None,
                                           random_state=seed).fit(x, y)
    z = model.decision_function(ev[cols].to_numpy(dtype=float))
    return rank_metrics(ev, z, masks)


def main_gam(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", required=True)
    ap.add_argument("--fit-year", type=int, required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--eval-year", type=int, required=True)
    ap.add_argument("--eval-until", type=int, default=None)
    args = ap.parse_args(argv)
    history = load(str(DATA), None)
    fit, _ = frame_for(args.fit, args.fit_year, args.fit_year + 1, history)
    ev, masks = frame_for(args.eval, args.eval_year, args.eval_until or args.eval_year + 1, history)
    fit, ev = context_columns(fit), context_columns(ev)
    base = ["sector", "text", "history"]
    for names in (base, base + ["purpose"], base + ["purpose", "record", "cofunding", "openness"],
                  base + ["purpose", "record", "cofunding", "openness", "history_gap", "purpose_gap", "cofunding_gap"]):
        for additive in (True, False):
            print("+".join(names), "additive" if additive else "trees", gam(fit, ev, masks, names, additive),
                  flush=True)


if __name__ == "__main__":
    raise SystemExit(main_gam(sys.argv[2:]) if sys.argv[1:2] == ["gam"] else main())
