"""The Matcher: fitted on funders (and grant history), it ranks in both directions.

Scikit-learn conventions: ``__init__`` only stores parameters; :meth:`Matcher.fit`
learns into trailing-underscore attributes and returns ``self``; the ranking
methods check that the matcher is fitted.

Data flow of one run: projects are sorted by ``project_id`` and encoded once
(:class:`~matcher.engine.features.ProjectFeatures`), then processed in blocks of at
most :data:`BLOCK_PROJECTS` projects (fewer when there are many funder rows,
so a block holds at most :data:`BLOCK_PAIRS` pairs: :func:`block_size`). Each
block is scored by compiled loops (:mod:`matcher.engine.kernels`: eligibility
bits, criterion layers, the weighted score), and only the top pairs of the
block are kept, so memory stays flat. Reasons are written only for the pairs
that are returned.

Output order is canonical — by id, then rank — so the same inputs give the
same output whatever the order of their rows.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from matcher.core.errors import MatchingError
from matcher.core.suggest import unknown_message
from matcher.engine import explain as ex
from matcher.engine.criteria import default_criteria
from matcher.engine.criterion import Criterion, FitContext
from matcher.engine.eligibility import (
    VERDICTS,
    NotChecked,
    ReasonContext,
    Rule,
    default_rules,
    describe_pair,
    unstated,
)
from matcher.engine.features import (
    Block,
    FeatureSpace,
    ProjectFeatures,
    as_day,
    as_float,
    as_text,
    column,
)
from matcher.engine.scoring import (
    PairDetails,
    check_positions,
    contributions,
    gather,
    rank_keys,
    score_block,
    top_per_row,
    unknown_weight,
    weight_matrix,
)

#: Most projects per block.
BLOCK_PROJECTS = 2000
#: Most (project, funder row) pairs per block: about 25 MB per criterion layer and
#: 100 MB per block in all, per thread (measured fastest on 2 cores with 5,000 funder rows:
#: benchmarks/RESULTS.md).
BLOCK_PAIRS = 262_144
#: Words shown for text similarity in an explanation.
TEXT_TERMS = 5

BASE_COLUMNS = ["project_id", "funder_id", "call_id", "rank", "score", "eligibility", "reasons",
                "project_name", "funder_name"]
EXTRA_COLUMNS = ["unknown_weight", "call_title", "call_closes", "coverage"]


class _MatcherTop:
    """The default ``top`` of :meth:`Matcher.rank_funders` and :meth:`Matcher.rank_projects`."""

    def __repr__(self) -> str:
        return "MATCHER_TOP"


#: ``top`` left out: the matcher's own ``top`` (``top=None`` means every line).
MATCHER_TOP = _MatcherTop()


def block_size(n_projects: int, n_funders: int) -> int:
    """Projects per block: at most :data:`BLOCK_PROJECTS`, and at most :data:`BLOCK_PAIRS` pairs."""
    return max(1, min(BLOCK_PROJECTS, BLOCK_PAIRS // max(n_funders, 1), max(n_projects, 1)))


class Matcher:
    """Match projects with funders: eligibility, criteria, score, ranking, explanations.

    Parameters
    ----------
    weights:
        Criterion name -> weight for this run; overrides, criterion by
        criterion, the funder rows' ``weights`` and the defaults
        (:data:`matcher.engine.scoring.DEFAULT_WEIGHTS`).
    date:
        Run date (ISO string or date) against which calls are open; when None,
        the day :meth:`fit` is called (kept in ``run_date_``).
    lang:
        ``fr`` or ``en``: the language of the ``reasons`` column and of explanations.
    top:
        Pairs kept per project (``rank_funders``) or per funder row
        (``rank_projects``) unless the call says otherwise; None keeps all.
    territories:
        The territory table (:class:`matcher.referential.territories.Territories`); the
        shipped one when None.
    criteria:
        Criterion objects to use instead of the built-in ones
        (:func:`matcher.engine.criteria.default_criteria`).

    Examples
    --------
    >>> matcher = Matcher(date="2026-03-01", lang="en").fit(funders)   # doctest: +SKIP
    >>> matcher.rank_funders(projects, top=5)                          # doctest: +SKIP
    """

    def __init__(self, weights: Mapping[str, float] | None = None, date=None, lang: str = "fr",
                 top: int | None = 10, territories=None, criteria: list[Criterion] | None = None):
        self.weights = weights
        self.date = date
        self.lang = lang
        self.top = top
        self.territories = territories
        self.criteria = criteria

    # ------------------------------------------------------------------ fitting

    def fit(self, funders: pd.DataFrame, history: pd.DataFrame | None = None) -> Matcher:
        """Learn the funder rows (one per funder and call) and, optionally, grant history."""
        if self.lang not in ex.LANGS:
            raise MatchingError(f"lang must be one of {', '.join(ex.LANGS)}, not {self.lang!r}")
        self.resolve_top(None)
        day = self._day()
        if self.weights is not None and not isinstance(self.weights, Mapping):
            raise MatchingError("weights must be a mapping of criterion name to weight")
        criteria = [copy.deepcopy(c) for c in (self.criteria if self.criteria is not None else default_criteria())]
        criteria = [c for c in criteria if history is not None or not c.requires_history]
        names = [c.name for c in criteria]
        if not criteria or len(set(names)) != len(names):
            raise MatchingError(f"criteria must be a non-empty list with unique names, not {names}")
        frame = _sorted_funders(funders)
        territories = self.territories
        if territories is None:
            from matcher.referential.territories import Territories

            territories = Territories.default()
        self.weights_ = weight_matrix(frame, criteria, self.weights)
        self.territories_ = territories
        self.funders_ = frame
        self.space_ = FeatureSpace(territories)
        self.funder_features_ = self.space_.fit(frame)
        self.rules_: list[Rule] = default_rules()
        self.unchecked_: tuple[str, ...] = ()
        context = FitContext(self.space_, frame, self.funder_features_, history)
        self.criteria_ = [c.fit(context) or c for c in criteria]
        self.criteria_names_ = names
        self.history_ = history
        self.day_ = day
        self.run_date_ = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
        self._funder_records = None
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The criterion names, in output order."""
        self.check_fitted()
        return np.array(self.criteria_names_, dtype=object)

    def waive_unstated(self, projects: pd.DataFrame) -> tuple[str, ...]:
        """Set aside, for the runs that follow, the rules whose fact no project of ``projects`` states.

        Only rules marked ``said_once_when_unstated`` (the instruments sought): when the projects file
        has no such column, or only empty cells, every line would otherwise be "to check" for the same
        reason. The rule then sets no bit and :meth:`run_notices` says it once for the run; a project
        that leaves the cell empty in a file where others fill it stays "to check". Give the whole
        file (before a ``--project`` filter), so the choice does not depend on the lines shown.
        Returns the names of the rules set aside (``unchecked_``).
        """
        self.check_fitted()
        frame = projects if isinstance(projects, pd.DataFrame) else pd.DataFrame(projects)
        rules = [getattr(r, "rule", r) for r in self.rules_]
        self.rules_ = [NotChecked(r) if r.said_once_when_unstated and unstated(r, frame) else r for r in rules]
        self.unchecked_ = tuple(r.name for r in self.rules_ if isinstance(r, NotChecked))
        return self.unchecked_

    def run_notices(self, lang: str | None = None) -> list[str]:
        """What holds for every line of this run, said once (in ``lang``, default the matcher's)."""
        self.check_fitted()
        lang = lang or self.lang
        return [ex.template("notices", "unchecked", name)[lang] for name in getattr(self, "unchecked_", ())]

    # ------------------------------------------------------------------ ranking

    def rank_funders(self, projects: pd.DataFrame, top: int | None = MATCHER_TOP,
                     include_ineligible: bool = False) -> pd.DataFrame:
        """The best funder rows for each project, ``rank`` 1 first within each project.

        Ineligible pairs are left out unless ``include_ineligible``; then they
        follow every other pair of the project. ``top``: the number of lines per
        project; left out, the matcher's ``top``; None, every line.
        """
        self.check_fitted()
        k = self._lines(top)
        frame, features = self.prepare_projects(projects)
        ff = self.funder_features_
        check_positions(ff.n)
        positions = np.arange(ff.n)[None, :]
        funder_index = np.arange(ff.n)
        parts = []
        for start, stop in self._block_bounds(features.n, ff.n):
            block = Block(features.slice(start, stop), ff, self.space_, self.day_)
            scored = score_block(self.criteria_, self.rules_, block, self.weights_)
            keys = rank_keys(scored, positions)
            rows, cols = top_per_row(keys, k)
            if not include_ineligible:
                keep = scored.eligibility.verdict[rows, cols] != 2
                rows, cols = rows[keep], cols[keep]
            parts.append(gather(scored, rows, cols, keys[rows, cols], start, funder_index))
        details = PairDetails.concat(parts, len(self.criteria_))
        return self.pairs_frame(details, frame, features, by="project")

    def rank_projects(self, projects: pd.DataFrame, funder_id: str, call_id: str | None = None,
                      top: int | None = MATCHER_TOP, include_ineligible: bool = False) -> pd.DataFrame:
        """The best projects for one funder row, ``rank`` 1 first.

        With ``call_id`` None and a funder that has several calls, each call
        is ranked on its own (``rank`` restarts for each call). ``top``: the
        number of projects per funder row; left out, the matcher's ``top``;
        None, every project.
        """
        self.check_fitted()
        k = self._lines(top)
        rows = self._funder_rows(funder_id, call_id)
        frame, features = self.prepare_projects(projects)
        check_positions(features.n)
        ff = self.funder_features_.take(rows)
        weights = self.weights_[rows]
        kept: PairDetails | None = None
        for start, stop in self._block_bounds(features.n, ff.n):
            block = Block(features.slice(start, stop), ff, self.space_, self.day_)
            scored = score_block(self.criteria_, self.rules_, block, weights)
            positions = np.arange(start, stop)[:, None]
            keys = rank_keys(scored, positions)
            cols, prows = top_per_row(keys.T, k)
            if not include_ineligible:
                keep = scored.eligibility.verdict[prows, cols] != 2
                prows, cols = prows[keep], cols[keep]
            found = gather(scored, prows, cols, keys[prows, cols], start, rows)
            kept = found if kept is None else _top_per_funder(
                PairDetails.concat([kept, found], len(self.criteria_)), k)
        details = kept if kept is not None else PairDetails.concat([], len(self.criteria_))
        return self.pairs_frame(_top_per_funder(details, k), frame, features, by="funder")

    def explain(self, projects: pd.DataFrame, project_id: str, funder_id: str,
                call_id: str | None = None) -> ex.Explanation:
        """Explain one pair. With ``call_id`` None and a funder with several
        calls, the call that ranks best for this project is explained."""
        self.check_fitted()
        frame = _projects_frame(projects)
        ids = frame["project_id"].tolist()
        if project_id not in ids:
            raise MatchingError(unknown_message("project id", project_id, ids))
        one = frame.iloc[[ids.index(project_id)]].reset_index(drop=True)
        return self._explain_rows(one, self.space_.encode_projects(one), self._funder_rows(funder_id, call_id))

    def explanations(self, projects: pd.DataFrame, ranked: pd.DataFrame) -> list[ex.Explanation]:
        """One :class:`~matcher.engine.explain.Explanation` per row of a ranked frame (same order).

        ``ranked`` needs ``project_id``, ``funder_id`` and ``call_id`` columns,
        as returned by :meth:`rank_funders` or :meth:`rank_projects`.
        """
        self.check_fitted()
        frame = _projects_frame(projects)
        position = {pid: i for i, pid in enumerate(frame["project_id"].tolist())}
        encoded: dict[str, tuple[pd.DataFrame, ProjectFeatures]] = {}
        out = []
        for project_id, funder_id, call_id in zip(ranked["project_id"], ranked["funder_id"],
                                                  ranked["call_id"], strict=True):
            call_id = as_text(call_id)
            if project_id not in encoded:
                if project_id not in position:
                    raise MatchingError(unknown_message("project id", project_id, list(position)))
                one = frame.iloc[[position[project_id]]].reset_index(drop=True)
                encoded[project_id] = (one, self.space_.encode_projects(one))
            one, features = encoded[project_id]
            out.append(self._explain_rows(one, features, self._funder_rows(funder_id, call_id)))
        return out

    def _explain_rows(self, one: pd.DataFrame, features: ProjectFeatures, rows: np.ndarray) -> ex.Explanation:
        """Explain the best of the funder ``rows`` for a one-project frame."""
        ff = self.funder_features_.take(rows)
        block = Block(features, ff, self.space_, self.day_)
        scored = score_block(self.criteria_, self.rules_, block, self.weights_[rows])
        keys = rank_keys(scored, np.arange(len(rows))[None, :])
        col = int(np.argmin(keys[0]))
        details = gather(scored, np.array([0]), np.array([col]), keys[0, [col]], 0, rows)
        return self._explanation(details, one, features, block, col)

    # ------------------------------------------------------------------ output

    def pairs_frame(self, details: PairDetails, frame: pd.DataFrame, features: ProjectFeatures,
               by: str, reasons: ReasonTexts | None = None) -> pd.DataFrame:
        """The ranked DataFrame of the selected pairs (see the column list in the docs).

        ``reasons`` may be shared by several calls on the same ``frame`` (the
        batch writes its rows a chunk at a time), so reason texts are written
        once per run rather than once per call.
        """
        funders = self.funders_
        if by == "project":
            order = np.lexsort((details.key, details.project))
        else:
            order = np.lexsort((details.key, details.funder))
        details = details.take(order)
        group = details.project if by == "project" else details.funder
        rank = _rank_within(group)
        contrib = contributions(details, self.weights_)
        out: dict[str, object] = {
            "project_id": frame["project_id"].to_numpy(dtype=object)[details.project],
            "funder_id": funders["funder_id"].to_numpy(dtype=object)[details.funder],
            "call_id": self._funder_object("call_id")[details.funder],
            "rank": rank.astype(np.int64),
            "score": details.score.astype(float),
            "eligibility": np.array(VERDICTS, dtype=object)[details.verdict.astype(int)],
            "reasons": (reasons or ReasonTexts(self, frame)).column(details),
            "project_name": _object_at(frame, "name", details.project),
            "funder_name": self._funder_object("name")[details.funder],
        }
        for c, name in enumerate(self.criteria_names_):
            out[f"score_{name}"] = details.scores[:, c].astype(float)
            out[f"contribution_{name}"] = contrib[:, c].astype(float)
        out["unknown_weight"] = unknown_weight(details, self.weights_)
        out["call_title"] = self._funder_object("call_title")[details.funder]
        out["call_closes"] = self._funder_object("call_closes")[details.funder]
        out["coverage"] = self._coverage(details.project, details.funder, features)
        # Explicit dtypes: text columns stay object with None for unknown (not NaN).
        return pd.DataFrame({name: pd.Series(values, dtype=object if np.asarray(values).dtype == object
                                             else None) for name, values in out.items()})

    def _coverage(self, p_idx: np.ndarray, f_idx: np.ndarray, features: ProjectFeatures) -> np.ndarray:
        """Share of the requested amount the funder can cover (ticket_max, share of budget)."""
        ff = self.funder_features_
        a = features.amount[p_idx]
        with np.errstate(invalid="ignore"):
            cap = np.fmin(ff.ticket_max[f_idx], ff.max_share[f_idx] * features.budget[p_idx])
            covered = np.fmin(a, cap)
            return np.where(a > 0, covered / np.where(a > 0, a, 1.0), np.nan)

    def _explanation(self, details: PairDetails, project: pd.DataFrame, features: ProjectFeatures,
                     block: Block, col: int) -> ex.Explanation:
        f = int(details.funder[0])
        funder = self._funder_dicts()[f]
        record = project.to_dict("records")[0]
        context = ReasonContext(self.territories_, self.day_)
        reasons = describe_pair(self.rules_, details.fail_bits[0], details.unknown_bits[0],
                                details.warn_bits[0], record, funder, context)
        weights = self.weights_[f]
        den = float(details.known_weight[0])
        lines = []
        for c, criterion in enumerate(self.criteria_):
            value = float(details.scores[0, c])
            known = not np.isnan(value)
            share = weights[c] / den if known and den > 0 else 0.0
            lines.append(ex.CriterionLine(
                name=criterion.name, label_fr=criterion.label_for(funder, "fr"),
                label_en=criterion.label_for(funder, "en"),
                score=value if known else None, weight=float(share),
                contribution=value * share if known else None, raw_weight=float(weights[c])))
        terms: list[str] = []
        if "text" in self.criteria_names_ and features.text_known[0] and block.f.text_known[col]:
            terms = self.space_.text_model.top_terms(
                features.text[0], block.f.text[col],
                FeatureSpace.project_documents(project)[0],
                FeatureSpace.funder_documents(self.funders_.iloc[[f]])[0], TEXT_TERMS)
        coverage = self._coverage(np.array([0]), np.array([f]), features)[0]
        requested = as_float(record.get("amount_requested"))
        total = float(weights.sum())
        return ex.Explanation(
            project_id=record["project_id"], funder_id=funder["funder_id"],
            call_id=as_text(funder.get("call_id")),
            project_name=as_text(record.get("name")), funder_name=as_text(funder.get("name")),
            call_title=as_text(funder.get("call_title")), call_closes=as_text(funder.get("call_closes")),
            verdict=VERDICTS[int(details.verdict[0])], score=float(details.score[0]),
            unknown_weight=float(1 - den / total) if total > 0 else 0.0,
            reasons=reasons, criteria=lines, text_terms=terms,
            amount_requested=None if np.isnan(requested) else requested,
            coverage=None if np.isnan(coverage) else float(coverage),
            lang=self.lang,
        )

    # ------------------------------------------------------------------ helpers

    def check_fitted(self) -> None:
        """Raise :class:`MatchingError` unless :meth:`fit` has run."""
        if not hasattr(self, "funder_features_"):
            raise MatchingError("the matcher is not fitted: call fit(funders) first")

    def resolve_top(self, top: int | None) -> int | None:
        """The number of lines kept: ``top`` if given, else the matcher's own (None = all), checked."""
        value = self.top if top is None else top
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise MatchingError(f"top must be a whole number >= 1 (or None for all), not {value!r}")
        return int(value)

    def _lines(self, top) -> int | None:
        """``top`` of a ranking: :data:`MATCHER_TOP` is the matcher's own, None every line."""
        if top is MATCHER_TOP:
            return self.resolve_top(None)
        return None if top is None else self.resolve_top(top)

    def _day(self) -> int:
        if self.date is None:
            return as_day(dt.date.today())
        day = as_day(self.date)
        if day is None:
            raise MatchingError(f"date must be an ISO date (YYYY-MM-DD), not {self.date!r}")
        return day

    def _block_bounds(self, n_projects: int, n_funders: int):
        size = block_size(n_projects, n_funders)
        for start in range(0, n_projects, size):
            yield start, min(start + size, n_projects)

    def prepare_projects(self, projects: pd.DataFrame, sorted_frame: bool = False
                         ) -> tuple[pd.DataFrame, ProjectFeatures]:
        """The projects sorted by id, checked, and their encoded features (what blocks are cut from).

        With ``sorted_frame``, ``projects`` come from :meth:`sorted_projects` (or a slice of
        it) and are encoded as they are."""
        frame = projects if sorted_frame else self.sorted_projects(projects)
        return frame, self.space_.encode_projects(frame)

    @staticmethod
    def sorted_projects(projects: pd.DataFrame) -> pd.DataFrame:
        """The projects checked (ids present and unique) and sorted by id, index 0..n-1."""
        frame = _projects_frame(projects)
        ids = frame["project_id"].tolist()
        order = sorted(range(len(frame)), key=ids.__getitem__)
        return frame.iloc[order].reset_index(drop=True)

    def _funder_rows(self, funder_id: str, call_id: str | None) -> np.ndarray:
        ids = self.funders_["funder_id"].tolist()
        rows = [i for i, v in enumerate(ids) if v == funder_id]
        if not rows:
            raise MatchingError(unknown_message("funder id", funder_id, ids))
        if call_id is None:
            return np.array(rows)
        calls = self.funders_["call_id"].tolist()
        chosen = [i for i in rows if calls[i] == call_id]
        if not chosen:
            known = [calls[i] for i in rows if calls[i] is not None]
            message = unknown_message(f"call id of funder '{funder_id}'", call_id, known)
            raise MatchingError(message if known else f"funder '{funder_id}' has no call; "
                                                      f"unknown call id '{call_id}'")
        return np.array(chosen)

    def _funder_object(self, name: str) -> np.ndarray:
        """:func:`_object` of a funder column, made once per fit (the batch asks for it per block of rows)."""
        cache = self.__dict__.setdefault("_funder_objects", {})
        if getattr(self, "_funder_objects_of", None) is not self.funders_:
            cache.clear()
            self._funder_objects_of = self.funders_
        if name not in cache:
            cache[name] = _object(self.funders_, name)
        return cache[name]

    def _funder_dicts(self) -> list[dict]:
        if getattr(self, "_funder_records", None) is None:
            self._funder_records = self.funders_.to_dict("records")
        return self._funder_records


