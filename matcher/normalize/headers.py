"""Map source column names to canonical fields, and report what could not be mapped.

Each column is matched in this order, the first success wins:

1. **forced**: the user's ``--map field=Column`` (or a YAML mapping file);
2. **exact**: the folded column name equals the folded field name
   (``Project ID``, ``project_id``, ``PROJECT-ID``, ``projectId``);
3. **synonym**: a French or English variant listed in ``data/headers.yaml``
   ("Montant demandé", "Forme juridique", SCDL and 360Giving headers...);
   columns listed there under ``_ignore`` are known and deliberately unused;
4. **just-transition criterion** (projects only): a column named after a
   criterion of the ``jt_criteria`` vocabulary maps to the pseudo-field
   ``jt_<criterion>`` (``climate_mitigation``, ``jt_climate_mitigation``,
   "Atténuation climat", "Niveau insertion");
5. **cleaned**: the header once its units, formats and footnote marks are set
   aside and its abbreviations spelled out (``Coût total du projet TTC*``,
   ``Mt sollicité (en €)``, ``Réf. dossier``) equals a field name or synonym
   (:mod:`matcher.normalize.header_words`);
6. **fuzzy**: rapidfuzz ``token_sort_ratio`` of the folded names, at or above
   a threshold;
7. **words**: the words of the header, weighed (a word of one field's synonyms
   only weighs much, a word shared by many fields little), fit one field clearly
   better than any other (``Montant de la subvention sollicitée auprès du
   fonds``); the column's values confirm or contradict the guess
   (:mod:`matcher.normalize.columns`). Reported with its runner-up;
8. **values**: a column that nothing above maps is read from its values alone
   when they leave no doubt (valid SIRET numbers, RNA numbers, 5-digit place
   codes, e-mail or web addresses). Reported.

Columns each holding one part of a place (``Code postal`` + ``Commune`` +
``Département``) are combined into the one ``territory`` field
(:attr:`HeaderMapping.place_parts`) instead of competing for it. Every column
gets an explanation (:attr:`HeaderMapping.explained`): its field, why, and the
alternatives.

Conflicts are never guessed. Two columns for one field: the one matched by
the better step (exact before synonym, a better synonym level before a worse
one, any before fuzzy) wins and the other is reported; at the same level both
are ambiguous and neither is used (two guesses from words: the clearly better
score wins, else both are ambiguous). A column matching several fields equally
is ambiguous too. Columns that match nothing are unmapped: reported, not an
error. Every report is a ``file`` problem in English and French.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from matcher.core.errors import InputError, MappingError
from matcher.core.suggest import unknown_message
from matcher.core.text import fold
from matcher.normalize import columns as column_values
from matcher.normalize.header_words import CleanHeader, WordIndex, clean_header, headers_data
from matcher.normalize.problems import FILE, Problem, problem
from matcher.normalize.schema import SCHEMAS

#: Default fuzzy threshold (rapidfuzz score, 0-100).
FUZZY_THRESHOLD = 88.0
#: Prefix of the per-criterion just-transition pseudo-fields of projects.
JT_PREFIX = "jt_"

#: Lowest word score (0-100) accepted for a guess from the header's words.
WORDS_THRESHOLD = 62.0
#: A guess from words must beat the next field by this many points, else it is ambiguous.
WORDS_MARGIN = 8.0

_FUZZY_RANK = 1_000
_WORDS_RANK = 1_500
_VALUES_RANK = 2_000
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_JT_FIELD = re.compile(r"^jt_[a-z][a-z0-9_]*$")


@dataclass
class HeaderMapping:
    """How the columns of one file map to canonical fields.

    Attributes
    ----------
    mapping:
        Source column -> canonical field, in column order (only the columns used).
    unmapped:
        Columns that map to no field, or lost their field to a better column.
    ambiguous:
        ``(column, candidate fields)`` for every column left unused because
        the choice was not clear.
    method:
        Column -> ``forced``, ``exact``, ``synonym`` or ``fuzzy`` for the mapped columns.
    problems:
        ``file`` problems explaining every unmapped, ambiguous or fuzzy column.
    ignored:
        Known columns deliberately not read (``_ignore`` in ``headers.yaml``).
    place_parts:
        Column -> place role (``postcode``, ``commune``, ``department``…) when a
        place is split over several columns; the most precise one is also in
        ``mapping`` as ``territory``, the others only here.
    explained:
        Column -> :class:`ColumnChoice`, for every column, in column order.
    """

    mapping: dict[str, str]
    unmapped: list[str]
    ambiguous: list[tuple[str, tuple[str, ...]]]
    method: dict[str, str]
    problems: list[Problem]
    ignored: list[str] = field(default_factory=list)
    place_parts: dict[str, str] = field(default_factory=dict)
    explained: dict[str, ColumnChoice] = field(default_factory=dict)

    @property
    def by_field(self) -> dict[str, str]:
        """Canonical field -> source column."""
        return {f: c for c, f in self.mapping.items()}


@dataclass(frozen=True)
class ColumnChoice:
    """How one column was read: its field (None: not read), the method, why, and the alternatives.

    ``method`` is ``forced``, ``exact``, ``synonym``, ``fuzzy``, ``words``,
    ``values``, ``place``, ``ignored``, ``unmapped``, ``lost`` (a better column
    has the field) or ``ambiguous``. ``alternatives`` are ``(field, score)``
    pairs, best first: the other fields the column's words fit.
    """

    column: str
    field: str | None
    method: str
    why_en: str
    why_fr: str
    score: float | None = None
    alternatives: tuple[tuple[str, float], ...] = ()

    def why(self, lang: str = "en") -> str:
        return self.why_fr if lang == "fr" else self.why_en


@dataclass(frozen=True)
class _Candidate:
    field: str | None  # None: a known column to ignore
    rank: int  # 0 exact field name, 1.. synonym level, _FUZZY_RANK fuzzy, _WORDS_RANK words
    method: str
    score: float = 100.0
    synonym: str | None = None  # the name in headers.yaml that matched
    cleaned: CleanHeader | None = None  # set when the header matched once cleaned
    runner_up: tuple[tuple[str, float], ...] = ()  # next best fields (words)
    shape: tuple[str, float] | None = None  # the values' shape that confirmed or named the field


# --------------------------------------------------------------------------- normalising names


def spaced_name(text: str) -> str:
    """Fold a header for fuzzy comparison: camelCase split, no case, accents or punctuation.

    >>> spaced_name("montantDemandé (€)")
    'montant demande'
    """
    return fold(_CAMEL_BOUNDARY.sub(" ", str(text)))


def compact_name(text: str) -> str:
    """Fold a header for exact comparison: :func:`spaced_name` without spaces.

    >>> compact_name("Project ID") == compact_name("project_id") == compact_name("PROJECT-ID")
    True
    """
    return spaced_name(text).replace(" ", "")


# --------------------------------------------------------------------------- synonyms data


_headers_data = headers_data


def synonym_levels(kind: str) -> dict[str, list[list[str]]]:
    """The synonyms of ``kind`` from ``headers.yaml``: field -> levels (best first) of names."""
    section = _headers_data().get(kind) or {}
    levels: dict[str, list[list[str]]] = {}
    for name, value in section.items():
        if name.startswith("_") or not isinstance(value, list):
            continue
        if all(isinstance(v, list) for v in value):
            levels[name] = [[str(s) for s in level] for level in value]
        else:
            levels[name] = [[str(s) for s in value]]
    return levels


def ignored_headers(kind: str) -> list[str]:
    """Known column names of ``kind`` that are deliberately not read."""
    return [str(v) for v in (_headers_data().get(kind) or {}).get("_ignore", [])]


@dataclass(frozen=True)
class _Tables:
    exact: dict[str, _Candidate]  # compact name -> candidate
    pool: tuple[str, ...]  # spaced names for fuzzy matching
    pool_targets: tuple[_Candidate, ...]
    fields: frozenset[str]  # every field a column may map to (incl. jt_ pseudo-fields)
    words: WordIndex | None = None  # the weighed words of the field names and synonyms


def _build_tables(kind: str, jt_labels: Mapping[str, Iterable[str]]) -> _Tables:
    """Index field names, synonyms, ignored names and criterion labels of ``kind``.

    Raises ``MappingError`` when ``headers.yaml`` gives one folded name to two
    fields (a data bug that would make matching depend on file order).
    """
    schema = SCHEMAS[kind]
    exact: dict[str, _Candidate] = {}
    pool: dict[str, _Candidate] = {}
    clashes: list[str] = []

    def add(name: str, candidate: _Candidate, strict: bool = True) -> None:
        key = compact_name(name)
        if not key:
            return
        known = exact.get(key)
        if known is not None and known.field != candidate.field:
            if strict:
                clashes.append(f"'{name}' ({known.field} / {candidate.field})")
            return
        if known is None or candidate.rank < known.rank:
            exact[key] = candidate
            pool[spaced_name(name)] = candidate

    named: list[tuple[str, str]] = []  # (field, name) for the word index
    for name in schema:
        add(name, _Candidate(name, 0, "exact", synonym=name))
        if schema[name].kind != "levels":
            named.append((name, name.replace("_", " ")))
    for name, levels in synonym_levels(kind).items():
        if name not in schema:
            clashes.append(f"'{name}' is not a {kind} field")
            continue
        for level, synonyms in enumerate(levels, start=1):
            for synonym in synonyms:
                add(synonym, _Candidate(name, level, "synonym", synonym=synonym))
                named.append((name, synonym))
    for name in ignored_headers(kind):
        add(name, _Candidate(None, 0, "ignored"))
    # Criterion ids and labels never displace a field name or synonym.
    for criterion, labels in jt_labels.items():
        pseudo = f"{JT_PREFIX}{criterion}"
        add(pseudo, _Candidate(pseudo, 0, "exact"), strict=False)
        add(criterion, _Candidate(pseudo, 0, "exact"), strict=False)
        for label in labels:
            add(label, _Candidate(pseudo, 1, "synonym"), strict=False)
    if clashes:
        raise MappingError(f"headers.yaml ({kind}): " + "; ".join(clashes))
    fields = frozenset(schema) | {f"{JT_PREFIX}{c}" for c in jt_labels}
    return _Tables(exact, tuple(pool), tuple(pool.values()), fields, WordIndex(named))


@lru_cache(maxsize=16)
def _cached_tables(kind: str, jt_key: tuple[tuple[str, tuple[str, ...]], ...]) -> _Tables:
    return _build_tables(kind, dict(jt_key))


# --------------------------------------------------------------------------- just-transition criteria


def _default_jt_criteria() -> tuple[dict[str, tuple[str, ...]], Callable[[str], tuple[str, ...]] | None]:
    """Criterion ids with their labels, and a resolver, from the ``jt_criteria`` vocabulary."""
    try:
        from matcher.referential.vocabularies import get_vocabulary

        vocabulary = get_vocabulary("jt_criteria")
    except ImportError:  # the vocabulary module is optional for header mapping
        return {}, None
    labels = {c: (vocabulary.label(c, "fr"), vocabulary.label(c, "en")) for c in vocabulary.ids}

    def resolve(text: str) -> tuple[str, ...]:
        return tuple(vocabulary.resolve(text, fuzzy=False))

    return labels, resolve


def _label_resolver(jt_labels: Mapping[str, Iterable[str]]) -> Callable[[str], tuple[str, ...]]:
    index: dict[str, set[str]] = {}
    for criterion, labels in jt_labels.items():
        for text in (criterion, *labels):
            index.setdefault(fold(text), set()).add(criterion)
    return lambda text: tuple(sorted(index.get(fold(text), ())))


def _jt_criterion(column: str, resolve: Callable[[str], tuple[str, ...]]) -> str | None:
    """The one criterion a header names, word group by word group ("Atténuation climat").

    Decoration words ("niveau", "jt", "score"...) are dropped; every remaining
    word must belong to a label or synonym of the same single criterion.
    """
    drop = {fold(w) for w in _headers_data().get("just_transition_words", [])}
    words = [w for w in spaced_name(column).split() if w not in drop]
    if not words:
        return None
    found: set[str] = set()
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            ids = resolve(" ".join(words[start:end]))
            if len(ids) == 1:
                found.add(ids[0])
                start = end
                break
        else:
            return None
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- mapping


def map_headers(
    columns: list[str],
    kind: str,
    forced: dict[str, str] | None = None,
    fuzzy_threshold: float = FUZZY_THRESHOLD,
    *,
    jt_criteria: Mapping[str, Iterable[str]] | None = None,
    values: Mapping[str, Sequence] | None = None,
) -> HeaderMapping:
    """Map ``columns`` to the canonical fields of ``kind``.

    Parameters
    ----------
    columns:
        Source column names (unique), in file order.
    kind:
        ``projects``, ``funders`` or ``history``.
    forced:
        Canonical field -> source column, applied first (``--map``). The
        ``territory`` field may take a list of columns: the parts of a place.
    fuzzy_threshold:
        Lowest rapidfuzz score (0-100) accepted for a fuzzy match.
    jt_criteria:
        Just-transition criterion id -> labels, for the ``jt_<criterion>``
        pseudo-fields of projects; default: the ``jt_criteria`` vocabulary.
    values:
        Column -> its cells (or a sample), to weigh guesses by what the column
        holds; without it, guesses rest on the header alone.

    Raises
    ------
    MappingError
        Unknown ``kind``; a forced field that is not canonical (the message
        suggests the closest names); a forced column absent from ``columns``
        (the message lists them); one column forced onto two fields.
    """
    if kind not in SCHEMAS:
        raise MappingError(f"unknown kind '{kind}'; expected one of {', '.join(SCHEMAS)}")
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise MappingError(f"repeated column names: {', '.join(repeated)}")
    resolve: Callable[[str], tuple[str, ...]] | None = None
    if kind != "projects":
        jt_labels: Mapping[str, Iterable[str]] = {}
    elif jt_criteria is None:
        jt_labels, resolve = _default_jt_criteria()
    else:
        jt_labels = jt_criteria
        resolve = _label_resolver(jt_criteria)
    jt_key = tuple(sorted((c, tuple(labels)) for c, labels in jt_labels.items()))
    tables = _cached_tables(kind, jt_key)
    profiles = _Profiles(values)

    result = HeaderMapping({}, [], [], {}, [])
    chosen: dict[str, str] = {}  # column -> field
    forced = dict(forced or {})
    forced_parts = _forced_place_parts(forced, columns)
    forced_columns = _apply_forced(forced, columns, kind, tables, bool(jt_labels))
    for column, name in forced_columns.items():
        chosen[column] = name
        result.method[column] = "forced"

    candidates: dict[str, _Candidate] = {}
    no_match: list[str] = []
    for column in columns:
        if column in forced_columns or column in forced_parts:
            continue
        found = _match(column, tables, resolve, fuzzy_threshold, kind, profiles)
        if isinstance(found, tuple):
            result.ambiguous.append((column, found))
            fields = ", ".join(found)
            result.problems.append(_problem("header.ambiguous", column, fields, column=column, fields=fields))
        elif found is None:
            no_match.append(column)
            result.unmapped.append(column)
            result.problems.append(_problem("header.unmapped", column, None, column=column, kind=kind))
        elif found.field is None:
            result.ignored.append(column)
        else:
            candidates[column] = found

    if forced_parts:
        result.place_parts = forced_parts
    else:
        result.place_parts = _combine_place_parts(candidates, forced_columns, columns, result)
    _resolve_conflicts(candidates, forced_columns, chosen, result)
    _second_choices(candidates, chosen, result)
    _guess_from_values(no_match, kind, tables, profiles, chosen, candidates, result)
    for column in columns:
        if column in chosen:
            result.mapping[column] = chosen[column]
    order = {c: i for i, c in enumerate(columns)}
    result.unmapped.sort(key=order.__getitem__)
    result.ambiguous.sort(key=lambda item: order[item[0]])
    result.explained = _explain(columns, kind, tables, candidates, result)
    return result


class _Profiles:
    """Value profiles of the columns, computed on first need."""

    def __init__(self, values: Mapping[str, Sequence] | None):
        self.values = values or {}
        self.known: dict[str, column_values.Profile] = {}

    def get(self, column: str) -> column_values.Profile | None:
        if column not in self.values:
            return None
        if column not in self.known:
            self.known[column] = column_values.profile(list(self.values[column])[:5_000])
        return self.known[column]


def _match(column: str, tables: _Tables, resolve, threshold: float, kind: str = "projects",
           profiles: _Profiles | None = None) -> _Candidate | tuple[str, ...] | None:
    """The candidate field of one column; a tuple of fields when ambiguous; None when unknown."""
    key = compact_name(column)
    if key in tables.exact:
        return tables.exact[key]
    if resolve is not None:
        criterion = _jt_criterion(column, resolve)
        if criterion is not None and f"{JT_PREFIX}{criterion}" in tables.fields:
            return _Candidate(f"{JT_PREFIX}{criterion}", 1, "synonym")
    cleaned = clean_header(column)
    clean_key = cleaned.text.replace(" ", "")
    if cleaned.changed and clean_key in tables.exact:
        return dataclasses.replace(tables.exact[clean_key], cleaned=cleaned)
    query = spaced_name(column)
    if not query or threshold > 100:
        return None
    scored = process.extract(query, tables.pool, scorer=fuzz.token_sort_ratio,
                             processor=None, score_cutoff=threshold, limit=None)
    if scored:
        best = max(score for _, score, _ in scored)
        targets = {tables.pool_targets[i].field for _, score, i in scored if score == best}
        fields = tuple(sorted(f for f in targets if f is not None))
        if len(fields) > 1:
            return fields
        if None in targets:
            return _Candidate(None, _FUZZY_RANK, "ignored", best)
        return _Candidate(fields[0], _FUZZY_RANK, "fuzzy", best)
    return _words_candidate(column, cleaned, tables, kind, profiles)


def _words_candidate(column: str, cleaned: CleanHeader, tables: _Tables, kind: str,
                     profiles: _Profiles | None) -> _Candidate | tuple[str, ...] | None:
    """A guess from the header's weighed words, confirmed or contradicted by its values."""
    if tables.words is None:
        return None
    # A guess needs at least 60 % of a synonym's weight: "Montant HT" alone names no field.
    scores = [s for s in tables.words.scores(cleaned.text) if s.field in SCHEMAS[kind] and s.recall >= 0.6][:6]
    if not scores:
        return None
    seen = profiles.get(column) if profiles is not None else None
    adjusted = []
    for s in scores:
        change, shape = column_values.fit(kind, s.field, seen) if seen is not None else (0.0, None)
        total = min(100.0, s.score + change) if s.score >= WORDS_THRESHOLD - 15 else s.score
        adjusted.append((total, s, shape if change > 0 else None))
    adjusted.sort(key=lambda item: (-item[0], item[1].field))
    best_score, best, shape = adjusted[0]
    if best_score < WORDS_THRESHOLD:
        return None
    guesses = column_values.value_guesses(kind, seen) if seen is not None else []
    if guesses and best.field not in {name for name, _, _ in guesses}:
        return None  # the values say more than a vague header ("Code géo" of INSEE codes)
    runner = tuple((s.field, round(total, 1)) for total, s, _ in adjusted[1:3] if total > 0)
    if runner and best_score - runner[0][1] < WORDS_MARGIN:
        close = sorted({best.field} | {f for f, sc in runner if best_score - sc < WORDS_MARGIN})
        return tuple(close)
    shape_share = (shape, seen.share(shape)) if shape and seen is not None else None
    return _Candidate(best.field, _WORDS_RANK, "words", round(best_score, 1), synonym=best.synonym,
                      cleaned=cleaned, runner_up=runner, shape=shape_share)


