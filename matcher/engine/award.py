"""Chance of award: a calibrated probability that an application to a funder is granted.

:class:`AwardModel` learns from past decisions (granted **and** refused rows of a
canonical history frame) and predicts ``p_award`` for new applications: a
recipient (id and name), a funder id, a purpose, sectors, and optionally the
year of the application.

Only what is known when an application is made is used. Never the awarded
amount of the application itself (it is written with the decision), never a
column such as Paris's ``Nature de la subvention`` (``Non précisée`` for nearly
every refusal: written with the decision too; the canonical history schema has
no field for it). The features of an application of year ``Y`` are computed
from the decisions of the years before ``Y`` only ("as of" features):

- the recipient's record: past decisions (log), past grant rate (smoothed
  towards the overall rate), whether it was ever decided on, years since its
  last grant, its grant rate in the latest year, its past decisions and grant
  rate *with this funder*, the number of distinct funders that granted it;
- the funder's past grant rate (smoothed) and its grant rate in the latest year;
- the application: the funder (one-hot), its sector labels (multi-hot), the
  length of the purpose, words of the recipient's name that say what kind of
  organisation it is (association, company, public body…), and three text
  scores from TF-IDF words of the purpose and name, fitted on the years before:
  the past grant rate of similar texts (logistic regression), and how much the
  text looks like what *this funder* granted, and refused, before (the
  probability of the funder among the past granted, resp. refused, rows: an
  application sent to a directorate whose topics it does not share is more
  often refused). On Paris (train to 2017, test 2018–2019) the two funder
  scores took AUC from 0.744 to 0.762. A fourth text score is the grant rate
  of similar texts *sent to the same funder* (a logistic regression on the
  words and on the words crossed with the funder, :data:`FUNDER_WORDS`):
  validation year 2017 AUC 0.777 → 0.783.

Model: gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``),
fitted on the applications of every training year but the latest (each with its
as-of features), then calibrated on the latest training year (isotonic
regression; Platt scaling with ``calibration="sigmoid"``) — the held-out year
also picks nothing else. Deterministic for a given ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funders.history import GRANTED, REFUSED, decision_status
from matcher.core.errors import MatchingError
from matcher.core.text import fold
from matcher.engine.features import as_choices, as_float, as_text, column

#: Pseudo-decisions at the overall rate added to every rate (smoothing).
PRIOR_STRENGTH = 2.0
#: Words of a folded recipient name that say what kind of organisation it is.
NAME_KINDS = {
    "association": ("association", "asso", "amicale", "comite", "club", "federation", "union", "ligue"),
    "company": ("sas", "sarl", "sa", "eurl", "sasu", "scop", "scic", "societe", "ste", "entreprise", "sci"),
    "public": ("ccas", "commune", "mairie", "ville", "departement", "region", "etablissement", "public",
               "universite", "ecole", "college", "lycee", "caisse", "office", "syndicat"),
    "foundation": ("fondation", "fonds", "institut"),
    "theatre": ("theatre", "compagnie", "cie", "ensemble", "orchestre", "festival", "production", "productions"),
    "sport": ("sport", "sportif", "sportive", "football", "basket", "tennis", "rugby", "judo", "natation"),
}


def recipient_keys(rows: pd.DataFrame) -> np.ndarray:
    """Who each row's recipient is: ``siren:<9 digits>`` (the first 9 digits of a SIRET,
    or a SIREN), else ``name:<folded name>``; None when neither is known."""
    out = []
    for rid, name in zip(column(rows, "recipient_id"), column(rows, "recipient_name"), strict=True):
        text = as_text(rid)
        compact = "".join(text.split()) if text else ""
        if len(compact) in (9, 14) and compact.isdigit():
            out.append(f"siren:{compact[:9]}")
            continue
        folded = fold(as_text(name) or "")
        out.append(f"name:{folded}" if folded else None)
    return np.array(out, dtype=object)


def _texts(rows: pd.DataFrame) -> list[str]:
    return [" ".join(p for p in (as_text(a), as_text(b)) if p)
            for a, b in zip(column(rows, "purpose"), column(rows, "recipient_name"), strict=True)]


class _Past:
    """Counts of past decisions by recipient, by funder and by pair, for as-of features."""

    def __init__(self, keys: np.ndarray, funders: np.ndarray, granted: np.ndarray, years: np.ndarray):
        frame = pd.DataFrame({"k": keys, "f": funders, "g": granted.astype(float), "y": years})
        self.rate = float(frame["g"].mean()) if len(frame) else 0.5
        latest = frame["y"].max() if len(frame) else np.nan
        self.latest = latest
        self.by_key = frame.dropna(subset=["k"]).groupby("k")["g"].agg(["size", "sum"])
        last = frame[frame["y"] == latest]
        self.by_key_last = last.dropna(subset=["k"]).groupby("k")["g"].agg(["size", "sum"])
        self.by_funder = frame.groupby("f")["g"].agg(["size", "sum"])
        self.by_funder_last = last.groupby("f")["g"].agg(["size", "sum"])
        pair = frame.dropna(subset=["k"])
        self.by_pair = pair.groupby(["k", "f"])["g"].agg(["size", "sum"])
        granted_rows = pair[pair["g"] > 0]
        self.last_grant = granted_rows.groupby("k")["y"].max()
        self.funders_granting = granted_rows.groupby("k")["f"].nunique()

    def _lookup(self, table: pd.DataFrame, index) -> tuple[np.ndarray, np.ndarray]:
        found = table.reindex(index)
        return (found["size"].fillna(0).to_numpy(dtype=float), found["sum"].fillna(0).to_numpy(dtype=float))

    def _smoothed(self, n: np.ndarray, g: np.ndarray, prior) -> np.ndarray:
        return (g + PRIOR_STRENGTH * prior) / (n + PRIOR_STRENGTH)

    def features(self, keys: np.ndarray, funders: np.ndarray, years: np.ndarray) -> np.ndarray:
        key_index = pd.Index(keys)
        n_k, g_k = self._lookup(self.by_key, key_index)
        n_kl, g_kl = self._lookup(self.by_key_last, key_index)
        n_f, g_f = self._lookup(self.by_funder, pd.Index(funders))
        n_fl, g_fl = self._lookup(self.by_funder_last, pd.Index(funders))
        n_p, g_p = self._lookup(self.by_pair, pd.MultiIndex.from_arrays([keys, funders]))
        funder_rate = self._smoothed(n_f, g_f, self.rate)
        last = self.last_grant.reindex(key_index).to_numpy(dtype=float)
        gap = np.where(np.isnan(last), 10.0, np.nan_to_num(years, nan=self.latest + 1) - last)
        return np.column_stack([
            np.log1p(n_k), self._smoothed(n_k, g_k, self.rate), (n_k == 0).astype(float),
            np.log1p(n_kl), np.where(n_kl > 0, g_kl / np.maximum(n_kl, 1), np.nan),
            gap, self.funders_granting.reindex(key_index).fillna(0).to_numpy(dtype=float),
            np.log1p(n_p), self._smoothed(n_p, g_p, funder_rate), (n_p == 0).astype(float),
            funder_rate, self._smoothed(n_fl, g_fl, funder_rate), np.log1p(n_f),
        ])


#: Names of the as-of features, in column order (after them: text score, purpose length, name kinds,
#: then funders and sectors).
PAST_FEATURES = ("recipient_decisions_log", "recipient_rate", "recipient_new", "recipient_last_year_decisions_log",
                 "recipient_last_year_rate", "years_since_last_grant", "recipient_funders_granting",
                 "pair_decisions_log", "pair_rate", "pair_new", "funder_rate", "funder_last_year_rate",
                 "funder_decisions_log")


#: Add the grant rate of similar texts *sent to the same funder* (words crossed with the funder).
FUNDER_WORDS = True


def _with_funder_words(matrix, funders: np.ndarray, index: dict):
    """``[words | words x funder]``: each row's words again in its funder's own block of columns
    (none for a funder outside ``index``), so a linear model learns per-funder word weights."""
    from scipy import sparse

    matrix = sparse.csr_matrix(matrix)
    vocabulary = matrix.shape[1]
    block = np.array([index.get(f, -1) for f in funders.tolist()], dtype=np.int64)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = block[rows] >= 0
    crossed = sparse.csr_matrix((matrix.data[keep], (rows[keep], block[rows][keep] * vocabulary
                                                     + matrix.indices[keep])),
                                shape=(matrix.shape[0], vocabulary * max(len(index), 1)))
    return sparse.hstack([matrix, crossed], format="csr")


class AwardModel:
    """``p_award``: the calibrated chance that an application is granted (see the module docstring).

    Parameters
    ----------
    calibration:
        ``"isotonic"`` (default) or ``"sigmoid"`` (Platt scaling), fitted on the latest training year.
    seed:
        Seed of the boosted trees.
    """

    def __init__(self, calibration: str = "isotonic", seed: int = 0, text: bool = True,
                 funder_words: bool = FUNDER_WORDS):
        if calibration not in ("isotonic", "sigmoid"):
            raise MatchingError(f"calibration must be 'isotonic' or 'sigmoid', not {calibration!r}")
        self.calibration = calibration
        self.seed = seed
        self.text = text
        self.funder_words = funder_words

    # ------------------------------------------------------------------ fitting

    def fit(self, history: pd.DataFrame) -> AwardModel:
        """Learn from the granted and refused rows of ``history`` (needs at least three years:
        one to look back on, one to fit, the latest to calibrate)."""
        rows, granted, years = self._decided(history)
        distinct = np.unique(years[~np.isnan(years)])
        if len(distinct) < 3 or len(np.unique(granted)) < 2:
            raise MatchingError("the chance of award needs granted and refused decisions over at least "
                                "three years (one to look back on, one to learn, one to calibrate)")
        self.history_ = rows
        self.granted_ = granted
        self.years_ = years
        self.funders_ = np.array(sorted({f for f in column(rows, "funder_id") if as_text(f)}), dtype=object)
        self.sectors_ = np.array(sorted({s for v in column(rows, "sectors") for s in (as_choices(v) or ())}),
                                 dtype=object)
        self.latest_year_ = int(distinct[-1])
        fit_years, calib_year = distinct[1:-1], distinct[-1]
        x_fit = np.vstack([self._year_features(rows, years, y) for y in fit_years])
        y_fit = np.concatenate([granted[years == y] for y in fit_years])
        # A feature never known in the fit years (e.g. a short history) is a constant 0: the trees'
        # binning cannot take a column that is all NaN.
        self.empty_columns_ = np.isnan(x_fit).all(axis=0)
        x_fit = self._filled(x_fit)
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model_ = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=31,
                                                     min_samples_leaf=40, l2_regularization=1.0,
                                                     random_state=self.seed).fit(x_fit, y_fit)
        x_cal = self._year_features(rows, years, calib_year)
        raw = self.model_.predict_proba(self._filled(x_cal))[:, 1]
        self.calibrator_ = self._calibrator(raw, granted[years == calib_year])
        # Features of new applications look back on every decision of the history.
        self.past_ = self._past(rows, granted, years, np.inf)
        self.text_model_ = self._text_model(rows, granted, years, np.inf)
        return self

    @staticmethod
    def _decided(history: pd.DataFrame):
        status = decision_status(history) if len(history) else np.zeros(0, dtype=object)
        funders = np.array([as_text(v) for v in column(history, "funder_id")], dtype=object)
        keep = ((status == GRANTED) | (status == REFUSED)) & (funders != None)  # noqa: E711
        rows = history.loc[keep].reset_index(drop=True)
        years = np.array([as_float(v) for v in column(rows, "year")], dtype=float)
        return rows, (status[keep] == GRANTED).astype(int), years

    def _past(self, rows, granted, years, before: float) -> _Past:
        mask = years < before
        part = rows.loc[mask]
        return _Past(recipient_keys(part), np.array([as_text(v) for v in column(part, "funder_id")], dtype=object),
                     granted[mask], years[mask])

    def _text_model(self, rows, granted, years, before: float):
        if not self.text:
            return None
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        mask = years < before
        if len(np.unique(granted[mask])) < 2:
            return None
        texts = _texts(rows.loc[mask])
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode",
                                     dtype=np.float32, max_features=200_000)
        matrix = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=2.0, max_iter=200, solver="liblinear").fit(matrix, granted[mask])
        funders = np.array([as_text(v) for v in column(rows.loc[mask], "funder_id")], dtype=object)
        by_funder = {}
        for name, which in (("granted", granted[mask] == 1), ("refused", granted[mask] == 0)):
            if len(np.unique(funders[which])) >= 2:
                from sklearn.linear_model import SGDClassifier

                by_funder[name] = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=10, tol=None,
                                                random_state=self.seed).fit(matrix[which], funders[which])
        pair_model = None
        if self.funder_words:
            index = {f: i for i, f in enumerate(sorted(set(funders.tolist()) - {None}))}
            pair_model = (index, LogisticRegression(C=1.0, max_iter=200, solver="liblinear").fit(
                _with_funder_words(matrix, funders, index), granted[mask]))
        return vectorizer, model, by_funder, pair_model

    def _year_features(self, rows, years, year: float) -> np.ndarray:
        """Features of the applications of ``year``, as of the years before it."""
        past = self._past(rows, self.granted_, years, year)
        text_model = self._text_model(rows, self.granted_, years, year)
        return self._features(rows.loc[years == year], past, text_model)

    def _features(self, apps: pd.DataFrame, past: _Past, text_model) -> np.ndarray:
        keys = recipient_keys(apps)
        funders = np.array([as_text(v) for v in column(apps, "funder_id")], dtype=object)
        years = np.array([as_float(v) for v in column(apps, "year")], dtype=float)
        base = past.features(keys, funders, years)
        text_score = np.full((len(apps), 4 if self.funder_words else 3), np.nan)
        if text_model is not None:
            vectorizer, model, by_funder, pair_model = text_model
            matrix = vectorizer.transform(_texts(apps))
            text_score[:, 0] = model.predict_proba(matrix)[:, 1]
            if pair_model is not None:
                index, classifier = pair_model
                text_score[:, 3] = classifier.predict_proba(_with_funder_words(matrix, funders, index))[:, 1]
            # How much the text looks like what this funder granted (and refused) before.
            for c, name in ((1, "granted"), (2, "refused")):
                if name in by_funder:
                    classifier = by_funder[name]
                    proba = classifier.predict_proba(matrix)
                    column_of = {f: i for i, f in enumerate(classifier.classes_.tolist())}
                    index = np.array([column_of.get(f, -1) for f in funders])
                    picked = proba[np.arange(len(apps)), np.maximum(index, 0)]
                    text_score[:, c] = np.where(index >= 0, picked, 0.0)
        purposes = [as_text(v) or "" for v in column(apps, "purpose")]
        names = [set(fold(as_text(v) or "").split()) for v in column(apps, "recipient_name")]
        kinds = np.array([[bool(words & set(vocab)) for vocab in NAME_KINDS.values()] for words in names],
                         dtype=float).reshape(len(apps), len(NAME_KINDS))
        funder_hot = (funders[:, None] == self.funders_[None, :]).astype(float)
        sector_sets = [set(as_choices(v) or ()) for v in column(apps, "sectors")]
        sector_hot = np.array([[s in chosen for s in self.sectors_] for chosen in sector_sets],
                              dtype=float).reshape(len(apps), len(self.sectors_))
        return np.column_stack([base, text_score, np.log1p([len(p) for p in purposes]), kinds, funder_hot,
                                sector_hot])

    def _calibrator(self, raw: np.ndarray, truth: np.ndarray):
        if self.calibration == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, truth)
        from sklearn.linear_model import LogisticRegression

        return _Platt(LogisticRegression(C=1e6).fit(_logit(raw)[:, None], truth))

    # ------------------------------------------------------------------ predicting

    def raw_scores(self, applications: pd.DataFrame) -> np.ndarray:
        """The boosted trees' uncalibrated probabilities."""
        if not hasattr(self, "model_"):
            raise MatchingError("AwardModel is not fitted: call fit(history) first")
        if len(applications) == 0:
            return np.zeros(0)
        x = self._filled(self._features(applications, self.past_, self.text_model_))
        return self.model_.predict_proba(x)[:, 1]

    def _filled(self, x: np.ndarray) -> np.ndarray:
        if self.empty_columns_.any():
            x = x.copy()
            x[:, self.empty_columns_] = 0.0
        return x

    def predict(self, applications: pd.DataFrame) -> np.ndarray:
        """``p_award`` of each application row (``funder_id``, ``recipient_id``, ``recipient_name``,
        ``purpose``, ``sectors``, optional ``year``), in [0, 1]."""
        raw = self.raw_scores(applications)
        return np.clip(self.calibrator_.predict(raw), 0.0, 1.0) if len(raw) else raw