# --------------------------------------------------------------------------- reasons column


class ReasonTexts:
    """The ``reasons`` column of ranked pairs, written once per distinct reason.

    A reason depends only on the rule, its kind, the funder row and the
    project values the rule reads (``Rule.project_fields``), so each
    (rule, kind, funder row, project values) combination is described once
    (:meth:`Rule.describe`, as :func:`~matcher.engine.eligibility.describe_pair`
    does) and the column is assembled with array operations: one reason id
    per pair and (kind, rule) slot, then one joined text per distinct
    combination of ids. The texts are those of ``describe_pair`` joined with
    `` ; ``, byte for byte.
    """

    def __init__(self, matcher: Matcher, frame: pd.DataFrame):
        self.matcher = matcher
        self.frame = frame
        self.context = ReasonContext(matcher.territories_, matcher.day_)
        self.records = matcher._funder_dicts()
        self.slots = [(kind, i, rule) for kind in (ex.FAIL, ex.UNKNOWN, ex.WARNING)
                      for i, rule in enumerate(matcher.rules_)]
        self.value_ids: dict[tuple, np.ndarray] = {}  # project fields -> id of the values, per project
        self.described: dict[tuple, int] = {}  # (slot, funder group, value id) -> text id
        self.funder_groups: dict[int, np.ndarray] = {}  # rule position -> group id per funder row
        self.text_ids: dict[str, int] = {}
        self.texts: list[str] = []
        # A rule's reason reads only its project_fields: the rows show just those columns.
        fields = [rule.project_fields for rule in matcher.rules_]
        self.rows = _Rows(frame, list(frame.columns) if any(f is None for f in fields) else [
            c for c in frame.columns if c.startswith("jt_") or any(c in f for f in fields)])

    def column(self, details: PairDetails) -> np.ndarray:
        """The reasons text of each pair (``""`` when it has none), as an object array."""
        n = len(details)
        out = np.full(n, "", dtype=object)
        bits = {ex.FAIL: details.fail_bits, ex.UNKNOWN: details.unknown_bits, ex.WARNING: details.warn_bits}
        has = (details.fail_bits | details.unknown_bits | details.warn_bits) != 0
        rows = np.flatnonzero(has)
        if not len(rows):
            return out
        project, funder = details.project[rows], details.funder[rows]
        wanted = {kind: b[rows].astype(np.int64) for kind, b in bits.items()}
        pending = []  # (slot, selected rows, (funder row, value id) of each combination, inverse)
        for s, (kind, i, rule) in enumerate(self.slots):
            sel = np.flatnonzero((wanted[kind] >> i) & 1)
            if not len(sel):
                continue
            values = self._values(rule.project_fields, project[sel])
            group = self._funder_groups(rule)[funder[sel]]
            combo = group * (int(values.max()) + 1) + values
            _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
            keys = list(zip(group[first].tolist(), values[first].tolist(), strict=True))
            pending.append((s, sel, keys, project[sel[first]].tolist(), funder[sel[first]].tolist(),
                            inverse.ravel()))
        codes = np.zeros(len(rows), dtype=np.int64)
        slot_ids = np.full((len(rows), len(pending)), -1, dtype=np.int64)
        lang, row, records, described = self.matcher.lang, self.rows.row, self.records, self.described
        for column_at, (s, sel, keys, projects, funders, inverse) in enumerate(pending):
            kind, _, rule = self.slots[s]
            ids = np.empty(len(keys), dtype=np.int64)
            for j, (g, v) in enumerate(keys):
                text_id = described.get((s, g, v))
                if text_id is None:
                    text = rule.describe_text(kind, row(projects[j]), records[funders[j]], self.context, lang)
                    text_id = described[(s, g, v)] = self._intern(text)
                ids[j] = text_id
            slot_ids[sel, column_at] = ids[inverse]
            # One code per distinct sequence of text ids so far (factorised to stay small).
            codes = pd.factorize(codes * (len(self.texts) + 1) + (slot_ids[:, column_at] + 1))[0].astype(np.int64)
        n_codes = int(codes.max()) + 1
        first_row = np.full(n_codes, -1, dtype=np.int64)
        first_row[codes[::-1]] = np.arange(len(rows) - 1, -1, -1)
        texts = self.texts
        joined = [" ; ".join(ex.merge_texts([texts[t] for t in ids if t >= 0]))
                  for ids in slot_ids[first_row].tolist()]
        out[rows] = np.array(joined, dtype=object)[codes]
        return out

    def _intern(self, text: str) -> int:
        found = self.text_ids.get(text)
        if found is None:
            found = self.text_ids[text] = len(self.texts)
            self.texts.append(text)
        return found

    def _funder_groups(self, rule: Rule) -> np.ndarray:
        """An id per funder row: equal ids give the rule's reasons the same funder side.

        Each funder row is its own group, unless the rule says which funder
        fields its reasons read (:attr:`Rule.funder_fields`); then rows with
        equal values share a group.
        """
        found = self.funder_groups.get(id(rule))
        if found is None:
            fields = rule.funder_fields
            funders = self.matcher.funders_
            if fields is None:
                found = np.arange(len(funders), dtype=np.int64)
            else:
                found = np.zeros(len(funders), dtype=np.int64)
                for name in fields:
                    try:
                        one = pd.factorize(pd.Series(column(funders, name), dtype=object), use_na_sentinel=False)[0]
                    except TypeError:  # unhashable values: each row on its own
                        one = np.arange(len(funders))
                    found = pd.factorize(found * (int(one.max(initial=0)) + 1) + one)[0].astype(np.int64)
            self.funder_groups[id(rule)] = found
        return found

    def _values(self, fields: tuple[str, ...] | None, project: np.ndarray) -> np.ndarray:
        """An id per project of its values of ``fields`` (equal values, equal ids)."""
        if fields is None:  # the rule may read anything: each project is its own combination
            return project.astype(np.int64)
        ids = self.value_ids.get(fields)
        if ids is None:
            ids = self.value_ids[fields] = self._factorise(fields)
        return ids[project]

    def _factorise(self, fields: tuple[str, ...]) -> np.ndarray:
        frame = self.frame
        names: list[str] = []
        for name in fields:
            names += sorted(c for c in frame.columns if c.startswith("jt_") and c != "jt_evidence") \
                if name == "jt_*" else [name]
        codes = np.zeros(len(frame), dtype=np.int64)
        for name in names:  # the lists the rows read, when they have the column (made once)
            values = self.rows.values(name) if name in self.rows.known else column(frame, name)
            try:
                one = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)[0]
            except TypeError:  # unhashable values: each project on its own
                one = np.arange(len(frame))
            codes = pd.factorize(codes * (int(one.max(initial=0)) + 1) + one)[0].astype(np.int64)
        return codes


