"""Evaluate the ranking against real decisions: does coopmatch find the funder that funded?

:func:`evaluate_history` splits canonical history rows on time: every row of a
year before ``test_from_year`` (granted and refused) is the past; every
*granted* row of that year or after is a test case. On the past it learns
funder profiles (:func:`funders.learn.learn_funders`) and fits the
:class:`~matcher.engine.model.Matcher` with the history criterion
(:class:`~matcher.engine.history_affinity.HistoryAffinity`); each test row becomes a
canonical project (:func:`projects_from_history`) ranked by
:meth:`Matcher.rank_funders` — the code ``funders-for`` runs — and the funder
that really funded it is looked for in the ranking.

Metrics (each a mean over test cases; ``rank`` is the 1-based position of the
true funder, or none when it is not in the top ``top``):

- ``hit@k``: share of cases whose true funder is in the first ``k``;
- ``MRR``: mean of ``1 / rank`` (0 when not found), truncated at ``top``;
- ``nDCG@5``: with one relevant funder, ``1 / log2(1 + rank)`` when
  ``rank <= 5``, else 0.

Two baselines are computed in the same run, on the same split and documents:
the most frequent funder of the past (by granted rows) and a TF-IDF of
character 2–5-grams with a logistic regression (fitted by stochastic gradient
descent, one-vs-rest, for speed) on the application text.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from funders.history import GRANTED, decision_status
from matcher.core.errors import InputError
from matcher.engine.award import recipient_keys
from matcher.engine.explain import format_percent
from matcher.engine.features import as_choices, as_text, column
from matcher.engine.history_affinity import HistoryAffinity, sector_labels
from matcher.evaluation.applications import projects_from_history

#: Positions looked at by hit@k.
HITS = (1, 3)
#: Cut-off of nDCG.
NDCG_AT = 5
#: Default number of funders ranked per project (MRR is truncated there).
DEFAULT_TOP = 10
#: Test cases whose top-3 explanation is written into the report.
EXAMPLES = 3
METHODS = ("coopmatch", "most_frequent", "tfidf_char_lr")
#: Learned funders with no grant in this many last training years are closed (see
#: :func:`funders.learn.learn_funders`); chosen on the Paris validation year 2017.
DORMANT_YEARS = 2
#: Rankings of ``evaluate``: the default weights, or weights learned on the latest training year.
RANKINGS = ("default", "learned")
#: Default ranking of ``evaluate`` (chosen on the validation year, see benchmarks/RESULTS.md).
RANKING = "learned"
#: Merge dormant funders into their learned successor before fitting (default of ``evaluate``).
SUCCESSORS = True


# --------------------------------------------------------------------------- metrics


def ranks_of_truth(ranked: list[list[str]] | np.ndarray, truth) -> np.ndarray:
    """1-based position of each true funder in its ranked list; 0 when absent."""
    out = np.zeros(len(truth), dtype=np.int64)
    for i, (items, true) in enumerate(zip(ranked, truth, strict=True)):
        for position, item in enumerate(items, start=1):
            if item == true:
                out[i] = position
                break
    return out


def ranking_metrics(ranks: np.ndarray) -> dict[str, float]:
    """hit@1, hit@3, MRR and nDCG@5 from the positions of the true funders (0 = not found)."""
    ranks = np.asarray(ranks, dtype=float)
    if ranks.size == 0:
        return {"hit@1": float("nan"), "hit@3": float("nan"), "mrr": float("nan"), "ndcg@5": float("nan")}
    found = ranks > 0
    safe = np.where(found, ranks, 1.0)
    out = {f"hit@{k}": float(np.mean(found & (ranks <= k))) for k in HITS}
    out["mrr"] = float(np.mean(np.where(found, 1.0 / safe, 0.0)))
    out[f"ndcg@{NDCG_AT}"] = float(np.mean(np.where(found & (ranks <= NDCG_AT), 1.0 / np.log2(1.0 + safe), 0.0)))
    return out


# --------------------------------------------------------------------------- projects


def application_texts(rows: pd.DataFrame) -> list[str]:
    """The text a baseline reads: purpose, sector labels, recipient name."""
    labels: dict = {}
    out = []
    for purpose, sectors, name in zip(column(rows, "purpose"), column(rows, "sectors"),
                                      column(rows, "recipient_name"), strict=True):
        key = as_choices(sectors)
        if key not in labels:
            labels[key] = sector_labels(key)
        out.append(" ".join(p for p in (as_text(purpose), labels[key], as_text(name)) if p))
    return out


# --------------------------------------------------------------------------- recipients and subsets

#: Subsets of the test applications reported by :func:`evaluate_history`, in report order.
SUBSETS = ("all", "new_pairs", "new_recipients")


def subset_masks(split: Split) -> dict[str, np.ndarray]:
    """Boolean masks over the test rows: ``all``; ``new_pairs``, the recipient was never granted
    by the true funder before the test period; ``new_recipients``, never granted by any funder.

    A recipient known by neither id nor name counts as new (nothing says it was granted).
    """
    past = split.train.loc[decision_status(split.train) == GRANTED]
    past_keys = recipient_keys(past)
    past_funders = [as_text(v) for v in past["funder_id"].tolist()]
    pairs = {(k, f) for k, f in zip(past_keys.tolist(), past_funders, strict=True) if k is not None}
    known = {k for k in past_keys.tolist() if k is not None}
    keys = recipient_keys(split.test).tolist()
    return {
        "all": np.ones(len(keys), dtype=bool),
        "new_pairs": np.array([k is None or (k, f) not in pairs for k, f in zip(keys, split.truth, strict=True)],
                              dtype=bool),
        "new_recipients": np.array([k is None or k not in known for k in keys], dtype=bool),
    }


def subset_metrics(ranks: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per subset: its size ``n`` and each method's metrics on it."""
    return {name: {"n": int(mask.sum()), **{m: ranking_metrics(r[mask]) for m, r in ranks.items()}}
            for name, mask in masks.items()}


