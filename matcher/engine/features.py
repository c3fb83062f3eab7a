"""Compact arrays built once from canonical profiles, so that rules and criteria
compute whole blocks of pairs with numpy and scipy.sparse.

:class:`FeatureSpace` is fitted on the funder rows (sorted by
``(funder_id, call_id)``) and encodes them into :class:`FunderFeatures`; it
then encodes any projects frame into :class:`ProjectFeatures` (sorted by
``project_id``). A :class:`Block` pairs a slice of projects with funder rows
and caches the pairwise intermediates that several rules and criteria share
(the territory relations, the text cosines).

Encodings
    - choices (legal forms, instruments, stages, expense types, the
      just-transition criteria plus ``just``): one ``uint64`` bitmask per row,
      with a ``known`` flag beside it;
    - the expense type ``both`` is the two bits ``investment | operating``;
    - sectors: the project's sector indices (padded with a column of zeros)
      and the funder's priority weights scaled by the funder's largest one;
    - places: a sparse matrix ``place x territory`` of each place's
      containers among the funders' codes, and funder matrices weighted by
      ``8 ** (5 - level rank)``: one sparse product gives, for every place
      and funder row, a number whose highest base-8 digit is the most local
      perimeter code containing the place;
    - amounts as floats (NaN unknown); dates as day numbers;
    - just-transition levels as a float matrix (NaN unknown);
    - texts as unit TF-IDF rows (see :mod:`matcher.core.textsim`).

Empty values: a funder condition that is empty (``None`` or an empty tuple)
sets no condition. On the project side, an unknown value is ``None``/NaN; an
empty tuple is "explicitly none" for ``ess_status``, ``sectors``,
``partner_kinds`` and ``governance``, but is read as unknown for
``territory`` and ``instruments_sought`` (a project always happens somewhere
and seeks some money: "none" there is missing data).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, fields
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.core.errors import MatchingError
from matcher.core.missing import is_missing
from matcher.core.textsim import TextModel, join_text
from matcher.engine import kernels
from matcher.referential.territories import LEVEL_RANK, PREFIX_LEVEL

#: Locality rank of each territory level (0 = most local).
#: Territory score of a place inside a perimeter code of each rank (the most local one counts).
LEVEL_SCORE = np.array([1.0, 0.9, 0.8, 0.65, 0.45, 0.35])
#: A place that only partly overlaps the perimeter scores this share of the level score.
PARTIAL_PLACE_FACTOR = 0.5
_BASE = 8  # base of the level encoding: up to 7 perimeter codes of one level may contain a place
_NO_DAY_LOW = np.iinfo(np.int64).min // 4
_NO_DAY_HIGH = np.iinfo(np.int64).max // 4
JUST = "just"
EXPENSE_BOTH = "both"
EXPENSE_PARTS = ("investment", "operating")


# --------------------------------------------------------------------------- cell readers




def as_choices(value) -> tuple[str, ...] | None:
    """A canonical ``choices``/``places`` cell as a tuple of ids; None when unknown."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return (value,) if value.strip() else None
    if isinstance(value, dict):
        return tuple(sorted(str(k) for k in value))
    return tuple(sorted({str(v) for v in value}))


def as_condition(value) -> tuple[str, ...] | None:
    """A funder condition: None when it sets none (unknown or empty)."""
    found = as_choices(value)
    return found or None


def as_weighted(value) -> dict[str, float] | None:
    """A ``weighted``/``mapping`` cell as a dict; None when unknown or empty."""
    if is_missing(value):
        return None
    if isinstance(value, dict):
        out = {str(k): float(v) for k, v in value.items() if not is_missing(v)}
    else:
        out = dict.fromkeys(as_choices(value) or (), 1.0)
    return out or None


def as_float(value) -> float:
    if is_missing(value):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def as_bool(value) -> bool | None:
    if is_missing(value):
        return None
    return bool(value)


def as_text(value) -> str | None:
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def as_day(value) -> int | None:
    """An ISO date (or date/datetime) as days since 1970-01-01; None when unknown."""
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return None
    return (value - dt.date(1970, 1, 1)).days


def column(frame: pd.DataFrame, name: str) -> list:
    """The values of ``name`` as a list (all None when the column is absent)."""
    if name in frame.columns:
        return frame[name].tolist()
    return [None] * len(frame)


# --------------------------------------------------------------------------- codebooks


class Codebook:
    """Ids of one vocabulary as bits of a ``uint64``; ids not in the book have no bit."""

    def __init__(self, name: str, ids):
        self.name = name
        self.ids = tuple(dict.fromkeys(ids))
        if len(self.ids) > 64:
            raise MatchingError(f"too many {name} ids to encode ({len(self.ids)} > 64)")
        self.index = {id_: i for i, id_ in enumerate(self.ids)}

    def mask(self, ids) -> int:
        out = 0
        for id_ in ids or ():
            i = self.index.get(id_)
            if i is not None:
                out |= 1 << i
        return out

    def encode(self, values: list) -> tuple[np.ndarray, np.ndarray]:
        """Masks and known flags of a list of tuples/None."""
        masks = np.zeros(len(values), dtype=np.uint64)
        known = np.zeros(len(values), dtype=bool)
        cache: dict = {}
        for i, value in enumerate(values):
            if value is None:
                continue
            known[i] = True
            hit = cache.get(value)
            if hit is None:
                hit = cache[value] = self.mask(value)
            masks[i] = hit
        return masks, known

    def ids_of(self, mask: int) -> tuple[str, ...]:
        return tuple(id_ for i, id_ in enumerate(self.ids) if int(mask) >> i & 1)