class _Rows:
    """The rows of a frame as read-only mappings of some of its columns (:class:`_Row`), each
    column turned into a list (``Series.tolist``) once, when a row is first asked for it: what
    ``describe`` reads of a project, without a dict built for each row. For the columns of a
    canonical frame (Python objects, floats, nullable integers) these are the values of
    ``to_dict("records")``; ``tests/test_batch.py`` checks the reasons against ``explain``."""

    def __init__(self, frame: pd.DataFrame, names: list[str]):
        self.frame = frame
        self.names = names
        self.known = frozenset(names)
        self.lists: dict[str, list] = {}

    def values(self, name: str) -> list:
        found = self.lists.get(name)
        if found is None:
            found = self.lists[name] = self.frame[name].tolist()
        return found

    def row(self, i: int) -> _Row:
        return _Row(self, i)


class _Row(Mapping):
    __slots__ = ("rows", "i")

    def __init__(self, rows: _Rows, i: int):
        self.rows, self.i = rows, i

    def __getitem__(self, name):
        if name not in self.rows.known:
            raise KeyError(name)
        return self.rows.values(name)[self.i]

    def __iter__(self):
        return iter(self.rows.names)

    def __len__(self) -> int:
        return len(self.rows.names)


# --------------------------------------------------------------------------- module helpers