def _second_choices(candidates: dict[str, _Candidate], chosen: dict[str, str],
                    result: HeaderMapping) -> None:
    """A guess from words that lost its field to a better column takes its runner-up field
    when that one is still free ("Budget demandé" loses total_budget, takes amount_requested)."""
    taken = set(chosen.values())
    for column, candidate in list(candidates.items()):
        if column in chosen or candidate.method != "words" or column not in result.unmapped:
            continue
        for name, score in candidate.runner_up:
            if name in taken or score < WORDS_THRESHOLD:
                continue
            taken.add(name)
            chosen[column] = name
            result.method[column] = "words"
            result.unmapped.remove(column)
            rest = tuple(r for r in candidate.runner_up if r[0] != name)
            lost = candidate.field
            candidates[column] = dataclasses.replace(candidate, field=name, score=score,
                                                     runner_up=((lost, candidate.score),) + rest)
            at = next(i for i, p in enumerate(result.problems) if p.column == column)
            result.problems[at] = problem(
                "header.second_choice", None, column, name, FILE, header=column, field=name,
                score=round(score), lost=lost, owner=next(c for c, f in chosen.items() if f == lost))
            break


def _guess_from_values(no_match: list[str], kind: str, tables: _Tables, profiles: _Profiles,
                       chosen: dict[str, str], candidates: dict[str, _Candidate],
                       result: HeaderMapping) -> None:
    """Read columns that match no field from their values alone, when these leave no doubt."""
    taken = set(chosen.values())
    for column in no_match:
        seen = profiles.get(column)
        guesses = column_values.value_guesses(kind, seen) if seen is not None else []
        free = [(name, shape, share) for name, shape, share in guesses
                if name not in taken and name in tables.fields]
        if not free:
            continue
        name, shape, share = free[0]
        taken.add(name)
        chosen[column] = name
        result.method[column] = "values"
        result.unmapped.remove(column)
        candidates[column] = _Candidate(name, _VALUES_RANK, "values", round(100 * share, 1),
                                        shape=(shape, share))
        found = problem("header.from_values", None, column, name, FILE, header=column, field=name,
                        shown_en=column_values.shape_text(shape, share, "en"),
                        shown_fr=column_values.shape_text(shape, share, "fr"))
        # in place of its "matches no field" report
        at = next(i for i, p in enumerate(result.problems) if p.column == column and p.value is None)
        result.problems[at] = found