def _vocabulary_ids(name: str) -> tuple[str, ...]:
    try:
        from matcher.referential.vocabularies import get_vocabulary

        return tuple(get_vocabulary(name).ids)
    except Exception:  # noqa: BLE001 - a missing vocabulary only means "learn ids from data"
        return ()


def expand_legal_forms(ids) -> tuple[str, ...]:
    """Legal-form ids with groups (``cooperatives``…) replaced by their members."""
    if not ids:
        return ()
    return tuple(sorted({form for id_ in ids for form in _expand_one(id_)}))


@lru_cache(maxsize=1024)
def _expand_one(id_: str) -> tuple[str, ...]:
    from matcher.referential.vocabularies import expand_legal_forms as expand

    try:
        return tuple(expand((id_,)))
    except Exception:  # noqa: BLE001 - an id the vocabulary does not know stands for itself
        return (id_,)


@lru_cache(maxsize=256)
def jt_pillar(criterion: str) -> str | None:
    """``ecological``, ``social`` or ``cooperation`` for a just-transition criterion."""
    from matcher.referential.vocabularies import pillar

    try:
        return pillar(criterion)
    except Exception:  # noqa: BLE001 - an unknown criterion has no pillar
        return None


def expense_parts(ids) -> tuple[str, ...] | None:
    """Expense-type ids with ``both`` read as investment and operating."""
    if ids is None:
        return None
    out = set()
    for id_ in ids:
        out.update(EXPENSE_PARTS if id_ == EXPENSE_BOTH else (id_,))
    return tuple(sorted(out))


# --------------------------------------------------------------------------- territories


def code_level(territories, code: str) -> str | None:
    """The level of a code, from the table or else from its prefix."""
    try:
        return territories.level(code)
    except Exception:  # noqa: BLE001 - unknown code: read the prefix
        if code in ("FR", "EU"):
            return code
        return PREFIX_LEVEL.get(code.split(":", 1)[0])


def code_rank(territories, code: str) -> int:
    return LEVEL_RANK.get(code_level(territories, code), 0)


def lineage(territories, code: str) -> tuple[str, ...]:
    """``code`` then its ancestors, nearest first (just ``code`` when unknown)."""
    try:
        return (code, *territories.ancestors(code))
    except Exception:  # noqa: BLE001 - an unknown code contains only itself
        return (code,)


_MEMBERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _communes_of(territories) -> dict[str, list[str]]:
    """Code -> its communes, from the communes' ancestors (built once per table)."""
    try:
        return _MEMBERS[territories]
    except (KeyError, TypeError):
        pass
    members: dict[str, list[str]] = {}
    codes = getattr(territories, "codes", None)
    if codes is not None:
        for commune in codes("commune"):
            for code in lineage(territories, commune):
                members.setdefault(code, []).append(commune)
    try:
        _MEMBERS[territories] = members
    except TypeError:
        pass
    return members


def relatives(territories, code: str) -> tuple[set[str], set[str]]:
    """``(containers, contained)`` of a code beyond plain ancestry.

    ``containers``: every code that contains ``code`` (its ancestors, plus
    more local codes with the same or more communes, such as ``commune:75056``
    for ``dep:75`` or the Métropole du Grand Paris for ``dep:75``).
    ``contained``: less local codes that ``code`` contains (``dep:75`` for the
    Métropole du Grand Paris), found among the ancestors of its communes.
    """
    containers = set(lineage(territories, code)[1:])
    contained: set[str] = set()
    if code in ("FR", "EU"):
        return containers, contained
    rank = code_rank(territories, code)
    communes = _communes_of(territories).get(code, ())
    candidates: set[str] = set()
    for commune in communes:
        candidates.update(lineage(territories, commune))
    candidates.discard(code)
    for other in candidates:
        other_rank = code_rank(territories, other)
        if other_rank > rank and territories.contains(code, other):
            contained.add(other)
        if other_rank <= rank and territories.contains(other, code):
            containers.add(other)
    return containers, contained