def _object(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as an object array with None for unknown values."""
    values = column(frame, name)
    return np.array([None if (v is None or (not isinstance(v, str) and pd.isna(v))) else v
                     for v in values], dtype=object)


def _object_at(frame: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    """``_object(frame, name)[rows]``, reading only those rows."""
    if name not in frame.columns:
        return np.full(len(rows), None, dtype=object)
    values = frame[name].to_numpy(dtype=object)[rows]
    return np.array([None if (v is None or (not isinstance(v, str) and pd.isna(v))) else v
                     for v in values.tolist()], dtype=object)


def _rank_within(group: np.ndarray) -> np.ndarray:
    """1-based position of each item within runs of equal ``group`` values."""
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths) + 1


def _top_per_funder(details: PairDetails, k: int | None) -> PairDetails:
    order = np.lexsort((details.key, details.funder))
    details = details.take(order)
    if k is None:
        return details
    return details.take(_rank_within(details.funder) <= k)




def _projects_frame(projects: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(projects, pd.DataFrame):
        raise MatchingError("projects must be a pandas DataFrame of canonical project rows")
    if "project_id" not in projects.columns:
        raise MatchingError("projects have no project_id column")
    ids = [as_text(v) for v in projects["project_id"].tolist()]
    if any(v is None for v in ids):
        raise MatchingError("every project needs a project_id")
    dupes = sorted(v for v, n in Counter(ids).items() if n > 1)
    if dupes:
        raise MatchingError(f"duplicate project ids: {', '.join(dupes[:10])}")
    frame = projects.reset_index(drop=True).copy()
    frame["project_id"] = pd.Series(ids, dtype=object)
    return frame


def _sorted_funders(funders: pd.DataFrame) -> pd.DataFrame:
    """Funder rows sorted by (funder_id, call_id); ids cleaned; duplicates refused."""
    if not isinstance(funders, pd.DataFrame):
        raise MatchingError("funders must be a pandas DataFrame of canonical funder rows")
    if "funder_id" not in funders.columns:
        raise MatchingError("funders have no funder_id column")
    frame = funders.reset_index(drop=True).copy()
    ids = [as_text(v) for v in frame["funder_id"].tolist()]
    if any(v is None for v in ids):
        raise MatchingError("every funder row needs a funder_id")
    calls = [as_text(v) for v in column(frame, "call_id")]
    keys = list(zip(ids, calls, strict=True))
    if len(set(keys)) != len(keys):
        seen, dupes = set(), []
        for key in keys:
            if key in seen:
                dupes.append(key[0] + (f"/{key[1]}" if key[1] else ""))
            seen.add(key)
        raise MatchingError(f"duplicate funder rows (funder_id, call_id): {', '.join(dupes[:10])}")
    frame["funder_id"] = pd.Series(ids, dtype=object)
    frame["call_id"] = pd.Series(calls, dtype=object)
    order = sorted(range(len(frame)), key=lambda i: (ids[i], calls[i] or ""))
    return frame.iloc[order].reset_index(drop=True)