# --------------------------------------------------------------------------- split


@dataclass
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    truth: np.ndarray


def time_split(history: pd.DataFrame, test_from_year: int, sample: int | None = None,
               seed: int = 0) -> Split:
    """Rows before ``test_from_year`` (granted and refused) / granted rows from it on.

    ``sample`` keeps that many test rows, drawn at random with ``seed``.
    """
    if "funder_id" not in history.columns or "year" not in history.columns:
        raise InputError("evaluate needs history rows with funder_id and year (map them with --map)")
    years = pd.to_numeric(history["year"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    funders = np.array([as_text(v) for v in history["funder_id"].tolist()], dtype=object)
    has_funder = funders != None  # noqa: E711 - elementwise on object arrays
    status = decision_status(history)
    train = history.loc[(years < test_from_year) & has_funder].reset_index(drop=True)
    test_mask = (years >= test_from_year) & has_funder & (status == GRANTED)
    test = history.loc[test_mask].reset_index(drop=True)
    if sample is not None and sample < len(test):
        keep = np.sort(np.random.default_rng(seed).choice(len(test), size=sample, replace=False))
        test = test.iloc[keep].reset_index(drop=True)
    if train.empty:
        raise InputError(f"no history row before {test_from_year}: nothing to learn from")
    if test.empty:
        raise InputError(f"no granted row in {test_from_year} or after: nothing to test")
    return Split(train, test, np.array([as_text(v) for v in test["funder_id"].tolist()], dtype=object))


# --------------------------------------------------------------------------- methods


@dataclass
class Evaluation:
    """What :func:`evaluate_history` measured; :meth:`to_dict` is the JSON report."""

    test_from_year: int
    top: int
    train_rows: int
    test_rows: int
    funders: int
    metrics: dict[str, dict[str, float]]
    timings: dict[str, float]
    explained_top3: float
    examples: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    subsets: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "test_from_year": self.test_from_year, "top": self.top, "train_rows": self.train_rows,
            "test_rows": self.test_rows, "funders": self.funders,
            "metrics": {m: {k: round(v, 4) for k, v in values.items()} for m, values in self.metrics.items()},
            "subsets": {name: {k: (v if k == "n" else {m: round(x, 4) for m, x in v.items()})
                               for k, v in values.items()} for name, values in self.subsets.items()},
            "explained_top3": round(self.explained_top3, 4),
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
            "settings": self.settings, "examples": self.examples,
        }


def rank_with_coopmatch(split: Split, top: int, run_date: str, lang: str,
                        weights: dict[str, float] | None = None, dormant_years: int | None = DORMANT_YEARS,
                        ranking: str = RANKING, successors: bool = SUCCESSORS, info: dict | None = None):
    """Learn profiles, fit the matcher with history on the past, rank the test projects.

    ``ranking="learned"`` adds :class:`~matcher.engine.purpose_affinity.PurposeAffinity` and learns
    the weights on the latest training year (:mod:`matcher.evaluation.ranking_weights`; the given
    ``weights`` still win); ``successors`` merges dormant funders into their learned successor
    before fitting. What was learned goes into ``info``.
    """
    from funders.learn import learn_funders
    from matcher.engine.model import Matcher
    from matcher.evaluation.ranking_weights import learn_ranking_weights, prepare_history, ranking_criteria

    if ranking not in RANKINGS:
        raise InputError(f"ranking must be one of {', '.join(RANKINGS)}, not {ranking!r}")
    info = {} if info is None else info
    timings = {}
    criteria = None
    if ranking == "learned":
        start = time.perf_counter()
        try:
            learned = learn_ranking_weights(split.train, dormant_years=dormant_years, successors=successors)
        except InputError as error:  # too short a history: the default ranking, and why
            info["ranking_fallback"] = str(error)
        else:
            info["learned_ranking"] = learned
            weights = {**learned["weights"], **(weights or {})}
            criteria = ranking_criteria()
        timings["learn_ranking"] = time.perf_counter() - start
    train, mapping = prepare_history(split.train, successors)
    info["successors"] = mapping
    start = time.perf_counter()
    funders = learn_funders(train, dormant_years=dormant_years or None)
    timings["learn_funders"] = time.perf_counter() - start
    start = time.perf_counter()
    matcher = Matcher(date=run_date, lang=lang, criteria=criteria,
                      top=top, weights=weights).fit(funders, history=train)
    timings["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    projects = projects_from_history(split.test)
    ranked = matcher.rank_funders(projects, top=top, include_ineligible=True)
    timings["rank"] = time.perf_counter() - start
    return matcher, projects, ranked, timings


def _ranked_lists(ranked: pd.DataFrame, project_ids: list[str]) -> list[list[str]]:
    lists = ranked.groupby("project_id", sort=False)["funder_id"].agg(list).to_dict()
    return [lists.get(pid, []) for pid in project_ids]


def explained_share(ranked: pd.DataFrame, criteria: list[str], k: int = 3) -> float:
    """Share of the top-``k`` lines whose explanation is complete: a reasons column, every
    criterion's contribution present and summing to the score, the history one known."""
    lines = ranked[ranked["rank"] <= k]
    if lines.empty or "reasons" not in lines.columns:
        return 0.0
    contributions = lines[[f"contribution_{c}" for c in criteria]].to_numpy(dtype=float)
    total = np.nansum(contributions, axis=1)
    ok = np.isclose(total, lines["score"].to_numpy(dtype=float), atol=1e-6)
    if "history" in criteria:
        ok &= ~np.isnan(lines["contribution_history"].to_numpy(dtype=float))
    return float(ok.mean())


def most_frequent_ranking(split: Split, top: int) -> list[list[str]]:
    """Every test case gets the past's funders by decreasing number of grants (ties by id)."""
    granted = split.train.loc[decision_status(split.train) == GRANTED, "funder_id"].astype(str)
    counts = granted.value_counts()
    order = sorted(counts.index, key=lambda f: (-counts[f], f))[:top]
    return [order] * len(split.test)


def tfidf_lr_ranking(split: Split, top: int, seed: int = 0) -> list[list[str]]:
    """TF-IDF character 2–5-grams + logistic regression (SGD, one-vs-rest) on the application text."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    labels = np.array([str(v) for v in split.train["funder_id"].tolist()], dtype=object)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                 dtype=np.float32)
    x_train = vectorizer.fit_transform(application_texts(split.train))
    x_test = vectorizer.transform(application_texts(split.test))
    if len(np.unique(labels)) == 1:
        return [[labels[0]]] * len(split.test)
    model = SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=15, tol=None, random_state=seed,
                          n_jobs=2).fit(x_train, labels)
    scores = model.decision_function(x_test)
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    classes = np.asarray(model.classes_, dtype=object)
    order = np.lexsort((np.broadcast_to(np.arange(len(classes)), scores.shape), -scores), axis=1)[:, :top]
    return classes[order].tolist()


# --------------------------------------------------------------------------- the run


def evaluate_history(history: pd.DataFrame, test_from_year: int, top: int = DEFAULT_TOP,
                     run_date: str | None = None, lang: str = "fr", baselines: bool = True,
                     sample: int | None = None, seed: int = 0,
                     weights: dict[str, float] | None = None,
                     dormant_years: int | None = DORMANT_YEARS, ranking: str = RANKING,
                     successors: bool = SUCCESSORS) -> Evaluation:
    """Rank funders for every granted test application and score the rankings.

    Parameters
    ----------
    history:
        Canonical history rows (``funder_id``, ``year`` and a status or an
        awarded amount are needed).
    test_from_year:
        First year of the test period; earlier years are the past.
    top:
        Funders kept per project; hit@k and MRR look no further.
    run_date:
        Run date of the matcher (learned profiles have no calls, so any date
        keeps them open); default January 1st of ``test_from_year``.
    baselines:
        Also compute the two baselines (most frequent funder, TF-IDF + LR).
    sample, seed:
        Keep ``sample`` test rows at random (for quick checks and tests).
    weights:
        Criterion weights for this run (default: the documented defaults).
    dormant_years:
        Learned funders with no grant in that many last training years are
        closed (ranked after the open ones); ``None`` or 0 keeps them all open.
    ranking, successors:
        See :func:`rank_with_coopmatch` (defaults :data:`RANKING`, :data:`SUCCESSORS`).
    """
    if top < max(HITS + (NDCG_AT,)):
        raise InputError(f"--top must be at least {max(HITS + (NDCG_AT,))} to compute the metrics")
    run_date = run_date or dt.date(test_from_year, 1, 1).isoformat()
    split = time_split(history, test_from_year, sample, seed)
    info: dict = {}
    matcher, projects, ranked, timings = rank_with_coopmatch(split, top, run_date, lang, weights, dormant_years,
                                                             ranking, successors, info)
    ids = projects["project_id"].tolist()
    ranks = {"coopmatch": ranks_of_truth(_ranked_lists(ranked, ids), split.truth)}
    if baselines:
        start = time.perf_counter()
        ranks["most_frequent"] = ranks_of_truth(most_frequent_ranking(split, top), split.truth)
        timings["baseline_most_frequent"] = time.perf_counter() - start
        start = time.perf_counter()
        ranks["tfidf_char_lr"] = ranks_of_truth(tfidf_lr_ranking(split, top, seed), split.truth)
        timings["baseline_tfidf_lr"] = time.perf_counter() - start
    metrics = {m: ranking_metrics(r) for m, r in ranks.items()}
    subsets = subset_metrics(ranks, subset_masks(split))
    timings["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    criterion = next(c for c in matcher.criteria_ if c.name == "history")
    return Evaluation(
        test_from_year=test_from_year, top=top, train_rows=len(split.train), test_rows=len(split.test),
        funders=len(matcher.funders_), metrics=metrics, timings=timings,
        explained_top3=explained_share(ranked, matcher.criteria_names_),
        examples=_examples(matcher, criterion, projects, ranked, split, lang),
        settings={"run_date": matcher.run_date_, "weights": dict(zip(
            matcher.criteria_names_, np.round(matcher.weights_[0], 4).tolist(), strict=True)),
                  "history_temperature": round(getattr(criterion, "temperature_", float("nan")), 4),
                  "sample": sample, "seed": seed, "dormant_years": dormant_years or None,
                  "ranking": "learned" if "learned_ranking" in info else "default",
                  **({"ranking_fallback": info["ranking_fallback"]} if "ranking_fallback" in info else {}),
                  "successors": info.get("successors", {}),
                  **({"ranking_weights_learned_on": info["learned_ranking"]["year"]}
                     if "learned_ranking" in info else {})},
        subsets=subsets,
    )


def _examples(matcher, criterion: HistoryAffinity, projects: pd.DataFrame, ranked: pd.DataFrame,
              split: Split, lang: str, n: int = EXAMPLES) -> list[dict]:
    """The top-3 explanation of the first ``n`` test projects: scores, contributions, nearest grants."""
    out = []
    rows = projects.set_index("project_id", drop=False)
    for i, pid in enumerate(projects["project_id"].tolist()[:n]):
        lines = ranked[(ranked["project_id"] == pid) & (ranked["rank"] <= 3)]
        explained = matcher.explanations(projects, lines)
        project = rows.loc[pid].to_dict()
        out.append({
            "project_id": pid, "name": project.get("name"), "true_funder": split.truth[i],
            "top3": [{
                "rank": int(line["rank"]), "funder_id": line["funder_id"], "score": round(float(line["score"]), 4),
                "contributions": {k: round(v, 4) for k, v in explanation.contributions.items()},
                "reasons": line["reasons"],
                "nearest_grants": criterion.explain_pair(project, line["funder_id"], lang),
            } for (_, line), explanation in zip(lines.iterrows(), explained, strict=True)],
        })
    return out


# --------------------------------------------------------------------------- chance of award


def evaluate_award(history: pd.DataFrame, test_from_year: int, calibration: str = "isotonic",
                   seed: int = 0, bins: int = 10) -> dict:
    """Fit :class:`~matcher.engine.award.AwardModel` on the decisions before ``test_from_year`` and
    score its ``p_award`` on every decision (granted and refused) of that year and after.

    Returns AUC, Brier score and expected calibration error (``bins`` equal-width bins) of the model
    and of the baseline (the recipient's past grant rate, same rows, same run), the reliability
    table of each, the sizes and the fit time.
    """
    from matcher.engine.award import (
        AwardModel,
        auc,
        brier,
        expected_calibration_error,
        past_rate_baseline,
        reliability,
    )

    years = pd.to_numeric(history.get("year"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    status = decision_status(history)
    decided = (status == GRANTED) | (status == "refused")
    train = history.loc[years < test_from_year].reset_index(drop=True)
    test = history.loc[(years >= test_from_year) & decided].reset_index(drop=True)
    if test.empty:
        raise InputError(f"no decided row in {test_from_year} or after: nothing to test the chance of award on")
    truth = (decision_status(test) == GRANTED).astype(int)
    start = time.perf_counter()
    model = AwardModel(calibration=calibration, seed=seed).fit(train)
    fit_s = time.perf_counter() - start
    predicted = {"p_award": model.predict(test), "past_rate": past_rate_baseline(train, test)}
    out = {"test_decisions": int(len(test)), "granted_share": round(float(truth.mean()), 4),
           "calibration": calibration, "calibrated_on_year": model.latest_year_, "fit_s": round(fit_s, 2)}
    for name, p in predicted.items():
        out[name] = {"auc": round(auc(truth, p), 4), "brier": round(brier(truth, p), 4),
                     "ece": round(expected_calibration_error(truth, p, bins), 4),
                     "reliability": {k: [None if isinstance(v, float) and np.isnan(v) else
                                         (round(v, 4) if isinstance(v, float) else v) for v in values]
                                     for k, values in reliability(truth, p, bins).items()}}
    return out


def write_reliability_png(award: dict, path: str, lang: str = "fr") -> None:
    """The reliability diagram of :func:`evaluate_award` (model and baseline) as a PNG (atomic write)."""
    import os
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1,
            label="calibration parfaite" if lang == "fr" else "perfect calibration")
    labels = {"p_award": ("chance d'obtention", "chance of award"),
              "past_rate": ("taux passé du bénéficiaire", "recipient's past rate")}
    for name, colour in (("p_award", "#1f6f43"), ("past_rate", "#b5651d")):
        table = award[name]["reliability"]
        points = [(p, o) for p, o in zip(table["predicted"], table["observed"], strict=True) if p is not None]
        ax.plot([p for p, _ in points], [o for _, o in points], marker="o", color=colour,
                label=f"{labels[name][0 if lang == 'fr' else 1]} (ECE {award[name]['ece']:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("probabilité prédite" if lang == "fr" else "predicted probability")
    ax.set_ylabel("part accordée observée" if lang == "fr" else "observed granted share")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(handle)
    try:
        fig.savefig(temporary, format="png", metadata={"Software": None})
        os.replace(temporary, path)
    finally:
        plt.close(fig)
        if os.path.exists(temporary):
            os.unlink(temporary)


def format_award(award: dict, lang: str = "fr") -> str:
    """The chance-of-award lines of the table."""
    def number(v: float) -> str:
        return f"{v:.3f}".replace(".", ",") if lang == "fr" else f"{v:.3f}"

    if lang == "fr":
        lines = [f"Chance d'obtention ({award['test_decisions']:,} décisions testées, "
                 f"{format_percent(award['granted_share'], 'fr')} accordées) :".replace(",", "\u202f", 1)]
        names = {"p_award": "modèle (p_award)", "past_rate": "taux passé du bénéficiaire"}
    else:
        lines = [f"Chance of award ({award['test_decisions']:,} test decisions, "
                 f"{format_percent(award['granted_share'], 'en')} granted):"]
        names = {"p_award": "model (p_award)", "past_rate": "recipient's past rate"}
    width = max(len(v) for v in names.values())
    lines.append(f"{'':{width}}  " + "  ".join(h.rjust(7) for h in ("AUC", "Brier", "ECE")))
    for key, name in names.items():
        values = award[key]
        lines.append(f"{name.ljust(width)}  " + "  ".join(number(values[k]).rjust(7) for k in ("auc", "brier", "ece")))
    return "\n".join(lines)


# --------------------------------------------------------------------------- report


#: Titles of the subsets in the table (fr, en).
SUBSET_TITLES = {
    "all": ("toutes les demandes", "all applications"),
    "new_pairs": ("nouvelles paires (bénéficiaire jamais financé par ce financeur)",
                  "new pairs (recipient never granted by that funder)"),
    "new_recipients": ("nouveaux bénéficiaires (jamais financés)", "new recipients (never granted)"),
}


def format_table(evaluation: Evaluation, lang: str = "fr") -> str:
    """The metrics table, one line per method, in French or English."""
    names = {"coopmatch": ("coopmatch", "coopmatch"),
             "most_frequent": ("financeur le plus fréquent", "most frequent funder"),
             "tfidf_char_lr": ("TF-IDF car. 2–5 + régression logistique", "TF-IDF char 2–5 + logistic regression")}
    keys = ["hit@1", "hit@3", "mrr", f"ndcg@{NDCG_AT}"]
    heads = ["hit@1", "hit@3", "MRR", f"nDCG@{NDCG_AT}"]
    label = "méthode" if lang == "fr" else "method"
    width = max(len(label), *(len(names[m][0 if lang == "fr" else 1]) for m in evaluation.metrics))

    def number(v: float) -> str:
        text = f"{v:.3f}"
        return text.replace(".", ",") if lang == "fr" else text

    lines = [f"{label.ljust(width)}  " + "  ".join(h.rjust(7) for h in heads)]
    for method, values in evaluation.metrics.items():
        name = names.get(method, (method, method))[0 if lang == "fr" else 1]
        lines.append(f"{name.ljust(width)}  " + "  ".join(number(values[k]).rjust(7) for k in keys))
    for subset, values in evaluation.subsets.items():
        if subset == "all":
            continue
        title = SUBSET_TITLES[subset][0 if lang == "fr" else 1]
        size = f"{values['n']:,}".replace(",", "\u202f" if lang == "fr" else ",")
        lines.append(f"{title} (n = {size})" + (" :" if lang == "fr" else ":"))
        for method in evaluation.metrics:
            name = names.get(method, (method, method))[0 if lang == "fr" else 1]
            lines.append(f"{name.ljust(width)}  " + "  ".join(number(values[method][k]).rjust(7) for k in keys))
    if lang == "fr":
        intro = (f"Apprentissage : {evaluation.train_rows:,} décisions avant {evaluation.test_from_year} ; "
                 f"test : {evaluation.test_rows:,} subventions accordées à partir de {evaluation.test_from_year} ; "
                 f"{evaluation.funders} financeurs.").replace(",", "\u202f")
        outro = f"Lignes du top 3 expliquées : {format_percent(evaluation.explained_top3, 'fr')}"
    else:
        intro = (f"Training: {evaluation.train_rows:,} decisions before {evaluation.test_from_year}; "
                 f"test: {evaluation.test_rows:,} granted applications from {evaluation.test_from_year} on; "
                 f"{evaluation.funders} funders.")
        outro = f"Top-3 lines explained: {format_percent(evaluation.explained_top3, 'en')}"
    return "\n".join([intro, *lines, outro])


__all__ = [
    "Evaluation",
    "evaluate_award",
    "evaluate_history",
    "format_award",
    "format_table",
    "projects_from_history",
    "ranking_metrics",
    "ranks_of_truth",
    "recipient_keys",
    "subset_masks",
    "time_split",
    "write_reliability_png",
]