class TerritoryIndex:
    """The funders' territory codes and their containers, as matrix columns.

    Columns are every perimeter or excluded code of the funders plus all
    their containers, so that a project place ``p`` finds, through one row
    of codes, the funder codes that contain it (``contains(code, p)``) and
    those it strictly contains.
    """

    def __init__(self, territories, funder_codes):
        self.territories = territories
        funder_codes = sorted(set(funder_codes))
        self.containers: dict[str, set[str]] = {}
        self.inside_extra: dict[str, set[str]] = {}  # place -> funder codes containing it off-lineage
        columns = set(funder_codes)
        for code in funder_codes:
            containers, contained = relatives(territories, code)
            self.containers[code] = containers
            columns.update(containers)
            for other in contained:
                self.inside_extra.setdefault(other, set()).add(code)
        self.codes = tuple(sorted(columns))
        self.index = {c: i for i, c in enumerate(self.codes)}
        self.rank = {c: code_rank(territories, c) for c in self.codes}

    @property
    def size(self) -> int:
        return len(self.codes)

    def place_rows(self, places: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(inside, self)`` rows of places: the columns whose code contains the
        place, and the place's own column (when it is a column)."""
        inside_rows, inside_cols, self_rows, self_cols = [], [], [], []
        cache: dict[str, tuple[list[int], int | None]] = {}
        for row, place in enumerate(places):
            hit = cache.get(place)
            if hit is None:
                cols = {self.index[c] for c in lineage(self.territories, place) if c in self.index}
                cols.update(self.index[c] for c in self.inside_extra.get(place, ()))
                hit = cache[place] = (sorted(cols), self.index.get(place))
            inside_rows += [row] * len(hit[0])
            inside_cols += hit[0]
            if hit[1] is not None:
                self_rows.append(row)
                self_cols.append(hit[1])
        shape = (len(places), self.size)
        inside = sp.csr_matrix((np.ones(len(inside_rows)), (inside_rows, inside_cols)), shape=shape)
        own = sp.csr_matrix((np.ones(len(self_rows)), (self_rows, self_cols)), shape=shape)
        return inside, own

    def funder_matrices(self, perimeters: list, excluded: list) -> dict[str, sp.csr_matrix]:
        """Funder rows x codes: perimeter codes weighted by level, and what they overlap."""
        n = len(perimeters)
        per_in, per_over, exc_in, exc_over = ({} for _ in range(4))
        for f, (perimeter, exclusion) in enumerate(zip(perimeters, excluded, strict=True)):
            for code in perimeter or ():
                digit = float(_BASE ** (5 - self.rank[code]))
                per_in[f, self.index[code]] = per_in.get((f, self.index[code]), 0.0) + digit
                for container in self.containers[code]:
                    key = (f, self.index[container])
                    per_over[key] = max(per_over.get(key, 0.0), digit)
            for code in exclusion or ():
                exc_in[f, self.index[code]] = 1.0
                for container in self.containers[code]:
                    exc_over[f, self.index[container]] = 1.0
        return {name: _sparse(entries, (n, self.size))
                for name, entries in (("per_in", per_in), ("per_over", per_over),
                                      ("exc_in", exc_in), ("exc_over", exc_over))}


def _sparse(entries: dict, shape) -> sp.csr_matrix:
    if not entries:
        return sp.csr_matrix(shape, dtype=np.float64)
    rows, cols = zip(*entries, strict=True)
    return sp.csr_matrix((list(entries.values()), (rows, cols)), shape=shape)


def most_local_rank(values: np.ndarray) -> np.ndarray:
    """Rank of the highest base-8 digit of each positive value (-1 where 0)."""
    _, exponent = np.frexp(values)
    digit = (exponent - 1) // 3
    return np.where(values > 0, 5 - digit, -1)


# --------------------------------------------------------------------------- feature sets


class _Rows:
    """Take or slice every per-row array (and sparse matrix) of a feature set."""

    def _take(self, idx):
        n = self.n
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "n":
                continue
            if (isinstance(value, np.ndarray) or sp.issparse(value)) and value.shape[0] == n \
                    and f.name not in self._not_rows:
                value = value[idx]
            values[f.name] = value
        size = len(range(n)[idx]) if isinstance(idx, slice) else len(idx)
        return type(self)(n=size, **values)

    _not_rows: tuple[str, ...] = ()


@dataclass
class FunderFeatures(_Rows):
    """One entry per funder row (sorted by funder_id, call_id)."""

    n: int
    funder_ids: np.ndarray
    call_ids: np.ndarray
    legal_ok: np.ndarray  # eligible forms, groups expanded
    legal_listed: np.ndarray  # eligible forms named by their own id
    legal_set: np.ndarray
    legal_excluded: np.ndarray
    legal_excluded_set: np.ndarray
    instruments: np.ndarray
    instruments_set: np.ndarray
    stages: np.ndarray
    stages_set: np.ndarray
    expenses: np.ndarray
    expenses_set: np.ndarray
    opens: np.ndarray
    closes: np.ndarray
    requires_esus: np.ndarray
    jt_required: np.ndarray
    jt_priorities: np.ndarray  # n x J weights
    jt_has_priorities: np.ndarray
    sector_weights: np.ndarray  # n x (S + 1), scaled by the row max; last column 0
    sector_set: np.ndarray
    sector_inferred: np.ndarray  # the row's sectors were guessed from its name and description
    ticket_min: np.ndarray
    ticket_min_rule: np.ndarray  # ticket_min, NaN for learned profiles (never a hard rule)
    ticket_max: np.ndarray
    strict: np.ndarray
    max_share: np.ndarray
    has_perimeter: np.ndarray
    has_excluded: np.ndarray
    per_in: sp.csr_matrix
    per_over: sp.csr_matrix
    exc_in: sp.csr_matrix
    exc_over: sp.csr_matrix
    text: sp.csr_matrix
    text_known: np.ndarray

    def take(self, idx) -> FunderFeatures:
        return self._take(idx)


@dataclass
class ProjectFeatures(_Rows):
    """One entry per project (sorted by project_id); places are rows of their own."""

    n: int
    project_ids: np.ndarray
    legal: np.ndarray
    legal_known: np.ndarray
    instruments: np.ndarray
    instruments_known: np.ndarray
    stage: np.ndarray
    stage_known: np.ndarray
    expenses: np.ndarray
    expenses_known: np.ndarray
    esus: np.ndarray  # 1 yes, 0 no, -1 unknown
    jt_levels: np.ndarray  # n x J, NaN unknown
    jt_met: np.ndarray
    jt_unknown: np.ndarray
    jt_just: np.ndarray  # 1, 0 or NaN
    jt_pillars: np.ndarray  # n x 3 best level / 3 per pillar, NaN unknown
    sector_idx: np.ndarray  # n x K, padded with S
    sector_count: np.ndarray  # NaN unknown
    amount: np.ndarray
    budget: np.ndarray
    partners: np.ndarray
    partner_kinds: np.ndarray
    governance: np.ndarray
    text: sp.csr_matrix
    text_known: np.ndarray
    place_ptr: np.ndarray  # n + 1 offsets into the place rows
    place_inside: sp.csr_matrix  # places x codes
    place_self: sp.csr_matrix
    #: The encoded projects frame and each project's position in it, for criteria
    #: that read raw project values (history affinity); ``frame`` is not sliced.
    frame: pd.DataFrame | None = None
    rows: np.ndarray | None = None
    _not_rows = ("place_ptr", "place_inside", "place_self")

    def slice(self, start: int, stop: int) -> ProjectFeatures:
        """Projects ``start:stop`` with their place rows."""
        out = self._take(slice(start, stop))
        a, b = int(self.place_ptr[start]), int(self.place_ptr[stop])
        out.place_ptr = self.place_ptr[start:stop + 1] - a
        out.place_inside = self.place_inside[a:b]
        out.place_self = self.place_self[a:b]
        return out

    @property
    def place_known(self) -> np.ndarray:
        return np.diff(self.place_ptr) > 0


# --------------------------------------------------------------------------- the space


PILLARS = ("ecological", "social", "cooperation")


class FeatureSpace:
    """Everything learnt from the funder rows that is needed to encode projects."""

    def __init__(self, territories):
        self.territories = territories

    # ---------------------------------------------------------------- funders

    def fit(self, funders: pd.DataFrame) -> FunderFeatures:
        """Learn the codebooks, territory index and text model; encode the funder rows."""
        eligible = [as_condition(v) for v in column(funders, "eligible_legal_forms")]
        excluded_forms = [as_condition(v) for v in column(funders, "excluded_legal_forms")]
        eligible_expanded = [expand_legal_forms(v) if v else None for v in eligible]
        excluded_expanded = [expand_legal_forms(v) if v else None for v in excluded_forms]
        seen_forms = {i for v in eligible_expanded + excluded_expanded + eligible for i in v or ()}
        self.legal_forms = Codebook("legal_forms", _vocabulary_ids("legal_forms") + tuple(sorted(seen_forms)))

        instruments = [as_condition(v) for v in column(funders, "instruments")]
        self.instruments = Codebook("instruments", _vocabulary_ids("instruments")
                                    + tuple(sorted({i for v in instruments for i in v or ()})))
        stages = [as_condition(v) for v in column(funders, "stages")]
        self.stages = Codebook("stages", _vocabulary_ids("stages")
                               + tuple(sorted({i for v in stages for i in v or ()})))
        expenses = [expense_parts(as_condition(v)) for v in column(funders, "expense_types")]
        self.expenses = Codebook("expense_types", EXPENSE_PARTS
                                 + tuple(sorted({i for v in expenses for i in v or ()})))

        self.jt_criteria = tuple(c for c in _vocabulary_ids("jt_criteria") if c != JUST)
        self.jt_codebook = Codebook("jt_requirements", (*self.jt_criteria, JUST))
        self.jt_pillar_index = np.array([PILLARS.index(p) if p in PILLARS else -1
                                         for p in (jt_pillar(c) for c in self.jt_criteria)], dtype=int)
        requirements = [as_condition(v) for v in column(funders, "just_transition_requirements")]
        priorities = [as_weighted(v) for v in column(funders, "just_transition_priorities")]

        sectors = [as_weighted(v) for v in column(funders, "sectors")]
        self.sectors = tuple(dict.fromkeys(_vocabulary_ids("sectors")
                                           + tuple(sorted({s for v in sectors for s in v or ()}))))
        self.sector_index = {s: i for i, s in enumerate(self.sectors)}

        perimeters = [as_condition(v) for v in column(funders, "perimeter")]
        excluded_places = [as_condition(v) for v in column(funders, "excluded_places")]
        codes = {c for v in perimeters + excluded_places for c in v or ()}
        self.places = TerritoryIndex(self.territories, codes)
        matrices = self.places.funder_matrices(perimeters, excluded_places)

        self.text_model = TextModel().fit(self.funder_documents(funders))
        text, text_known = self.text_model.transform(self.funder_documents(funders))

        n = len(funders)
        legal_ok, legal_set = self.legal_forms.encode(eligible_expanded)
        legal_listed, _ = self.legal_forms.encode(eligible)
        legal_excluded, legal_excluded_set = self.legal_forms.encode(excluded_expanded)
        instruments_mask, instruments_set = self.instruments.encode(instruments)
        stages_mask, stages_set = self.stages.encode(stages)
        expenses_mask, expenses_set = self.expenses.encode(expenses)
        jt_required, _ = self.jt_codebook.encode(requirements)

        jt_priorities = np.zeros((n, len(self.jt_criteria)))
        jt_index = {c: i for i, c in enumerate(self.jt_criteria)}
        for f, prio in enumerate(priorities):
            for crit, weight in (prio or {}).items():
                if crit in jt_index and weight > 0:
                    jt_priorities[f, jt_index[crit]] = weight
        sector_weights = np.zeros((n, len(self.sectors) + 1))
        for f, weights in enumerate(sectors):
            for sector, weight in (weights or {}).items():
                if weight > 0:
                    sector_weights[f, self.sector_index[sector]] = weight
        top = sector_weights.max(axis=1, keepdims=True)
        sector_weights = np.divide(sector_weights, top, out=np.zeros_like(sector_weights), where=top > 0)

        opens = [as_day(v) for v in column(funders, "call_opens")]
        closes = [as_day(v) for v in column(funders, "call_closes")]
        return FunderFeatures(
            n=n,
            funder_ids=np.array(column(funders, "funder_id"), dtype=object),
            call_ids=np.array(column(funders, "call_id"), dtype=object),
            legal_ok=legal_ok, legal_listed=legal_listed, legal_set=legal_set,
            legal_excluded=legal_excluded, legal_excluded_set=legal_excluded_set,
            instruments=instruments_mask, instruments_set=instruments_set,
            stages=stages_mask, stages_set=stages_set,
            expenses=expenses_mask, expenses_set=expenses_set,
            opens=np.array([_NO_DAY_LOW if d is None else d for d in opens], dtype=np.int64),
            closes=np.array([_NO_DAY_HIGH if d is None else d for d in closes], dtype=np.int64),
            requires_esus=np.array([as_bool(v) is True for v in column(funders, "requires_esus")], dtype=bool),
            jt_required=jt_required,
            jt_priorities=jt_priorities,
            jt_has_priorities=jt_priorities.sum(axis=1) > 0,
            sector_weights=sector_weights,
            sector_set=sector_weights.max(axis=1) > 0,
            sector_inferred=np.array([as_bool(v) is True for v in column(funders, "sectors_inferred")], dtype=bool),
            ticket_min=np.array([as_float(v) for v in column(funders, "ticket_min")], dtype=float),
            ticket_min_rule=np.array([np.nan if as_bool(learned) is True else as_float(v) for v, learned in
                                      zip(column(funders, "ticket_min"), column(funders, "learned"), strict=True)],
                                     dtype=float),
            ticket_max=np.array([as_float(v) for v in column(funders, "ticket_max")], dtype=float),
            strict=np.array([as_bool(v) is True for v in column(funders, "ticket_max_strict")], dtype=bool),
            max_share=np.array([as_float(v) for v in column(funders, "max_share_of_budget")], dtype=float),
            has_perimeter=np.array([bool(v) for v in perimeters], dtype=bool),
            has_excluded=np.array([bool(v) for v in excluded_places], dtype=bool),
            text=text, text_known=text_known,
            **matrices,
        )

    @staticmethod
    def funder_documents(funders: pd.DataFrame) -> list[str | None]:
        return [join_text(*parts) for parts in zip(column(funders, "name"), column(funders, "description"),
                                                    column(funders, "call_title"), strict=True)]

    @staticmethod
    def project_documents(projects: pd.DataFrame) -> list[str | None]:
        return [join_text(*parts) for parts in zip(column(projects, "name"), column(projects, "summary"),
                                                    strict=True)]

    # --------------------------------------------------------------- projects

    def encode_projects(self, projects: pd.DataFrame) -> ProjectFeatures:
        """Encode a projects frame whose rows are already in the order to keep."""
        n = len(projects)
        legal_values = [(v,) if (v := as_text(x)) else None for x in column(projects, "legal_form")]
        legal, legal_known = self.legal_forms.encode(legal_values)
        instruments, instruments_known = self.instruments.encode(
            [as_condition(v) for v in column(projects, "instruments_sought")])
        stage, stage_known = self.stages.encode(
            [(v,) if (v := as_text(x)) else None for x in column(projects, "stage")])
        expenses, expenses_known = self.expenses.encode(
            [expense_parts((v,)) if (v := as_text(x)) else None for x in column(projects, "expense_type")])
        ess = [as_choices(v) for v in column(projects, "ess_status")]
        esus = np.array([-1 if v is None else int("esus" in v) for v in ess], dtype=np.int8)

        jt_levels = np.full((n, len(self.jt_criteria)), np.nan)
        for j, crit in enumerate(self.jt_criteria):
            name = f"jt_{crit}"
            if name in projects.columns:
                jt_levels[:, j] = pd.to_numeric(projects[name], errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan)
        jt_met, jt_unknown, jt_just, jt_pillars = self._jt_summary(jt_levels)

        sector_values = [as_choices(v) for v in column(projects, "sectors")]
        width = max([len(v) for v in sector_values if v] or [1])
        pad = len(self.sectors)
        sector_idx = np.full((n, width), pad, dtype=np.int64)
        sector_count = np.full(n, np.nan)
        for i, value in enumerate(sector_values):
            if value is None:
                continue
            sector_count[i] = len(value)
            for k, sector in enumerate(value):
                sector_idx[i, k] = self.sector_index.get(sector, pad)

        places = [as_condition(v) for v in column(projects, "territory")]
        flat = [code for value in places for code in value or ()]
        place_ptr = np.zeros(n + 1, dtype=np.int64)
        place_ptr[1:] = np.cumsum([len(v or ()) for v in places])
        place_inside, place_self = self.places.place_rows(flat)

        text, text_known = self.text_model.transform(self.project_documents(projects))
        kinds = [as_choices(v) for v in column(projects, "partner_kinds")]
        governance = [as_choices(v) for v in column(projects, "governance")]
        return ProjectFeatures(
            n=n,
            project_ids=np.array(column(projects, "project_id"), dtype=object),
            legal=legal, legal_known=legal_known,
            instruments=instruments, instruments_known=instruments_known,
            stage=stage, stage_known=stage_known,
            expenses=expenses, expenses_known=expenses_known,
            esus=esus,
            jt_levels=jt_levels, jt_met=jt_met, jt_unknown=jt_unknown, jt_just=jt_just,
            jt_pillars=jt_pillars,
            sector_idx=sector_idx, sector_count=sector_count,
            amount=np.array([as_float(v) for v in column(projects, "amount_requested")], dtype=float),
            budget=np.array([as_float(v) for v in column(projects, "total_budget")], dtype=float),
            partners=np.array([as_float(v) for v in column(projects, "partners_count")], dtype=float),
            partner_kinds=np.array([np.nan if v is None else len(v) for v in kinds], dtype=float),
            governance=np.array([np.nan if v is None else len(v) for v in governance], dtype=float),
            text=text, text_known=text_known,
            place_ptr=place_ptr, place_inside=place_inside, place_self=place_self,
            frame=projects, rows=np.arange(n),
        )

    def _jt_summary(self, levels: np.ndarray):
        """Per project: bits of met and unknown criteria (``just`` included),
        the ``just`` flag (1/0/NaN) and the best level / 3 of each pillar."""
        n, n_crit = levels.shape
        known = ~np.isnan(levels)
        met = known & (levels >= 1)
        bits = (np.uint64(1) << np.arange(n_crit, dtype=np.uint64)) if n_crit else np.zeros(0, np.uint64)
        met_mask = (met * bits).sum(axis=1).astype(np.uint64) if n_crit else np.zeros(n, np.uint64)
        unknown_mask = ((~known) * bits).sum(axis=1).astype(np.uint64) if n_crit else np.zeros(n, np.uint64)
        pillar = self.jt_pillar_index
        eco, soc = pillar == 0, pillar == 1
        eco_met, soc_met = met[:, eco].any(axis=1), met[:, soc].any(axis=1)
        eco_open = (~known[:, eco]).any(axis=1)
        soc_open = (~known[:, soc]).any(axis=1)
        just = np.where(eco_met & soc_met, 1.0,
                        np.where((~eco_met & ~eco_open) | (~soc_met & ~soc_open), 0.0, np.nan))
        just_bit = np.uint64(1) << np.uint64(n_crit)
        met_mask = met_mask | np.where(just == 1.0, just_bit, np.uint64(0))
        unknown_mask = unknown_mask | np.where(np.isnan(just), just_bit, np.uint64(0))
        pillars = np.full((n, len(PILLARS)), np.nan)
        for k in range(len(PILLARS)):
            cols = pillar == k
            if cols.any():
                sub = levels[:, cols]
                has = (~np.isnan(sub)).any(axis=1)
                best = np.nanmax(np.where(np.isnan(sub), -np.inf, sub), axis=1)
                pillars[:, k] = np.where(has, best / 3.0, np.nan)
        return met_mask, unknown_mask, just, pillars


# --------------------------------------------------------------------------- blocks


@dataclass
class PlaceRelations:
    """Per (project, funder row): how the project's places sit in the funder's territories.

    Boolean P x F arrays, each about all of a project's places (vacuously
    true for a project without places: the rules test ``place_known``
    themselves); ``score`` is the mean territory score of the places (NaN
    without places). ``all_excluded`` and ``any_excluded`` are None when no
    funder row of the block excludes places.
    """

    all_inside: np.ndarray
    all_outside: np.ndarray  # neither inside nor overlapping the perimeter
    all_excluded: np.ndarray | None  # every place inside an excluded code
    any_excluded: np.ndarray | None  # some place inside an excluded code, or one inside a place
    score: np.ndarray | None  # None in :attr:`Block.place_flags`


@lru_cache(maxsize=1)
def _level_table() -> np.ndarray:
    """Territory score of every level-encoded value (0 -> 0: no containing code)."""
    values = np.arange(_BASE ** 6, dtype=float)
    return np.where(values > 0, LEVEL_SCORE[np.clip(most_local_rank(values), 0, 5)], 0.0)


class DenseColumns:
    """The used columns of a funder x code matrix, as dense code rows of territory scores
    (float64), so that a place's score is the largest of a few rows; ``index`` maps every
    code column to its row (unused codes to the last row, all zeros).

    The matrices hold level-encoded values (a base-8 digit per level); a value's score is
    that of its most local level (:func:`_level_table`), times ``factor``. Scores fall
    from the commune to the EU, so the largest score over a place's codes is the score of
    the most local code.
    """

    def __init__(self, matrix: sp.csr_matrix, factor: float = 1.0):
        matrix = sp.csr_matrix(matrix)
        used = np.flatnonzero(matrix.getnnz(axis=0) > 0)
        self.rows = np.zeros((len(used) + 1, matrix.shape[0]))  # last row: zeros
        if len(used):
            encoded = matrix[:, used].T.toarray()
            self.rows[:-1] = factor * _level_table()[np.minimum(encoded, _BASE ** 6 - 1).astype(np.int64)]
        self.index = np.full(matrix.shape[1], len(used), dtype=np.intp)
        self.index[used] = np.arange(len(used))
        # The same rows as bytes: 6 - the level rank of the value (0 for 0), and the score of each
        # byte (``table``). Scores fall with the rank, so the largest byte of a few rows is the
        # byte of their largest score; ``table[levels]`` is ``rows``, value for value.
        self.levels = np.zeros(self.rows.shape, dtype=np.uint8)
        self.table = np.zeros(len(LEVEL_SCORE) + 1)
        self.table[1:] = factor * LEVEL_SCORE[::-1]
        if len(used):
            clipped = np.minimum(encoded, _BASE ** 6 - 1).astype(np.int64)
            rank = np.clip(most_local_rank(clipped.astype(float)), 0, 5)
            self.levels[:-1] = np.where(clipped > 0, len(LEVEL_SCORE) - rank, 0)
        if not np.array_equal(self.table[self.levels], self.rows):  # never: the two encodings agree
            raise AssertionError("territory level bytes do not match the scores")


@dataclass
class DensePlaces:
    per_in: DenseColumns
    per_over: DenseColumns
    exc_in: DenseColumns | None
    exc_over: DenseColumns | None


def _dense_places(f: FunderFeatures) -> DensePlaces:
    """Dense code rows of a funder feature set, built once per set and kept on it."""
    found = f.__dict__.get("_dense_places")
    if found is None:
        has_excluded = f.exc_in.nnz > 0
        found = DensePlaces(DenseColumns(f.per_in), DenseColumns(f.per_over, PARTIAL_PLACE_FACTOR),
                            DenseColumns(f.exc_in) if has_excluded else None,
                            DenseColumns(f.exc_over) if has_excluded else None)
        f.__dict__["_dense_places"] = found
    return found


class Block:
    """A slice of projects against funder rows, with shared pairwise intermediates."""

    def __init__(self, projects: ProjectFeatures, funders: FunderFeatures, space: FeatureSpace, day: int):
        self.p = projects
        self.f = funders
        self.space = space
        self.day = day
        self.shape = (projects.n, funders.n)

    @cached_property
    def places(self) -> PlaceRelations:
        """Place relations: the largest of each place's code rows, folded per project, in
        one compiled pass (:func:`matcher.engine.kernels.place_relations`)."""
        p, f = self.p, self.f
        dense = _dense_places(f)
        has_excluded = dense.exc_in is not None
        exc_in = dense.exc_in if has_excluded else dense.per_in
        exc_over = dense.exc_over if has_excluded else dense.per_over
        shape = self.shape
        all_inside = np.empty(shape, dtype=bool)
        all_outside = np.empty(shape, dtype=bool)
        # No funder row excludes places (the usual case): nothing to fill.
        excluded_shape = shape if has_excluded else (shape[0], 0)
        all_excluded = np.empty(excluded_shape, dtype=bool)
        any_excluded = np.empty(excluded_shape, dtype=bool)
        score = np.empty(shape)
        inside, own = p.place_inside, p.place_self
        kernels.place_relations(
            p.place_ptr, inside.indptr, inside.indices, own.indptr, own.indices,
            dense.per_in.index, dense.per_in.rows, dense.per_over.index, dense.per_over.rows,
            exc_in.index, exc_in.rows, exc_over.index, exc_over.rows, has_excluded,
            all_inside, all_outside, all_excluded, any_excluded, score)
        return PlaceRelations(all_inside=all_inside, all_outside=all_outside,
                              all_excluded=all_excluded if has_excluded else None,
                              any_excluded=any_excluded if has_excluded else None, score=score)

    @property
    def place_flags(self) -> PlaceRelations:
        """:attr:`places` without the score (None) unless the places are already computed:
        what the rules need, in one compiled pass over bytes
        (:func:`matcher.engine.kernels.place_flags`)."""
        found = self.__dict__.get("places") or self.__dict__.get("_place_flags")
        if found is not None:
            return found
        p, f = self.p, self.f
        dense = _dense_places(f)
        has_excluded = dense.exc_in is not None
        exc_in = dense.exc_in if has_excluded else dense.per_in
        exc_over = dense.exc_over if has_excluded else dense.per_over
        shape = self.shape
        excluded_shape = shape if has_excluded else (shape[0], 0)
        all_inside = np.empty(shape, dtype=bool)
        all_outside = np.empty(shape, dtype=bool)
        all_excluded = np.empty(excluded_shape, dtype=bool)
        any_excluded = np.empty(excluded_shape, dtype=bool)
        inside, own = p.place_inside, p.place_self
        kernels.place_flags(
            p.place_ptr, inside.indptr, inside.indices, own.indptr, own.indices,
            dense.per_in.index, dense.per_in.levels, dense.per_over.index, dense.per_over.levels,
            exc_in.index, exc_in.levels, exc_over.index, exc_over.levels, has_excluded,
            all_inside, all_outside, all_excluded, any_excluded)
        found = self.__dict__["_place_flags"] = PlaceRelations(
            all_inside=all_inside, all_outside=all_outside,
            all_excluded=all_excluded if has_excluded else None,
            any_excluded=any_excluded if has_excluded else None, score=None)
        return found

    def perimeter_bits(self, bit, fail: np.ndarray, unknown: np.ndarray) -> bool:
        """The bits of the perimeter rule straight from the places, one project at a time
        (:func:`matcher.engine.kernels.perimeter_place_bits`), when the block's relations are
        not needed otherwise (not computed yet, no excluded places). False when not done."""
        p, f = self.p, self.f
        dense = _dense_places(f)
        if dense.exc_in is not None or "places" in self.__dict__ or "_place_flags" in self.__dict__:
            return False
        inside, own = p.place_inside, p.place_self
        kernels.perimeter_place_bits(
            p.place_ptr, inside.indptr, inside.indices, own.indptr, own.indices,
            dense.per_in.index, dense.per_in.levels, dense.per_over.index, dense.per_over.levels,
            f.has_perimeter, p.place_known, bit, fail, unknown)
        return True

    def place_score_pairs(self, rows: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
        """:attr:`places` ``.score`` of the pairs ``(rows, cols)`` only, into ``out``
        (:func:`matcher.engine.kernels.place_score_pairs`: the same operations pair by pair)."""
        places = self.__dict__.get("places")
        if places is not None:
            out[:] = places.score[rows, cols]
            return
        p, f = self.p, self.f
        dense = _dense_places(f)
        has_excluded = dense.exc_in is not None
        exc_in = dense.exc_in if has_excluded else dense.per_in
        inside, own = p.place_inside, p.place_self
        kernels.place_score_pairs(
            p.place_ptr, inside.indptr, inside.indices, own.indptr, own.indices,
            dense.per_in.index, dense.per_in.levels, dense.per_in.table, dense.per_over.index,
            dense.per_over.levels, dense.per_over.table, exc_in.index, exc_in.levels, has_excluded, rows, cols, out)


#: Largest funder text matrix (terms x funder rows) held dense for the text products.
DENSE_TEXT_ENTRIES = 8_000_000


def dense_terms(f: FunderFeatures) -> np.ndarray | None:
    """The funder TF-IDF rows as a dense, C-ordered terms x F matrix, cached on ``f``; None
    when it would exceed :data:`DENSE_TEXT_ENTRIES` (then :func:`terms_by_funder`)."""
    if "_dense_terms" not in f.__dict__:
        n_rows, n_terms = f.text.shape
        found = None
        if n_terms * n_rows <= DENSE_TEXT_ENTRIES:
            found = np.ascontiguousarray(f.text.T.toarray())
        f.__dict__["_dense_terms"] = found
    return f.__dict__["_dense_terms"]


def terms_by_funder(f: FunderFeatures) -> sp.csr_matrix:
    """The funder TF-IDF rows held by term (CSR of the terms x F transpose, sorted indices),
    for the text products; cached on ``f``."""
    found = f.__dict__.get("_terms_by_funder")
    if found is None:
        found = sp.csr_matrix(f.text.T)
        found.sort_indices()
        f.__dict__["_terms_by_funder"] = found
    return found