class _Platt:
    def __init__(self, model):
        self.model = model

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# --------------------------------------------------------------------------- ranked outputs


def applications_for(projects: pd.DataFrame, lines: pd.DataFrame, year: float | None = None) -> pd.DataFrame:
    """Application rows (the input of :meth:`AwardModel.predict`) for ranked ``lines`` (``project_id``,
    ``funder_id``) of canonical ``projects``: the project's SIRET (else SIREN) and carrier name as the
    recipient, its name and summary as the purpose, its sectors, and ``year``."""
    index = projects.drop_duplicates("project_id").set_index("project_id")
    at = index.reindex(lines["project_id"].tolist())

    def values(name):
        return at[name].tolist() if name in at.columns else [None] * len(at)

    recipient = [as_text(a) or as_text(b) for a, b in zip(values("siret"), values("siren"), strict=True)]
    purpose = [" ".join(p for p in (as_text(a), as_text(b)) if p) or None
               for a, b in zip(values("name"), values("summary"), strict=True)]
    return pd.DataFrame({
        "funder_id": pd.Series([as_text(v) for v in lines["funder_id"].tolist()], dtype=object),
        "recipient_id": pd.Series(recipient, dtype=object),
        "recipient_name": pd.Series([as_text(v) for v in values("carrier_name")], dtype=object),
        "purpose": pd.Series(purpose, dtype=object),
        "sectors": pd.Series(values("sectors"), dtype=object),
        "year": pd.Series([np.nan if year is None else float(year)] * len(lines), dtype=float),
    })