def is_known_header(text: str, kind: str | None = None) -> bool:
    """True when ``text`` names a field, a synonym or a known ignored column of ``kind``
    (of any kind when None), as written or once cleaned."""
    kinds = (kind,) if kind in SCHEMAS else tuple(SCHEMAS)
    key = compact_name(text)
    cleaned = clean_header(text).text.replace(" ", "")
    for name in kinds:
        exact = _cached_tables(name, ()).exact
        if key in exact or cleaned in exact:
            return True
    return False


# --------------------------------------------------------------------------- places split over columns


@lru_cache(maxsize=1)
def _place_roles() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Role -> folded header phrases, most specific roles first (``code commune`` is INSEE)."""
    data = headers_data().get("place_parts") or {}
    order = ("insee", "postcode", "epci", "department", "region", "commune")
    return tuple((role, tuple(fold(p) for p in data.get(role, ()))) for role in order if role in data)


def place_role(column: str) -> str | None:
    """The part of a place a header names: ``postcode``, ``commune``, ``department``… or None."""
    words = f" {clean_header(column).text} "
    for role, phrases in _place_roles():
        if any(f" {phrase} " in words for phrase in phrases):
            return role
    return None


def _combine_place_parts(candidates: dict[str, _Candidate], forced_columns: dict[str, str],
                         columns: list[str], result: HeaderMapping) -> dict[str, str]:
    """Combine the columns that each name one part of a place into the ``territory`` field.

    Every column matched to ``territory`` must name a different part (by its
    words, ``place_parts`` in ``headers.yaml``): no combination when one names
    the place as a whole ("Territoire") or two name the same part.
    The most precise part stays the ``territory`` candidate; the others leave
    the contest (they are read with it, see :mod:`matcher.normalize.split_places`).
    """
    if "territory" in forced_columns.values():
        return {}
    contenders = [c for c in columns if c in candidates and candidates[c].field == "territory"]
    if len(contenders) < 2:
        return {}
    roles = {c: place_role(c) for c in contenders}
    if None in roles.values() or len(set(roles.values())) != len(roles):
        return {}
    primary = min(contenders, key=lambda c: (candidates[c].rank, columns.index(c)))
    for column in contenders:
        if column != primary:
            del candidates[column]
    shown = " + ".join(f"'{c}' ({roles[c]})" for c in contenders)
    result.problems.append(problem("header.place_combined", None, primary, " + ".join(contenders),
                                   FILE, parts=shown))
    return {c: roles[c] for c in contenders}


def _forced_place_parts(forced: dict[str, str | list], columns: list[str]) -> dict[str, str]:
    """``territory: [Code postal, Commune]`` in a mapping file: the parts, by role; the first
    part stays forced as ``territory``."""
    parts = forced.get("territory")
    if not isinstance(parts, list | tuple):
        return {}
    found = []
    for wanted in parts:
        column = _find_column(str(wanted), columns)
        if column is None:
            shown = ", ".join(f"'{c}'" for c in columns) or "none"
            raise MappingError(f"cannot map territory to column '{wanted}': no such column; "
                               f"available columns: {shown}")
        found.append(column)
    if not found:
        raise MappingError("territory: the list of place columns is empty")
    forced["territory"] = found[0]
    if len(found) == 1:
        return {}
    roles = {c: place_role(c) or "place" for c in found}
    return roles


# --------------------------------------------------------------------------- explanations


_METHOD_TEXTS = {
    "forced": ("forced (--map or mapping file)", "imposé (--map ou fichier de correspondance)"),
    "exact": ("its name is the field's name", "son nom est celui du champ"),
    "ignored": ("a known column that is not read", "une colonne connue qui n'est pas lue"),
}


def _cleaned_texts(cleaned: CleanHeader | None) -> tuple[str, str]:
    if cleaned is None or not cleaned.changed:
        return "", ""
    en, fr = [], []
    if cleaned.units:
        shown = ", ".join(f"'{u}'" for u in cleaned.units)
        en.append(f"unit or note {shown} set aside")
        fr.append(f"unité ou mention {', '.join(f'« {u} »' for u in cleaned.units)} mise à part")
    if cleaned.marks:
        en.append(f"footnote mark {' '.join(cleaned.marks)} set aside")
        fr.append(f"renvoi {' '.join(cleaned.marks)} mis à part")
    if cleaned.expanded:
        en.append("abbreviation " + ", ".join(f"'{a}' = {b}" for a, b in cleaned.expanded))
        fr.append("abréviation " + ", ".join(f"« {a} » = {b}" for a, b in cleaned.expanded))
    return " (" + "; ".join(en) + ")", " (" + " ; ".join(fr) + ")"


def _explain(columns: list[str], kind: str, tables: _Tables, candidates: dict[str, _Candidate],
             result: HeaderMapping) -> dict[str, ColumnChoice]:
    """One :class:`ColumnChoice` per column, in column order."""
    ambiguous = dict(result.ambiguous)
    owner = {f: c for c, f in result.mapping.items()}
    out: dict[str, ColumnChoice] = {}
    for column in columns:
        cleaned = clean_header(column)
        words = [s for s in (tables.words.scores(cleaned.text) if tables.words else [])
                 if s.field in tables.fields]
        name = result.mapping.get(column)
        candidate = candidates.get(column)
        alternatives = tuple((s.field, round(s.score)) for s in words if s.field != name and s.score >= 25)[:3]
        method = result.method.get(column)
        if column in result.place_parts and name is None:
            role = result.place_parts[column]
            primary = owner.get("territory", "?")
            choice = ColumnChoice(column, "territory", "place",
                                  f"part of the place ({role}), read with '{primary}'",
                                  f"partie du lieu ({role}), lue avec « {primary} »")
        elif name is not None:
            en, fr = _choice_texts(column, name, method, candidate, result)
            score = candidate.score if candidate is not None and method in ("fuzzy", "words", "values") else None
            choice = ColumnChoice(column, name, method, en, fr, score, alternatives)
        elif column in result.ignored:
            en, fr = _METHOD_TEXTS["ignored"]
            choice = ColumnChoice(column, None, "ignored", en, fr, None, alternatives)
        elif column in ambiguous:
            fields = ", ".join(ambiguous[column])
            choice = ColumnChoice(column, None, "ambiguous",
                                  f"fits {fields} as well as another choice; not used (choose with --map)",
                                  f"correspond à {fields} aussi bien qu'à un autre choix ; "
                                  "non utilisée (choisissez avec --map)", None, alternatives)
        elif candidate is not None and candidate.field is not None:
            winner = owner.get(candidate.field, "?")
            choice = ColumnChoice(column, None, "lost",
                                  f"also fits {candidate.field}, which is read from '{winner}'",
                                  f"correspond aussi à {candidate.field}, lu dans « {winner} »",
                                  None, ((candidate.field, round(candidate.score)),)
                                  + tuple(a for a in alternatives if a[0] != candidate.field))
        else:
            closest = f"; closest: {alternatives[0][0]} ({alternatives[0][1]})" if alternatives else ""
            closest_fr = f" ; le plus proche : {alternatives[0][0]} ({alternatives[0][1]})" if alternatives else ""
            choice = ColumnChoice(column, None, "unmapped", f"matches no {kind} field{closest}",
                                  f"ne correspond à aucun champ{closest_fr}", None, alternatives)
        out[column] = choice
    return out


def _choice_texts(column: str, name: str, method: str | None, candidate: _Candidate | None,
                  result: HeaderMapping) -> tuple[str, str]:
    if method in _METHOD_TEXTS:
        en, fr = _METHOD_TEXTS[method]
        if candidate is not None and method == "exact":
            extra_en, extra_fr = _cleaned_texts(candidate.cleaned)
            en, fr = en + extra_en, fr + extra_fr
    elif candidate is None:
        en, fr = method or "?", method or "?"
    elif method == "synonym" and candidate.synonym is None:
        en, fr = "names a just-transition criterion", "nomme un critère de transition juste"
    elif method == "synonym":
        en = f"synonym '{candidate.synonym}' (level {candidate.rank})"
        fr = f"synonyme « {candidate.synonym} » (niveau {candidate.rank})"
        if candidate.rank == 0:
            en, fr = _METHOD_TEXTS["exact"]
        extra_en, extra_fr = _cleaned_texts(candidate.cleaned)
        en, fr = en + extra_en, fr + extra_fr
    elif method == "fuzzy":
        en = f"approximate name match (rapidfuzz score {round(candidate.score)})"
        fr = f"nom approché (score rapidfuzz {round(candidate.score)})"
    elif method == "words":
        shown = ", ".join(f"'{w}'" for w in _matched_words(candidate))
        en = f"its words {shown} fit synonym '{candidate.synonym}' (score {round(candidate.score)})"
        fr = (f"ses mots {', '.join(f'« {w} »' for w in _matched_words(candidate))} vont avec le synonyme "
              f"« {candidate.synonym} » (score {round(candidate.score)})")
        extra_en, extra_fr = _cleaned_texts(candidate.cleaned)
        en, fr = en + extra_en, fr + extra_fr
    elif method == "values":
        shape, share = candidate.shape or ("?", 0.0)
        en = f"its values: {column_values.shape_text(shape, share, 'en')}"
        fr = f"ses valeurs : {column_values.shape_text(shape, share, 'fr')}"
    else:
        en, fr = method or "?", method or "?"
    if candidate is not None and candidate.shape is not None and method == "words":
        en += f"; its values agree ({column_values.shape_text(*candidate.shape, 'en')})"
        fr += f" ; ses valeurs concordent ({column_values.shape_text(*candidate.shape, 'fr')})"
    if name == "territory" and result.place_parts:
        others = [c for c in result.place_parts if c != column]
        en += f"; combined with {', '.join(repr(c) for c in others)}"
        fr += f" ; combinée avec {', '.join(f'« {c} »' for c in others)}"
    return en, fr


def _matched_words(candidate: _Candidate) -> list[str]:
    from matcher.normalize.header_words import words_of

    if candidate.cleaned is None or candidate.synonym is None:
        return []
    synonym = set(words_of(clean_header(candidate.synonym).text))
    return [w for w in words_of(candidate.cleaned.text) if w in synonym] or list(words_of(candidate.cleaned.text))


def _resolve_conflicts(
    candidates: dict[str, _Candidate], forced_columns: dict[str, str], chosen: dict[str, str], result: HeaderMapping
) -> None:
    """Give each field to its best column; report losers and ties."""
    by_field: dict[str, list[str]] = {}
    for column, candidate in candidates.items():
        by_field.setdefault(candidate.field, []).append(column)
    forced_by_field = {f: c for c, f in forced_columns.items()}
    for name, columns in by_field.items():
        if name in forced_by_field:
            winners: list[str] = []
            owner = forced_by_field[name]
        else:
            best = min(candidates[c].rank for c in columns)
            winners = [c for c in columns if candidates[c].rank == best]
            if len(winners) > 1 and best == _WORDS_RANK:  # guesses: a clearly better score wins
                ordered = sorted(winners, key=lambda c: -candidates[c].score)
                if candidates[ordered[0]].score - candidates[ordered[1]].score >= WORDS_MARGIN:
                    winners = ordered[:1]
            owner = winners[0] if len(winners) == 1 else None
        if owner is not None and owner in candidates:
            chosen[owner] = name
            result.method[owner] = candidates[owner].method
            if candidates[owner].method == "fuzzy":
                score = round(candidates[owner].score)
                result.problems.append(_problem("header.fuzzy", owner, name, owner=owner, name=name, score=score))
            elif candidates[owner].method == "words":
                guess = candidates[owner]
                rivals = [c for c in columns if c != owner]
                runner = ", ".join(f"{f} ({round(sc)})" for f, sc in guess.runner_up) or "—"
                if rivals:
                    runner = f"'{rivals[0]}' ({round(candidates[rivals[0]].score)}); " + runner
                result.problems.append(problem(
                    "header.guessed", None, owner, name, FILE, header=owner, field=name,
                    score=round(guess.score), synonym=guess.synonym, runner_up=runner))
        for column in columns:
            if column == owner:
                continue
            if owner is None and column in winners:
                shown_en = " and ".join([", ".join(f"'{c}'" for c in winners[:-1]), f"'{winners[-1]}'"])
                shown_fr = " et ".join([", ".join(f"« {c} »" for c in winners[:-1]), f"« {winners[-1]} »"])
                result.ambiguous.append((column, (name,)))
                result.problems.append(
                    _problem("header.competing", column, name, shown_en=shown_en, name=name, shown_fr=shown_fr)
                )
                continue
            result.unmapped.append(column)
            if owner is not None:
                en = f"which is read from '{owner}'"
                fr = f"lu dans « {owner} »"
            else:
                en = f"which columns {', '.join(repr(c) for c in winners)} match better"
                fr = f"auquel les colonnes {', '.join(f'« {c} »' for c in winners)} correspondent mieux"
            result.problems.append(
                _problem("header.also_matches", column, name, column=column, name=name, en=en, fr=fr)
            )


def _apply_forced(
    forced: Mapping[str, str], columns: list[str], kind: str, tables: _Tables, jt_known: bool
) -> dict[str, str]:
    """Check the forced pairs and return them as column -> field."""
    out: dict[str, str] = {}
    for name, column in forced.items():
        valid = name in tables.fields or (not jt_known and kind == "projects" and _JT_FIELD.match(name))
        if not valid:
            raise MappingError(unknown_message(f"{kind} field", name, tables.fields, list_up_to=1000))
        found = _find_column(column, columns)
        if found is None:
            shown = ", ".join(f"'{c}'" for c in columns) or "none"
            raise MappingError(f"cannot map {name} to column '{column}': no such column; available columns: {shown}")
        if found in out:
            raise MappingError(f"column '{found}' is mapped to two fields: {out[found]} and {name}")
        out[found] = name
    return out


def _find_column(wanted: str, columns: list[str]) -> str | None:
    """The column named ``wanted``: exactly, else the only one equal once folded."""
    if wanted in columns:
        return wanted
    key = compact_name(wanted)
    matches = [c for c in columns if compact_name(c) == key]
    return matches[0] if len(matches) == 1 else None


def _problem(code: str, column: str, value: str | None, /, **values) -> Problem:
    """A file-level problem with the headers."""
    return problem(code, None, column, value, FILE, **values)


# --------------------------------------------------------------------------- user mappings


def parse_map_options(options: Iterable[str]) -> dict[str, str]:
    """Turn repeated ``--map field=Column`` options into ``{field: Column}``.

    Only the first ``=`` splits, so a column name may contain ``=``.
    """
    forced: dict[str, str] = {}
    for option in options:
        name, sep, column = option.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise MappingError(f"--map expects field=Column, got '{option}'")
        if name in forced and forced[name] != column:
            raise MappingError(f"--map gives two columns for {name}: '{forced[name]}' and '{column}'")
        forced[name] = column
    return forced


def load_mapping_file(path: str | Path) -> dict[str, str | list[str]]:
    """Read a YAML mapping file ``{field: Column}`` (safe loading only).

    ``territory`` may list several columns: the parts of a place split over
    columns (``territory: [Code postal, Commune]``), as ``--save-mapping`` writes.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: mapping file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the mapping file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise MappingError(f"{path}: invalid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file holds 'field: Column' lines")
    forced: dict[str, str | list[str]] = {}
    for name, column in data.items():
        if str(name).strip() == "territory" and isinstance(column, list) and column and all(
                isinstance(c, str | int) and not isinstance(c, bool) and str(c).strip() for c in column):
            forced["territory"] = [str(c).strip() for c in column]  # the parts of a split place
            continue
        if not isinstance(column, str | int | float) or isinstance(column, bool) or str(column).strip() == "":
            raise MappingError(f"{path}: the column for {name} must be a column name, got {column!r}")
        forced[str(name).strip()] = str(column).strip()
    return forced