def p_award_of_lines(model: AwardModel, projects: pd.DataFrame, lines: pd.DataFrame,
                     year: float | None = None) -> np.ndarray:
    """``p_award`` of each ranked line; NaN for a funder the model has no decision of."""
    out = np.full(len(lines), np.nan)
    if not len(lines):
        return out
    apps = applications_for(projects, lines, year)
    known = np.isin(apps["funder_id"].to_numpy(dtype=object), model.funders_)
    if known.any():
        out[known] = np.round(model.predict(apps.loc[known].reset_index(drop=True)), 4)
    return out


def has_decisions(history: pd.DataFrame | None) -> bool:
    """Whether ``history`` holds granted and refused decisions of at least three years (enough for
    :class:`AwardModel`)."""
    if history is None or not len(history):
        return False
    _, granted, years = AwardModel._decided(history)
    return len(np.unique(years[~np.isnan(years)])) >= 3 and len(np.unique(granted)) == 2


# --------------------------------------------------------------------------- metrics


def auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(truth)
    if len(np.unique(truth)) < 2:
        return float("nan")
    return float(roc_auc_score(truth, scores))


def brier(truth: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(truth, dtype=float)) ** 2))


def reliability(truth: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, list]:
    """Equal-width bins of ``p``: count, mean predicted and observed rate per bin (empty bins kept)."""
    p = np.asarray(p, dtype=float)
    truth = np.asarray(truth, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(index, minlength=bins)
    total_p = np.bincount(index, weights=p, minlength=bins)
    total_y = np.bincount(index, weights=truth, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"count": count.tolist(), "predicted": np.where(count > 0, total_p / count, np.nan).tolist(),
                "observed": np.where(count > 0, total_y / count, np.nan).tolist()}


def expected_calibration_error(truth: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width bins: sum of |observed - predicted| weighted by bin share."""
    table = reliability(truth, p, bins)
    count = np.asarray(table["count"], dtype=float)
    if count.sum() == 0:
        return float("nan")
    gap = np.abs(np.nan_to_num(np.asarray(table["observed"])) - np.nan_to_num(np.asarray(table["predicted"])))
    return float((gap * count).sum() / count.sum())


def past_rate_baseline(history: pd.DataFrame, applications: pd.DataFrame) -> np.ndarray:
    """The recipient's past grant rate (smoothed towards the overall rate): the baseline of ``p_award``."""
    rows, granted, years = AwardModel._decided(history)
    past = _Past(recipient_keys(rows), np.array([as_text(v) for v in column(rows, "funder_id")], dtype=object),
                 granted, years)
    keys = recipient_keys(applications)
    n, g = past._lookup(past.by_key, pd.Index(keys))
    return past._smoothed(n, g, past.rate)


__all__ = [
    "AwardModel",
    "applications_for",
    "has_decisions",
    "p_award_of_lines",
    "auc",
    "brier",
    "expected_calibration_error",
    "past_rate_baseline",
    "recipient_keys",
    "reliability",
]
